/**
 * RFC 3464 `message/delivery-status` bodies: groups of `Name: value` fields separated by empty
 * lines. The first group holds the per-message fields, each later group one recipient.
 */

export type FieldGroup = ReadonlyMap<string, string>;

/** Longest field value kept (a diagnostic of several lines is far shorter): bounds later patterns. */
const MAX_VALUE = 8 * 1024;

export function parseFieldGroups(body: string): FieldGroup[] {
  const groups: FieldGroup[] = [];
  let current = new Map<string, string>();
  let last: string | null = null;
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) groups.push(current);
      current = new Map();
      last = null;
      continue;
    }
    if (/^[ \t]/.test(line) && last) {
      const value = current.get(last)!;
      if (value.length < MAX_VALUE) current.set(last, `${value} ${line.trim()}`.slice(0, MAX_VALUE));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) continue;
    // The first occurrence of a field wins; a repeated one is an MTA's mistake.
    if (!current.has(name)) current.set(name, line.slice(colon + 1, colon + 1 + MAX_VALUE).trim());
    last = name;
  }
  if (current.size > 0) groups.push(current);
  return groups;
}

/** `rfc822; user@example.org` -> `user@example.org` (also `utf-8;` and bare values). */
export function typedValue(value: string | undefined): string | null {
  if (!value) return null;
  const semi = value.indexOf(';');
  const v = (semi >= 0 ? value.slice(semi + 1) : value).trim();
  return v.length > 0 ? v : null;
}

/**
 * An address from a typed field, without angle brackets, lowercased: `rfc822; <a@x>`,
 * `rfc822;a@x (comment)`, `rfc822; "Name" <a@x>` all give `a@x`; a quoted local part
 * (`"john doe"@x`, `o"neil@x`) is kept as written.
 */
export function typedAddress(value: string | undefined): string | null {
  const v = typedValue(value);
  if (!v) return null;
  const bracketed = /<([^<>\s]+@[^<>\s]+)>/.exec(v);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const bare = v.replace(/\([^()]*\)\s*$/, '').trim();
  if (/^("[^"]*"|[^\s<>]+)@[^\s<>@]+$/.test(bare)) return bare.replace(/\.$/, '').toLowerCase();
  const m = /(?<![^\s<>"(),;])([^\s<>"(),;]+@[^\s<>"(),;]+)/.exec(v);
  return m ? m[1]!.replace(/\.$/, '').toLowerCase() : null;
}

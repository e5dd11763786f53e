import { createRequire } from 'node:module';
import type TableType from 'cli-table3';
import type { stringify as StringifyType } from 'csv-stringify/sync';
import { CliError } from './context.js';
import { CONTROL_BUT_TAB_NEWLINE, escapeChar, terminalText } from './text.js';

export { terminalText };

/**
 * Output for operators: readable tables on a terminal (cli-table3), CSV with RFC 4180 quoting
 * (csv-stringify), JSON. Reports come from the services as plain data; only this module
 * formats them. The libraries load on first use, so that commands that print no table (serve)
 * do not pay for them.
 *
 * Much of what is shown comes from remote servers (diagnostics, descriptions, addresses), so
 * nothing reaches a terminal or a spreadsheet as it came: control characters are shown as
 * `\u001b` escapes (`terminalText`), and a CSV cell that a spreadsheet would run as a formula
 * starts with a quote (`csvCell`).
 */

const require = createRequire(import.meta.url);
const Table = (...args: ConstructorParameters<typeof TableType>): InstanceType<typeof TableType> => {
  const Ctor = require('cli-table3') as typeof TableType;
  return new Ctor(...args);
};
const stringify: typeof StringifyType = (...args: Parameters<typeof StringifyType>) => (require('csv-stringify/sync') as { stringify: typeof StringifyType }).stringify(...args);

export type Cell = string | number | boolean | null | undefined;

export function parseChoice<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`${option} must be one of ${allowed.join(', ')} (got "${value}")`, 2);
}

export function parseCount(value: string, option: string, min = 0): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new CliError(`${option} must be a whole number of at least ${min} (got "${value}")`, 2);
  return Number(value);
}

/**
 * An instant given on the command line: an ISO-8601 date (`2026-11-01`, midnight UTC) or date
 * and time (`2026-11-01T08:00:00Z`), or a duration before now (`30d`, `12h`, `45m`).
 */
export function parseSince(value: string, option = '--since', now = new Date()): string {
  const v = value.trim();
  const relative = /^(\d+)\s*([dhm])$/i.exec(v);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2]!.toLowerCase() as 'd' | 'h' | 'm'];
    return new Date(now.getTime() - Number(relative[1]) * unit).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(v)) {
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /[T ][\d:.]+$/.test(v) ? `${v.replace(' ', 'T')}Z` : v.replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  throw new CliError(`${option} must be a date (2026-11-01), a date and time (2026-11-01T08:00:00Z) or a duration (30d, 12h, 45m); got "${value}"`, 2);
}

/** `2026-11-28 08:00` (UTC), for tables. */
export function shortDate(value: string | null | undefined): string {
  if (!value) return '-';
  return value.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '');
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${value.toFixed(2)} %`;
}

// What a spreadsheet reads as the start of a formula (OWASP's list).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A CSV cell as written: a number stays a number (ours: counts, never remote text); a string
 * that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`, so that a
 * spreadsheet shows it as text, even when it looks like a number ("-1" comes out as `'-1`);
 * control characters other than tab and line feed are escaped as for the terminal.
 */
export function csvCell(value: Cell): string | number | boolean {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return value;
  const text = value.replace(CONTROL_BUT_TAB_NEWLINE, escapeChar);
  return FORMULA_START.test(value) ? `'${text}` : text;
}

function cell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return terminalText(String(value));
}

const plain = { head: [] as string[], border: [] as string[], compact: true };

/** A table with a header row. */
export function table(head: readonly string[], rows: ReadonlyArray<readonly Cell[]>, options: { align?: ReadonlyArray<'left' | 'right'> } = {}): string {
  // No bold heading: output passes through `terminalText`, which shows escape sequences as text.
  const t = Table({ head: [...head], style: plain, colAligns: options.align ? [...options.align] : head.map(() => 'left' as const), wordWrap: false });
  for (const r of rows) t.push(r.map(cell));
  return t.toString();
}

/** A two-column table of labels and values (a summary box). */
export function box(pairs: ReadonlyArray<readonly [string, Cell]>, valueAlign: 'left' | 'right' = 'right'): string {
  const t = Table({ style: plain, colAligns: ['left', valueAlign] });
  for (const [k, v] of pairs) t.push([k, cell(v)]);
  return t.toString();
}

/** CSV with a header line; values quoted when needed; null is an empty field. */
export function csv(header: readonly string[], rows: ReadonlyArray<readonly Cell[]>, withHeader = true): string {
  return stringify(
    rows.map((r) => r.map(csvCell)),
    { header: withHeader, columns: [...header], cast: { boolean: (b) => (b ? 'true' : 'false') } },
  );
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * The text of an HTML body, for reports sent as HTML only: block elements and table cells
 * become line breaks (so that an address in its own cell is alone on its line, as in a text
 * report), `<br>` a line break, the contents of `<head>`, `<style>`, `<script>` and comments
 * are dropped, character references are decoded. One pass over the input with `indexOf` and
 * bounded sticky patterns: linear time on any input.
 */

const MAX_INPUT = 512 * 1024;
const NAME = /<(\/?)([a-zA-Z][a-zA-Z0-9]{0,20})(?=[\s/>])/y;
/** Elements that end a line, and those that end a paragraph (a blank line). */
const LINE = new Set(['address', 'br', 'caption', 'center', 'dd', 'div', 'dt', 'fieldset', 'figure', 'footer', 'form', 'header', 'li', 'main', 'nav', 'section', 'article', 'aside', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr']);
const PARAGRAPH = new Set(['blockquote', 'dl', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'ol', 'p', 'pre', 'table', 'ul']);
const DROPPED = new Set(['head', 'style', 'script', 'title', 'noscript', 'template']);
const NAMED: Readonly<Record<string, string>> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', laquo: '«', raquo: '»', ndash: '–', mdash: '—', hellip: '…', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•', middot: '·',
  agrave: 'à', aacute: 'á', acirc: 'â', atilde: 'ã', auml: 'ä', aring: 'å', aelig: 'æ', ccedil: 'ç', egrave: 'è', eacute: 'é', ecirc: 'ê', euml: 'ë', igrave: 'ì', iacute: 'í', icirc: 'î', iuml: 'ï', ntilde: 'ñ',
  ograve: 'ò', oacute: 'ó', ocirc: 'ô', otilde: 'õ', ouml: 'ö', oslash: 'ø', ugrave: 'ù', uacute: 'ú', ucirc: 'û', uuml: 'ü', yacute: 'ý', szlig: 'ß',
  Agrave: 'À', Aacute: 'Á', Acirc: 'Â', Auml: 'Ä', Aring: 'Å', Ccedil: 'Ç', Egrave: 'È', Eacute: 'É', Ecirc: 'Ê', Iacute: 'Í', Ntilde: 'Ñ', Oacute: 'Ó', Ouml: 'Ö', Uacute: 'Ú', Uuml: 'Ü',
};
const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,10}));?/g;

export function htmlToText(html: string): string {
  const input = html.length > MAX_INPUT ? html.slice(0, MAX_INPUT) : html;
  const lower = input.toLowerCase();
  // Text pieces, and 1 (a line break) or 2 (a paragraph break) between them.
  const out: Array<string | 1 | 2> = [];
  let i = 0;
  let gt = -1;
  let noMoreGt = false;
  while (i < input.length) {
    const lt = input.indexOf('<', i);
    const end = lt < 0 ? input.length : lt;
    if (end > i) out.push(input.slice(i, end).replace(/\s+/g, ' '));
    if (lt < 0) break;
    if (input.startsWith('<!--', lt)) {
      const close = input.indexOf('-->', lt + 4);
      i = close < 0 ? input.length : close + 3;
      continue;
    }
    // The tag runs to the next '>' (found once for all the '<' before it), within 4000 characters.
    if (gt < lt) gt = noMoreGt ? Infinity : input.indexOf('>', lt);
    if (gt < 0) {
      noMoreGt = true;
      gt = Infinity;
    }
    NAME.lastIndex = lt;
    const m = gt - lt <= 4000 ? NAME.exec(input) : null;
    if (!m) {
      out.push('<');
      i = lt + 1;
      continue;
    }
    const name = m[2]!.toLowerCase();
    i = gt + 1;
    if (!m[1] && DROPPED.has(name)) {
      const close = lower.indexOf(`</${name}`, i);
      const closeEnd = close < 0 ? -1 : lower.indexOf('>', close);
      i = closeEnd < 0 ? input.length : closeEnd + 1;
      continue;
    }
    if (PARAGRAPH.has(name)) out.push(2);
    else if (LINE.has(name)) out.push(1);
  }
  // Breaks in a row count as the largest of them; spaces around a break are dropped.
  const text: string[] = [];
  let pending = 0;
  for (const piece of out) {
    if (typeof piece === 'number') {
      pending = Math.max(pending, piece);
      continue;
    }
    const decoded = decodeEntities(piece).replace(/\u00a0/g, ' ');
    const kept = pending > 0 || text.length === 0 ? decoded.trimStart() : decoded;
    if (!kept) continue;
    if (pending > 0 && text.length > 0) {
      text[text.length - 1] = text[text.length - 1]!.trimEnd();
      text.push(pending === 2 ? '\n\n' : '\n');
    }
    pending = 0;
    text.push(kept);
  }
  return text.join('').trim();
}

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole, dec?: string, hex?: string, named?: string) => {
    if (named) return NAMED[named] ?? whole;
    const code = dec ? Number(dec) : parseInt(hex!, 16);
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

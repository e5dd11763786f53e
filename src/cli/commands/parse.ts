import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Table from 'cli-table3';
import { Option, type Command } from 'commander';
import { envelopeSenderOf, parseMessage } from '../../dsn/parse.js';
import type { ParsedReport } from '../../dsn/types.js';
import { CliError } from '../context.js';

/**
 * `rebond parse PATH...`: what the parser makes of messages on disk, for operators. Needs no
 * configuration and no database. The envelope sender is the message's `Return-Path:` header.
 */

type Format = 'table' | 'json' | 'jsonl';

interface Input {
  readonly file: string;
  read(): Promise<Buffer>;
}

/** One line of `--format jsonl`: one recipient (or the message itself when it names none). */
export interface ParseLine {
  file: string;
  format: string;
  kind: string;
  recipient: string | null;
  action: string | null;
  status: string | null;
  statusSource: string | null;
  type: string | null;
  description: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  messageKind: string;
  problems: readonly string[];
}

const IN_FLIGHT = 16;

export function register(program: Command): void {
  program
    .command('parse')
    .description('show what the parser makes of bounce messages: files, folders of .eml, or - for standard input')
    .argument('<paths...>', 'message files, folders (their .eml files), or - for standard input')
    .addOption(new Option('-f, --format <format>', 'output: table (default on a terminal), json, jsonl (default otherwise)').choices(['table', 'json', 'jsonl']))
    .action(async (paths: string[], opts: { format?: Format }) => {
      const format: Format = opts.format ?? (process.stdout.isTTY ? 'table' : 'jsonl');
      const { inputs, missing } = await collect(paths);
      for (const m of missing) process.stderr.write(`rebond: ${m}\n`);
      if (inputs.length === 0 && missing.length > 0) throw new CliError('nothing to parse', 1);
      const results = await parseAll(inputs);
      const failures = results.filter((r) => r.error).length;
      for (const r of results) if (r.error) process.stderr.write(`rebond: ${r.file}: ${r.error}\n`);
      const parsed = results.flatMap((r) => (r.report ? [{ file: r.file, report: r.report }] : (r.reports ?? []).map((report, n) => ({ file: `${r.file}#${n + 1}`, report }))));
      write(format, parsed);
      if (missing.length > 0 || failures > 0) process.exitCode = 1;
    });
}

/** Files named, `.eml` files of folders named (sorted, recursively), and standard input for `-`. */
async function collect(paths: readonly string[]): Promise<{ inputs: Input[]; missing: string[] }> {
  const inputs: Input[] = [];
  const missing: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ file: '-', read: readStdin });
      continue;
    }
    try {
      const s = await stat(path);
      if (s.isDirectory()) inputs.push(...(await emlFiles(path)).map((file) => ({ file, read: () => readFile(file) })));
      else inputs.push({ file: path, read: () => readFile(path) });
    } catch (err) {
      missing.push(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
    }
  }
  return { inputs, missing };
}

/**
 * The `.eml` files of a folder and its subfolders, sorted; a folder without any `.eml` file
 * (a maildir's cur/ and new/, a dump of numbered files) gives all its files.
 */
async function emlFiles(dir: string): Promise<string[]> {
  const all: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && !e.name.startsWith('.')) all.push(full);
    }
  };
  await walk(dir);
  const eml = all.filter((f) => f.toLowerCase().endsWith('.eml'));
  return eml.length > 0 ? eml : all;
}

const MBOX_FROM = /^From \S+ [^\r\n]*\d{4}[^\r\n]*\r?\n/;

/**
 * The messages of an mbox file (a first line `From sender date`): split at each `From ` line
 * that follows an empty line, `>From ` unescaped. Any other file is one message.
 */
export function splitMbox(raw: Buffer): Buffer[] {
  const head = raw.subarray(0, 512).toString('latin1');
  if (!MBOX_FROM.test(head)) return [raw];
  const text = raw.toString('latin1');
  const starts: number[] = [0];
  const re = /(?:\r?\n){2}(From \S+ [^\r\n]*\r?\n)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[0].length - m[1]!.length);
  return starts.map((s, i) => {
    const chunk = text.slice(s, starts[i + 1] ?? text.length).replace(MBOX_FROM, '').replace(/^>(>*From )/gm, '$1');
    return Buffer.from(chunk, 'latin1');
  });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses every input with a few parses in flight (the MIME parser idles between ticks); keeps order. */
interface Outcome {
  file: string;
  report?: ParsedReport;
  /** The messages of an mbox file, in order. */
  reports?: ParsedReport[];
  error?: string;
}

async function parseAll(inputs: readonly Input[]): Promise<Outcome[]> {
  const results: Outcome[] = new Array(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next++;
      const input = inputs[i]!;
      try {
        const messages = splitMbox(await input.read());
        const reports = [];
        for (const raw of messages) reports.push(await parseMessage(raw, { mailFrom: envelopeSenderOf(raw) }));
        results[i] = reports.length === 1 ? { file: input.file, report: reports[0]! } : { file: input.file, reports };
      } catch (err) {
        results[i] = { file: input.file, error: (err as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, inputs.length) }, worker));
  return results;
}

/** One line per recipient; a message without recipients gives one line with `recipient: null`. */
export function linesOf(file: string, report: ParsedReport): ParseLine[] {
  const base = { file, format: report.format, messageKind: report.kind, problems: report.problems };
  if (report.recipients.length === 0) {
    return [{ ...base, kind: report.kind, recipient: null, action: null, status: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null }];
  }
  return report.recipients.map((r) => ({
    ...base,
    kind: r.kind,
    recipient: r.recipient,
    action: r.action,
    status: r.status,
    statusSource: r.statusSource,
    type: r.type,
    description: r.description,
    diagnostic: r.diagnostic,
    remoteMta: r.remoteMta,
  }));
}

function write(format: Format, parsed: ReadonlyArray<{ file: string; report: ParsedReport }>): void {
  if (format === 'json') {
    const all = parsed.map(({ file, report }) => ({ file, ...report }));
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    return;
  }
  const lines = parsed.flatMap(({ file, report }) => linesOf(file, report));
  if (format === 'jsonl') {
    process.stdout.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    return;
  }
  const width = process.stdout.columns && process.stdout.columns > 60 ? process.stdout.columns : 160;
  const descWidth = Math.max(16, width - 110);
  const table = new Table({
    head: ['file', 'format', 'kind', 'recipient', 'status', 'type', 'source', 'description'],
    colWidths: [30, 14, 11, 28, 8, 6, 11, descWidth],
    wordWrap: true,
    wrapOnWordBoundary: false,
    style: { head: [], border: [] },
  });
  for (const l of lines) {
    table.push([l.file, l.format, l.kind, l.recipient ?? '-', l.status ?? '-', l.type ?? '-', l.statusSource ?? '-', l.description ?? (l.problems[0] ? `unparseable: ${l.problems[0]}` : '-')]);
  }
  process.stdout.write(`${table.toString()}\n`);
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.kind, (counts.get(l.kind) ?? 0) + 1);
  process.stdout.write(`${parsed.length} message(s), ${lines.length} line(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
}

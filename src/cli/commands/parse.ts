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
      const parsed = results.filter((r): r is { file: string; report: ParsedReport } => r.report !== undefined);
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

async function emlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await emlFiles(full)));
    else if (e.isFile() && e.name.toLowerCase().endsWith('.eml')) files.push(full);
  }
  return files;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses every input with a few parses in flight (the MIME parser idles between ticks); keeps order. */
async function parseAll(inputs: readonly Input[]): Promise<Array<{ file: string; report?: ParsedReport; error?: string }>> {
  const results: Array<{ file: string; report?: ParsedReport; error?: string }> = new Array(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next++;
      const input = inputs[i]!;
      try {
        const raw = await input.read();
        results[i] = { file: input.file, report: await parseMessage(raw, { mailFrom: envelopeSenderOf(raw) }) };
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
  process.stdout.write(`${parsed.length} message(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
}

import { basename } from 'node:path';
import Table from 'cli-table3';
import { Option, type Command } from 'commander';
import { envelopeSenderOf, parseMessage } from '../../dsn/parse.js';
import type { ParsedReport } from '../../dsn/types.js';
import { withoutFromLine } from '../../import/mbox.js';
import { isProblem, planSources, readSources, type SourcePlan, type SourceProblem } from '../../import/sources.js';
import { CliError } from '../context.js';
import { terminalText } from '../text.js';

/**
 * `rebond parse PATH...`: what the parser makes of messages on disk, for operators. Needs no
 * configuration and no database. Reads the same sources as `rebond import` (files, folders,
 * Maildir, mbox); the envelope sender is each message's `Return-Path:` header.
 */

type Format = 'table' | 'json' | 'jsonl';

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

interface Parsed {
  readonly file: string;
  readonly report: ParsedReport;
}

// mailparser yields between chunks: a few parses in flight keep the CPU busy.
const IN_FLIGHT = 16;

export function register(program: Command): void {
  program
    .command('parse')
    .description('show what the parser makes of bounce messages: files, folders, Maildir, mbox, or - for standard input')
    .argument('<paths...>', 'message files, folders (their messages, recursively), Maildir folders, mbox files, or - for standard input')
    .addOption(new Option('-f, --format <format>', 'output: table (default on a terminal), json, jsonl (default otherwise)').choices(['table', 'json', 'jsonl']))
    .action(async (paths: string[], opts: { format?: Format }) => {
      const format: Format = opts.format ?? (process.stdout.isTTY ? 'table' : 'jsonl');
      const files = paths.filter((p) => p !== '-');
      const plan = await planSources(files);
      // Named paths that cannot be read are reported one by one; other files of a folder (such
      // as samples/*.expected.json) are only counted.
      const named = plan.skipped.filter((s) => files.includes(s.path));
      for (const s of named) process.stderr.write(`rebond: ${s.path}: ${s.reason}\n`);
      const others = plan.skipped.length - named.length;
      if (others > 0) process.stderr.write(`${others} other file(s) in the folders are not messages (such as ${basename(plan.skipped.find((s) => !files.includes(s.path))!.path)}): left out\n`);
      const { parsed, problems } = await parseAll(plan, paths.includes('-'));
      for (const p of problems) process.stderr.write(`rebond: ${terminalText(`${p.source}: ${p.error}`)}\n`);
      if (parsed.length === 0 && (named.length > 0 || problems.length > 0)) throw new CliError('nothing to parse', 1);
      write(format, parsed);
      // A path that names nothing readable is an error; files skipped inside a folder are not.
      if (named.length > 0 || problems.length > 0) process.exitCode = 1;
    });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Parses every message of the sources (and standard input), a few at a time, in order. The
 * envelope sender of each is its `Return-Path:` header.
 */
async function parseAll(plan: SourcePlan, stdin: boolean): Promise<{ parsed: Parsed[]; problems: SourceProblem[] }> {
  const problems: SourceProblem[] = [];
  const pending: Array<Promise<Parsed>> = [];
  const parsed: Parsed[] = [];
  const parse = (file: string, raw: Buffer): Promise<Parsed> => parseMessage(raw, { mailFrom: envelopeSenderOf(raw) }).then((report) => ({ file, report }));
  const push = async (item: Promise<Parsed>): Promise<void> => {
    pending.push(item);
    if (pending.length >= IN_FLIGHT) parsed.push(await pending.shift()!);
  };
  for await (const item of readSources(plan)) {
    if (isProblem(item)) problems.push(item);
    else await push(parse(item.source, item.raw));
  }
  // Standard input is one message, even when it starts with an mbox `From ` line.
  if (stdin) await push(readStdin().then((raw) => parse('-', withoutFromLine(raw))));
  for (const item of pending) parsed.push(await item);
  return { parsed, problems };
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

function write(format: Format, parsed: readonly Parsed[]): void {
  if (format === 'json') {
    const all = parsed.map(({ file, report }) => ({ file, ...report }));
    process.stdout.write(`${terminalText(JSON.stringify(all, null, 2), true)}\n`);
    return;
  }
  const lines = parsed.flatMap(({ file, report }) => linesOf(file, report));
  if (format === 'jsonl') {
    process.stdout.write(lines.map((l) => `${terminalText(JSON.stringify(l))}\n`).join(''));
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
    const row = [l.file, l.format, l.kind, l.recipient ?? '-', l.status ?? '-', l.type ?? '-', l.statusSource ?? '-', l.description ?? (l.problems[0] ? `unparseable: ${l.problems[0]}` : '-')];
    table.push(row.map((c) => terminalText(c)));
  }
  process.stdout.write(`${table.toString()}\n`);
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.kind, (counts.get(l.kind) ?? 0) + 1);
  process.stdout.write(`${parsed.length} message(s), ${lines.length} line(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
}

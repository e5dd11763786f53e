import { open, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { readMbox, withoutFromLine } from './mbox.js';

/**
 * Where imported messages come from: `.eml` files, folders (walked recursively, in name order,
 * hidden entries skipped), Maildir folders (the files in `cur/` and `new/`, and Maildir++
 * sub-folders such as `.Bounces/`), and mbox files (a file ending in `.mbox` or `.mbx`, or a
 * file other than `.eml` whose first line starts with `From `). An `.eml` file is one message,
 * whatever its body quotes; one that begins with a `From ` line is read without it. mbox files
 * are split on their separator lines only (`From sender date` followed by a header: see
 * mbox.ts); a file that is not named `.mbox` and holds one message is reported as the file.
 */

export type SourceKind = 'eml' | 'mbox';

export interface SourceFile {
  readonly path: string;
  readonly kind: SourceKind;
  readonly size: number;
}

export interface SourcePlan {
  readonly files: SourceFile[];
  readonly totalBytes: number;
  /** Paths that were not read, and why. */
  readonly skipped: Array<{ path: string; reason: string }>;
}

export interface SourceMessage {
  readonly raw: Buffer;
  /** The file, or `file#n` for the nth message (from 1) of an mbox. */
  readonly source: string;
  /** The date on an mbox From_ line, when it has one. */
  readonly date: Date | null;
  /** Bytes of all the sources read so far. */
  readonly bytesRead: number;
}

export interface SourceProblem {
  readonly source: string;
  readonly error: string;
}

const MBOX_EXTENSIONS = new Set(['.mbox', '.mbx']);

async function head(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isMaildir(path: string): Promise<boolean> {
  return (await isDirectory(join(path, 'cur'))) || (await isDirectory(join(path, 'new')));
}

/** What a file holds: one message, an mbox, or nothing to import. */
export async function kindOfFile(path: string, explicit: boolean): Promise<SourceKind | null> {
  const start = (await head(path, 256)).toString('latin1');
  const ext = extname(path).toLowerCase();
  if (MBOX_EXTENSIONS.has(ext)) return 'mbox';
  if (ext === '.eml') return 'eml';
  if (start.startsWith('From ')) return 'mbox';
  if (explicit) return 'eml';
  // Inside a folder, a file without the .eml name is taken when it starts like a message.
  return /^[\x21-\x39\x3b-\x7e]+:/.test(start) ? 'eml' : null;
}

/** Lists the files to read under the given paths, with their total size (for progress). */
export async function planSources(paths: readonly string[]): Promise<SourcePlan> {
  const files: SourceFile[] = [];
  const skipped: Array<{ path: string; reason: string }> = [];
  const seen = new Set<string>();

  const addFile = async (path: string, explicit: boolean, forced?: SourceKind) => {
    if (seen.has(path)) return;
    seen.add(path);
    try {
      const info = await stat(path);
      if (!info.isFile()) return;
      if (info.size === 0) {
        skipped.push({ path, reason: 'empty file' });
        return;
      }
      const kind = forced ?? (await kindOfFile(path, explicit));
      if (kind) files.push({ path, kind, size: info.size });
      else skipped.push({ path, reason: 'not a message or an mbox' });
    } catch (err) {
      skipped.push({ path, reason: (err as Error).message });
    }
  };

  const sortedEntries = async (dir: string) => (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const addMaildir = async (dir: string) => {
    for (const sub of ['cur', 'new']) {
      if (!(await isDirectory(join(dir, sub)))) continue;
      for (const e of await sortedEntries(join(dir, sub))) if (e.isFile() && !e.name.startsWith('.')) await addFile(join(dir, sub, e.name), true, 'eml');
    }
    // Maildir++: sub-folders are dot-named Maildirs beside cur/ and new/.
    for (const e of await sortedEntries(dir)) {
      if (e.isDirectory() && e.name.startsWith('.') && e.name !== '.' && e.name !== '..' && (await isMaildir(join(dir, e.name)))) await addMaildir(join(dir, e.name));
    }
  };

  const addFolder = async (dir: string) => {
    if (await isMaildir(dir)) return addMaildir(dir);
    for (const e of await sortedEntries(dir)) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) await addFolder(path);
      else if (e.isFile()) await addFile(path, false);
    }
  };

  for (const path of paths) {
    try {
      const info = await stat(path);
      if (info.isDirectory()) await addFolder(path);
      else await addFile(path, true);
    } catch (err) {
      skipped.push({ path, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message });
    }
  }
  return { files, totalBytes: files.reduce((n, f) => n + f.size, 0), skipped };
}

/** Every message of the planned files, in order; a file that cannot be read gives a problem. */
export async function* readSources(plan: SourcePlan): AsyncGenerator<SourceMessage | SourceProblem> {
  let done = 0;
  for (const file of plan.files) {
    try {
      if (file.kind === 'eml') {
        const raw = withoutFromLine(await readFile(file.path));
        done += file.size;
        yield { raw, source: file.path, date: null, bytesRead: done };
        continue;
      }
      // Each message is held until the next one is found: a file not named .mbox that holds a
      // single message is reported as the file itself.
      const named = MBOX_EXTENSIONS.has(extname(file.path).toLowerCase());
      let n = 0;
      let held: { raw: Buffer; date: Date | null; bytesRead: number } | null = null;
      for await (const m of readMbox(file.path)) {
        if (held) yield { ...held, source: `${file.path}#${n}` };
        n++;
        held = { raw: m.raw, date: m.date, bytesRead: done + Math.min(m.bytesRead, file.size) };
      }
      if (held) yield { ...held, source: n === 1 && !named ? file.path : `${file.path}#${n}` };
      done += file.size;
      if (n === 0) yield { source: file.path, error: 'no message found (an mbox starts each message with a "From " line)' };
    } catch (err) {
      done += file.size;
      yield { source: file.path, error: (err as Error).message };
    }
  }
}

export function isProblem(item: SourceMessage | SourceProblem): item is SourceProblem {
  return 'error' in item;
}

// Types for mbox-reader (the package ships none): the part of its API that rebond uses.
declare module 'mbox-reader' {
  import type { Readable } from 'node:stream';

  export interface MboxMessage {
    /** The sender written on the From_ line. */
    readonly returnPath: string;
    /** The date written on the From_ line, or false when it cannot be read. */
    readonly time: Date | false;
    /** The message, with `>From ` lines unescaped. */
    readonly content: Buffer;
    readonly headers: Map<string, string[]>;
    readonly flags: string[];
    readonly labels: string[];
    /** Bytes of the input read so far. */
    readonly readSize: number;
  }

  export function mboxReader(input: Readable, options?: { gz?: boolean }): AsyncGenerator<MboxMessage>;
}

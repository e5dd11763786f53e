import { Dialog } from './smtp.js';
import type { Workload, WorkloadMessage } from './workload.js';

/** Delivers a workload over SMTP: concurrently across receivers, or one message at a time. */

export interface Reply {
  readonly text: string;
  /** From the end of DATA to the final reply. */
  readonly ms: number;
}

/** One SMTP transaction on an open session; returns the final reply. */
export async function deliver(dialog: Dialog, m: WorkloadMessage): Promise<Reply> {
  const started = Date.now();
  const mail = await dialog.command('MAIL FROM:<>');
  if (!mail.startsWith('250')) return { text: mail, ms: Date.now() - started };
  for (const to of m.rcptTo) {
    const rcpt = await dialog.command(`RCPT TO:<${to}>`);
    if (!rcpt.startsWith('250')) return { text: rcpt, ms: Date.now() - started };
  }
  const text = await dialog.data(m.raw);
  return { text, ms: Date.now() - started };
}

export async function session(port: number): Promise<Dialog> {
  const { dialog } = await Dialog.open(port);
  await dialog.command('EHLO client.test.example');
  return dialog;
}

/**
 * `clients` concurrent clients, each with one session to every receiver, take the deliveries
 * from one queue; a delivery to two receivers is sent to both at the same moment.
 */
export async function spray(w: Workload, ports: readonly number[], clients: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  const client = async () => {
    const dialogs = await Promise.all(ports.map((p) => session(p)));
    try {
      while (next < w.deliveries.length) {
        const d = w.deliveries[next++]!;
        const m = w.messages[d.message]!;
        const at = (r: number) => dialogs[r % dialogs.length]!;
        // One session carries one transaction at a time: the same receiver twice is sequential.
        if (d.sequential || new Set(d.receivers.map((r) => r % dialogs.length)).size < d.receivers.length) for (const r of d.receivers) replies.push(await deliver(at(r), m));
        else replies.push(...(await Promise.all(d.receivers.map((r) => deliver(at(r), m)))));
      }
    } finally {
      for (const dialog of dialogs) dialog.close();
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return replies;
}

/** The same deliveries, one at a time, to one receiver. */
export async function oneByOne(w: Workload, port: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  const dialog = await session(port);
  try {
    for (const d of w.deliveries) for (const _ of d.receivers) replies.push(await deliver(dialog, w.messages[d.message]!));
  } finally {
    dialog.close();
  }
  return replies;
}

/**
 * Every SMTP reply the receiver writes itself, with its enhanced status code (RFC 3463). Kept
 * in one place so the README's table and the code agree.
 */

export interface Reply {
  readonly code: number;
  text(...args: Array<string | number>): string;
}

export const replies = {
  accepted: { code: 250, text: (id: string | number = '') => `2.0.0 Ok: stored as ${id}` },
  duplicate: { code: 250, text: (id: string | number = '') => `2.0.0 Ok: already stored as ${id}` },
  unknownRecipient: { code: 550, text: () => '5.1.1 Recipient unknown: not a valid return path here' },
  relayDenied: { code: 550, text: () => '5.7.1 Relaying denied: not a bounce domain of this server' },
  badSyntax: { code: 553, text: () => '5.1.3 Bad recipient address syntax' },
  tooManyRecipients: { code: 452, text: () => '4.5.3 Too many recipients for one message' },
  tooBig: { code: 552, text: (limit: string | number = '') => `5.3.4 Message too big for system (limit ${limit} bytes)` },
  headerTooBig: { code: 552, text: (limit: string | number = '') => `5.3.4 Message header too big for system (limit ${limit} bytes)` },
  tempFail: { code: 451, text: () => '4.3.0 Temporary local problem, please try again later' },
  noRoom: { code: 452, text: () => '4.3.1 Insufficient system storage, please try again later' },
  tooManyFromIp: { code: 421, text: () => '4.7.0 Too many connections from your address, try again later' },
  tooManyFromNetwork: { code: 421, text: () => '4.7.0 Too many connections from your network, try again later' },
  tooManyRefusals: { code: 421, text: () => '4.7.0 Too many refused recipients from your address, try again later' },
  tooManyCommands: { code: 421, text: () => '4.7.0 Too many commands without a mail transaction, closing connection' },
  tooManyBadCommands: { code: 421, text: () => '4.7.0 Too many bad commands, closing connection' },
  idleTimeout: { code: 421, text: () => '4.4.2 Timeout: no mail moved, closing connection' },
  idleEvicted: { code: 421, text: () => '4.7.0 Too many connections, closing this idle one, try again later' },
  sessionTooLong: { code: 421, text: () => '4.4.2 Session time limit reached, closing connection' },
  shuttingDown: { code: 421, text: () => '4.3.2 Service shutting down, try again later' },
} as const satisfies Record<string, Reply>;

export type ReplyName = keyof typeof replies;

export interface SmtpError extends Error {
  responseCode: number;
}

/** An error smtp-server turns into the reply: `responseCode` and the text. */
export function smtpError(name: ReplyName, ...args: Array<string | number>): SmtpError {
  const reply = replies[name] as Reply;
  const err = new Error(reply.text(...args)) as SmtpError;
  err.responseCode = reply.code;
  return err;
}

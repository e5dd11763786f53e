import { HookedSMTPServer } from '../../src/smtp/hooks.js';
import { readMail } from '../../src/dsn/mime.js';
import { parseMessage } from '../../src/dsn/parse.js';
import { STAGES, type Stage } from './stages.js';

/**
 * A receiver cut short after one stage of rebond's pipeline, for `npm run bench:floor`:
 * smtp-server configured as rebond's listener configures it (no AUTH, no STARTTLS, no reverse
 * lookup, greeting at once), the message collected, then
 *   smtp   250 at once;
 *   mime   250 after mailparser has read the message as rebond reads it (`readMail`);
 *   parse  250 after the whole parse (MIME and the decoders: `parseMessage`).
 * Nothing is identified, ruled or stored. Usage: tsx bench/lib/stage-server.ts STAGE PORT
 */

const stage = process.argv[2] as Stage;
const port = Number(process.argv[3]);
if (!STAGES.includes(stage) || !Number.isInteger(port)) {
  process.stderr.write(`usage: stage-server ${STAGES.join('|')} PORT\n`);
  process.exit(2);
}

/** Each stage's work, and what its 250 says of the message (for the bench's own test). */
const work: Record<Stage, (raw: Buffer) => Promise<string>> = {
  smtp: async (raw) => `${raw.length} bytes`,
  mime: async (raw) => (await readMail(raw)).contentType,
  parse: async (raw) => (await parseMessage(raw, { mailFrom: '' })).kind,
};

const server = new HookedSMTPServer(
  {
    name: 'stage.bench.example',
    size: 10 * 1024 * 1024,
    maxClients: 2000,
    hideENHANCEDSTATUSCODES: true,
    hideDSN: true,
    hideREQUIRETLS: true,
    hideSTARTTLS: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        work[stage](Buffer.concat(chunks)).then(
          (said) => callback(null, `OK ${said}`),
          (err: Error) => callback(err),
        );
      });
    },
  },
  { opened() {}, command: () => null, reply: () => null },
  0,
);
server.on('error', (err) => process.stderr.write(`${err.message}\n`));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

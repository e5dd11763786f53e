import type { Command } from 'commander';
import { checkAddress, contactKey, encodeReturnPath } from '../../domain/verp.js';
import { CliError, configFrom, out } from '../context.js';

export function register(program: Command): void {
  const verp = program.command('verp').description('make and check signed VERP return paths');

  verp
    .command('encode')
    .description('print the signed return path for one send')
    .requiredOption('--campaign <id>', 'campaign id (lowercase letters, digits, _ and -)')
    .requiredOption('--email <address>', "the contact's email address")
    .option('--domain <domain>', 'bounce domain (default: the first configured one)')
    .action((opts: { campaign: string; email: string; domain?: string }, command: Command) => {
      const config = configFrom(command);
      try {
        out(encodeReturnPath(config.verp, opts.campaign, opts.email, opts.domain));
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    });

  verp
    .command('decode')
    .description('check a return path: its campaign, contact key and signature (exit 1 if invalid)')
    .argument('<address>', 'the address to check')
    .option('--email <address>', 'also check that the token names this contact')
    .option('--json', 'print JSON')
    .action((address: string, opts: { email?: string; json?: boolean }, command: Command) => {
      const config = configFrom(command);
      const check = checkAddress(config.verp, address);
      const result: Record<string, unknown> = { address, valid: check.ok };
      if (check.ok) {
        result['kind'] = check.kind;
        result['domain'] = check.domain;
        if (check.kind === 'token') {
          result['campaign'] = check.campaignId;
          result['contactKey'] = check.contactKey;
          if (opts.email) result['emailMatches'] = contactKey(opts.email) === check.contactKey;
        }
      } else {
        result['reason'] = check.reason;
      }
      if (opts.json) out(JSON.stringify(result));
      else for (const [k, v] of Object.entries(result)) out(`${k.padEnd(12)} ${String(v)}`);
      const emailMismatch = result['emailMatches'] === false;
      if (!check.ok || emailMismatch) process.exitCode = 1;
    });
}

import Table from 'cli-table3';
import type { Command } from 'commander';
import { redactUrl } from '../../config.js';
import { configFrom, out } from '../context.js';

interface CheckOptions {
  json?: boolean;
  self?: boolean;
}

/** Clock differences above this are reported: bounce dates come from the receivers' clocks. */
const CLOCK_SKEW_MS = 2000;

export function register(program: Command): void {
  program
    .command('check')
    .description('check the database and that the receivers sharing it agree with one another and with this configuration (exit 1 on a problem)')
    .option('--json', 'print JSON')
    .option('--no-self', 'compare the receivers with one another only, not with this configuration')
    .action(async (opts: CheckOptions, command: Command) => {
      const config = configFrom(command);
      const { openDatabase, schemaStatus, expectedSchema } = await import('../../storage/db.js');
      const { knexReceiverStore, serverFacts } = await import('../../storage/receivers.js');
      const { compareFleet, fleetSettings, packageVersion } = await import('../../services/fleet.js');

      const db = openDatabase({ ...config.database, poolMax: 1, applicationName: 'rebond check' });
      const problems: Array<{ level: 'error' | 'warning'; message: string }> = [];
      const report: Record<string, unknown> = { database: redactUrl(config.database.url) };
      let listed: [readonly Listed[], readonly Listed[], readonly Listed[]] | null = null;
      try {
        const started = Date.now();
        let facts;
        try {
          facts = await serverFacts(db);
        } catch (err) {
          problems.push({ level: 'error', message: `cannot reach the database: ${(err as Error).message}` });
        }
        if (facts) {
          const answeredMs = Date.now() - started;
          Object.assign(report, { server: facts.server, answeredMs, maxConnections: facts.maxConnections, connections: facts.connections });
          if (facts.now) {
            const offsetMs = Date.now() - answeredMs / 2 - Date.parse(facts.now);
            report['clockOffsetMs'] = Math.round(offsetMs);
            if (Math.abs(offsetMs) > CLOCK_SKEW_MS) problems.push({ level: 'warning', message: `this host's clock is ${Math.round(offsetMs)} ms off the database server's (run NTP on every host)` });
          }
          const schema = await schemaStatus(db);
          report['schema'] = schema;
          if (schema.pending.length > 0) problems.push({ level: 'error', message: `the schema is behind this version: run \`rebond migrate\` (pending: ${schema.pending.join(', ')})` });
          if (schema.unknown.length > 0) problems.push({ level: 'warning', message: `the database has migrations this version does not know (a newer version ran): ${schema.unknown.join(', ')}` });
          if (await db.knex.schema.hasTable('receivers')) {
            const receivers = await knexReceiverStore(db).list();
            const self = opts.self === false ? null : { label: 'this configuration', version: packageVersion(), schema: expectedSchema(), settings: fleetSettings(config) };
            const fleet = compareFleet(receivers, new Date(), self, facts.maxConnections);
            report['receivers'] = { live: fleet.live, silent: fleet.silent, stopped: fleet.stopped };
            problems.push(...fleet.problems);
            listed = [fleet.live, fleet.silent, fleet.stopped];
          }
        }
      } finally {
        await db.close();
      }
      report['problems'] = problems;
      const failed = problems.some((p) => p.level === 'error');
      if (opts.json) {
        out(JSON.stringify(report, null, 2));
      } else {
        printSummary(report);
        if (listed) printReceivers(...listed);
        for (const p of problems) out(`${p.level}: ${p.message}`);
        if (!failed) out(problems.length === 0 ? 'ok: the receivers agree with one another and with this configuration' : 'ok, with warnings');
      }
      if (failed) process.exitCode = 1;
    });
}

interface Listed {
  readonly name: string;
  readonly version: string;
  readonly schema: string;
  readonly settings: Record<string, unknown>;
  readonly seenAt: string;
  readonly stoppedAt: string | null;
}

function printReceivers(live: readonly Listed[], silent: readonly Listed[], stopped: readonly Listed[]): void {
  const table = new Table({ head: ['receiver', 'state', 'version', 'secret', 'domains', 'soft threshold', 'pool', 'last seen'], style: { head: [], border: [] } });
  const rows: Array<[Listed, string]> = [...live.map((r): [Listed, string] => [r, 'running']), ...silent.map((r): [Listed, string] => [r, 'silent']), ...stopped.map((r): [Listed, string] => [r, 'stopped'])];
  for (const [r, state] of rows) {
    const s = r.settings as { verp?: { secret?: string; domains?: string[] }; rules?: { softThreshold?: number }; database?: { poolMax?: number } };
    table.push([r.name, state, r.version, s.verp?.secret ?? '?', (s.verp?.domains ?? []).join(', '), String(s.rules?.softThreshold ?? '?'), String(s.database?.poolMax ?? '?'), r.stoppedAt ?? r.seenAt]);
  }
  out(rows.length === 0 ? 'receivers   none has started on this database yet' : table.toString());
}

function printSummary(report: Record<string, unknown>): void {
  const line = (label: string, text: string) => out(`${label.padEnd(12)}${text}`);
  line('database', `${String(report['database'])}${report['server'] ? ` (${String(report['server'])}, answered in ${String(report['answeredMs'])} ms)` : ''}`);
  const schema = report['schema'] as { applied: string[]; pending: string[] } | undefined;
  if (schema) line('schema', schema.pending.length === 0 ? `up to date (${schema.applied.length} migrations, newest ${schema.applied[schema.applied.length - 1] ?? 'none'})` : `behind: ${schema.pending.length} pending`);
  if (report['clockOffsetMs'] !== undefined) line('clock', `this host is ${String(report['clockOffsetMs'])} ms off the database server`);
  const conns = report['connections'] as Array<{ application: string; count: number }> | undefined;
  if (conns && report['maxConnections']) line('connections', `${conns.reduce((n, c) => n + c.count, 0)} open to this database (${conns.map((c) => `${c.application || '?'}: ${c.count}`).join(', ')}), max_connections ${String(report['maxConnections'])}`);
}

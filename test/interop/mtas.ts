import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../bench/lib/servers.js';

/**
 * Private instances of real MTAs (Debian's Postfix and Exim, unpacked by install-mtas.sh, never
 * installed) that deliver to a receiver on 127.0.0.1 only. Each runs in its own mount namespace
 * (`unshare -m`) where /etc/passwd and /etc/group are replaced by copies that add the users the
 * binaries are built for (Exim's Debian-exim, Postfix's mail owner): the machine's own files and
 * services are untouched. Configuration, queue, spool and logs live in a directory of the test;
 * every destination is routed to the receiver's address and port, no DNS is asked.
 */

const run = promisify(execFile);

export interface Delivery {
  readonly from: string;
  readonly to: string;
  readonly raw: Buffer;
}

export interface ClientOptions {
  /** The receiver's port on 127.0.0.1. */
  readonly port: number;
  readonly pipelining: boolean;
  /** Require STARTTLS (the receiver has a certificate) or never use it. */
  readonly tls: boolean;
}

export interface MtaOutcome {
  /** One line of the MTA's log per delivered message: the receiver's reply as the MTA logged it. */
  readonly delivered: string[];
  /** Lines of the MTA's log that tell of a deferral or failure (none expected). */
  readonly problems: string[];
  /** Deliveries logged as made over TLS. */
  readonly overTls: number;
  readonly log: string;
}

const IDS = { exim: 64901, postfix: 64902, postdrop: 64903, smtpd: 64904, smtpq: 64905 };

const USERS = [
  ['Debian-exim', IDS.exim],
  ['rebond-postfix', IDS.postfix],
  ['opensmtpd', IDS.smtpd],
  ['opensmtpq', IDS.smtpq],
] as const;

/**
 * Copies of /etc/passwd and /etc/group with the MTAs' users added, and the wrapper that runs a
 * command in a mount namespace where they replace the machine's, with `binds` (directories of the
 * test mounted over paths built into a binary) mounted too.
 */
export function sandbox(dir: string, binds: ReadonlyArray<readonly [string, string]> = []): (command: string, args: readonly string[]) => [string, string[]] {
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  writeFileSync(passwd, `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\n${USERS.map(([name, id]) => `${name}:x:${id}:${id}::/nonexistent:/usr/sbin/nologin`).join('\n')}\n`);
  writeFileSync(group, `${readFileSync('/etc/group', 'utf8').trimEnd()}\n${USERS.map(([name, id]) => `${name}:x:${id}:`).join('\n')}\nrebond-postdrop:x:${IDS.postdrop}:\n`);
  chmodSync(passwd, 0o644);
  chmodSync(group, 0o644);
  const all: ReadonlyArray<readonly [string, string]> = [[passwd, '/etc/passwd'], [group, '/etc/group'], ...binds];
  // sh -c 'mount --bind "$1" "$2" && ... && shift N && exec "$@"' sandbox src1 dst1 ... command args
  const mounts = all.map((_, i) => `mount --bind "\${${2 * i + 1}}" "\${${2 * i + 2}}"`).join(' && ');
  const script = `${mounts} && shift ${2 * all.length} && exec "$@"`;
  return (command, args) => ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sandbox', ...all.flat(), command, ...args]];
}


function libraryPath(root: string): string {
  return [join(root, 'usr/lib/postfix'), join(root, 'usr/lib/x86_64-linux-gnu'), join(root, 'lib/x86_64-linux-gnu')].join(':');
}

async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Exim

/** Exim: messages are queued (`-odq`), then one queue run (`-q`) delivers them all. */
export async function eximDelivers(root: string, dir: string, deliveries: readonly Delivery[], o: ClientOptions): Promise<MtaOutcome> {
  const wrap = sandbox(dir);
  const spool = join(dir, 'spool');
  const logs = join(dir, 'log');
  for (const d of [spool, logs]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, IDS.exim, IDS.exim);
  }
  chmodSync(dir, 0o755);
  const conf = join(dir, 'exim.conf');
  writeFileSync(
    conf,
    [
      'primary_hostname = mta.interop.example',
      `spool_directory = ${spool}`,
      `log_file_path = ${logs}/%slog`,
      'log_selector = +smtp_confirmation +tls_cipher',
      'host_lookup =',
      'rfc1413_hosts =',
      'keep_environment =',
      'begin routers',
      'to_receiver:',
      '  driver = manualroute',
      '  route_list = * 127.0.0.1',
      '  self = send',
      '  transport = to_receiver',
      'begin transports',
      'to_receiver:',
      '  driver = smtp',
      `  port = ${o.port}`,
      ...(o.pipelining ? [] : ['  hosts_avoid_pipelining = *']),
      ...(o.tls ? ['  hosts_require_tls = *', '  tls_verify_hosts =', '  tls_try_verify_hosts ='] : ['  hosts_avoid_tls = *']),
      'begin retry',
      '* * F,1h,15m',
      '',
    ].join('\n'),
  );
  chmodSync(conf, 0o644);
  const env = { ...process.env, LD_LIBRARY_PATH: libraryPath(root) };
  const exim = join(root, 'usr/sbin/exim4');
  for (const d of deliveries) {
    const [cmd, args] = wrap(exim, ['-C', conf, '-odq', '-oi', '-f', d.from === '' ? '<>' : d.from, d.to]);
    await feed(cmd, args, d.raw, env);
  }
  const [cmd, args] = wrap(exim, ['-C', conf, '-q']);
  await run(cmd, args, { env, timeout: 60_000 });
  const mainlog = join(logs, 'mainlog');
  const log = existsSync(mainlog) ? readFileSync(mainlog, 'utf8') : '';
  const lines = log.split('\n');
  const delivered = lines.filter((l) => / => /.test(l) && /C="250 /.test(l));
  return {
    delivered,
    problems: lines.filter((l) => / (==|\*\*) /.test(l) || /\bdefer|Remote host closed connection/i.test(l)),
    overTls: delivered.filter((l) => / X=TLS/.test(l)).length,
    log,
  };
}

function feed(cmd: string, args: readonly string[], input: Buffer, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
    child.stdin!.end(input);
  });
}

// ---------------------------------------------------------------------------------------------
// Postfix

const POSTFIX_SERVICES = [
  'cleanup   unix  n - n - 0 cleanup',
  'qmgr      unix  n - n 300 1 qmgr',
  'tlsmgr    unix  - - n 1000? 1 tlsmgr',
  'rewrite   unix  - - n - - trivial-rewrite',
  'bounce    unix  - - n - 0 bounce',
  'defer     unix  - - n - 0 bounce',
  'trace     unix  - - n - 0 bounce',
  'verify    unix  - - n - 1 verify',
  'flush     unix  n - n 1000? 0 flush',
  'proxymap  unix  - - n - - proxymap',
  'smtp      unix  - - n - - smtp',
  'relay     unix  - - n - - smtp',
  'showq     unix  n - n - - showq',
  'error     unix  - - n - - error',
  'retry     unix  - - n - - error',
  'discard   unix  - - n - - discard',
  'anvil     unix  - - n - 1 anvil',
  'scache    unix  - - n - 1 scache',
  'postlog   unix-dgram n - n - 1 postlogd',
];

const QUEUE_DIRS = ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'maildrop', 'private', 'public', 'saved', 'trace'];

/**
 * Postfix: its master runs in the foreground with a private configuration; the messages are
 * handed to its own smtpd on a loopback port, and its smtp client relays them to the receiver
 * (`relayhost = [127.0.0.1]:port`). Waits until its log shows every message sent, or a problem.
 */
export async function postfixDelivers(root: string, dir: string, deliveries: readonly Delivery[], o: ClientOptions, inject: (port: number, deliveries: readonly Delivery[]) => Promise<void>): Promise<MtaOutcome> {
  const wrap = sandbox(dir);
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  const maillog = join(dir, 'maillog');
  chmodSync(dir, 0o755);
  mkdirSync(conf, { recursive: true });
  mkdirSync(join(queue, 'pid'), { recursive: true });
  for (const d of QUEUE_DIRS) {
    mkdirSync(join(queue, d), { recursive: true });
    chownSync(join(queue, d), IDS.postfix, d === 'maildrop' || d === 'public' ? IDS.postdrop : IDS.postfix);
    chmodSync(join(queue, d), d === 'maildrop' ? 0o730 : d === 'public' ? 0o710 : 0o700);
  }
  mkdirSync(data, { recursive: true });
  chownSync(data, IDS.postfix, IDS.postfix);
  const smtpdPort = await freePort();
  writeFileSync(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${queue}`,
      `data_directory = ${data}`,
      `command_directory = ${join(root, 'usr/sbin')}`,
      `daemon_directory = ${join(root, 'usr/lib/postfix/sbin')}`,
      `shlib_directory = ${join(root, 'usr/lib/postfix')}`,
      `meta_directory = ${join(root, 'etc/postfix')}`,
      'mail_owner = rebond-postfix',
      'setgid_group = rebond-postdrop',
      'default_privs = nobody',
      'myhostname = mta.interop.example',
      'mydomain = interop.example',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      `relayhost = [127.0.0.1]:${o.port}`,
      'smtp_dns_support_level = disabled',
      'local_transport = error:local delivery is disabled',
      'alias_maps =',
      'alias_database =',
      'biff = no',
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${dir}`,
      'import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH',
      `smtp_tls_security_level = ${o.tls ? 'encrypt' : 'none'}`,
      'smtp_tls_loglevel = 1',
      ...(o.pipelining ? [] : ['smtp_discard_ehlo_keywords = pipelining']),
      'smtpd_tls_security_level = none',
      '',
    ].join('\n'),
  );
  writeFileSync(join(conf, 'master.cf'), [`127.0.0.1:${smtpdPort} inet n - n - - smtpd`, ...POSTFIX_SERVICES, ''].join('\n'));
  const env = { ...process.env, LD_LIBRARY_PATH: libraryPath(root) };
  const postfix = (command: string) => wrap(join(root, 'usr/sbin/postfix'), ['-c', conf, command]);
  // `start-fg`: the master stays in the foreground of its script; `stop` ends it and its children.
  const [cmd, args] = postfix('start-fg');
  const master: ChildProcess = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  master.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const read = () => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '');
  try {
    const up = await waitFor(() => read().includes('daemon started') || master.exitCode !== null, 15_000);
    if (!up || master.exitCode !== null) throw new Error(`postfix did not start: ${stderr}\n${read()}`);
    await inject(smtpdPort, deliveries);
    const problem = /status=(deferred|bounced)|fatal:|panic:/;
    await waitFor(() => (read().match(/ status=sent /g) ?? []).length >= deliveries.length || problem.test(read()), 60_000);
  } finally {
    const [stop, stopArgs] = postfix('stop');
    await run(stop, stopArgs, { env, timeout: 30_000 }).catch(() => undefined);
    if (!(await waitFor(() => master.exitCode !== null || master.signalCode !== null, 15_000))) master.kill('SIGKILL');
  }
  const log = read();
  const lines = log.split('\n');
  const delivered = lines.filter((l) => / status=sent \(250 /.test(l));
  return {
    delivered,
    problems: lines.filter((l) => /status=(deferred|bounced)|fatal:|panic:|lost connection/.test(l)),
    overTls: (log.match(/TLS connection established to 127\.0\.0\.1/g) ?? []).length,
    log,
  };
}

// ---------------------------------------------------------------------------------------------
// OpenSMTPD

/**
 * OpenSMTPD: smtpd in the foreground (`-d`, its log on stderr) with a private configuration.
 * Its spool (/var/spool/smtpd), chroot (/var/lib/opensmtpd/empty) and control socket
 * (/var/run/smtpd.sock) are built into the binary: directories of the test are mounted over
 * /var/spool, /var/lib and /run in its namespace. It takes the messages over SMTP on a loopback
 * port and relays them to the receiver. Its client does not pipeline.
 */
export async function opensmtpdDelivers(root: string, dir: string, deliveries: readonly Delivery[], o: ClientOptions, inject: (port: number, deliveries: readonly Delivery[]) => Promise<void>): Promise<MtaOutcome> {
  chmodSync(dir, 0o755);
  const spool = join(dir, 'spool');
  const lib = join(dir, 'lib');
  const runDir = join(dir, 'run');
  for (const d of [spool, join(lib, 'opensmtpd/empty'), runDir]) mkdirSync(d, { recursive: true });
  const wrap = sandbox(dir, [[spool, '/var/spool'], [lib, '/var/lib'], [runDir, '/run']]);
  const smtpdPort = await freePort();
  const conf = join(dir, 'smtpd.conf');
  const relay = o.tls ? `smtp+tls://127.0.0.1:${o.port} tls no-verify` : `smtp+notls://127.0.0.1:${o.port}`;
  writeFileSync(conf, [`listen on 127.0.0.1 port ${smtpdPort}`, `action "receiver" relay host ${relay}`, 'match from any for any action "receiver"', ''].join('\n'));
  chmodSync(conf, 0o644);
  const env = { ...process.env, LD_LIBRARY_PATH: libraryPath(root) };
  const [cmd, args] = wrap(join(root, 'usr/sbin/smtpd'), ['-d', '-f', conf]);
  const smtpd: ChildProcess = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  smtpd.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const sent = () => (log.match(/ mta delivery .* result="Ok"/g) ?? []).length;
  try {
    const up = await waitFor(() => / starting/.test(log) || smtpd.exitCode !== null, 15_000);
    await new Promise((r) => setTimeout(r, 500)); // its processes set up their listener
    if (!up || smtpd.exitCode !== null) throw new Error(`smtpd did not start: ${log}`);
    await inject(smtpdPort, deliveries);
    await waitFor(() => sent() >= deliveries.length || /result="(TempFail|PermFail|Loop)"/.test(log), 60_000);
  } finally {
    smtpd.kill('SIGTERM');
    if (!(await waitFor(() => smtpd.exitCode !== null || smtpd.signalCode !== null, 10_000))) smtpd.kill('SIGKILL');
  }
  const lines = log.split('\n');
  const delivered = lines.filter((l) => / mta delivery .* result="Ok" stat="250 /.test(l));
  return {
    delivered,
    problems: lines.filter((l) => /result="(TempFail|PermFail|Loop)"|fatal|Remote host closed/i.test(l)),
    overTls: (log.match(/ mta tls ciphers=/g) ?? []).length,
    log,
  };
}

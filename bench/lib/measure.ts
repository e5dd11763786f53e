import { loadavg } from 'node:os';
import { quantile, runLoad, type Prepared } from './generator.js';
import { cpuSeconds, memory, RssSampler } from './proc.js';
import type { Server } from './servers.js';
import { runSmtpSource } from './smtp-source.js';

/** One load run against one server, with the server's memory and CPU time around it. */

export type GeneratorKind = 'own' | 'smtp-source';

export interface Measured {
  readonly target: string;
  readonly generator: GeneratorKind;
  readonly concurrency: number;
  readonly messages: number;
  readonly seconds: number;
  /** Messages answered 250 per second (smtp-source: messages sent per second, when it ran through). */
  readonly rate: number;
  /** Outcome -> messages (own generator only). */
  readonly codes: Record<string, number> | null;
  /** Acknowledgement latency in ms (own generator only). */
  readonly latencyMs: Quantiles | null;
  /** Connect to the 354 before the message, and connect to the end of the session (own generator only). */
  readonly handshakeMs: Quantiles | null;
  readonly sessionMs: Quantiles | null;
  /** Server: peak resident (VmHWM) since it started, and the largest resident size sampled during the run. */
  readonly peakRss: number | null;
  readonly sampledMaxRss: number;
  readonly rssSamples: number;
  readonly serverCpuSeconds: number | null;
  readonly generatorCpuSeconds: number | null;
  readonly loadAverageAfter: readonly number[];
  /** A few replies that were not 250, and smtp-source's output. */
  readonly notes: string[];
}

export interface MeasureOptions {
  readonly target: string;
  readonly generator: GeneratorKind;
  readonly concurrency: number;
  readonly timeoutMs?: number;
}

export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

function quantiles(l: Float64Array): Quantiles {
  let sum = 0;
  for (const v of l) sum += v;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { p50: round(quantile(l, 0.5)), p90: round(quantile(l, 0.9)), p99: round(quantile(l, 0.99)), max: round(l.length ? l[l.length - 1]! : 0), mean: round(l.length ? sum / l.length : 0), count: l.length };
}

export async function measure(server: Server, messages: readonly Prepared[], o: MeasureOptions): Promise<Measured> {
  const cpuBefore = cpuSeconds(server.pid);
  const sampler = new RssSampler(server.pid).start();
  let result: Omit<Measured, 'peakRss' | 'sampledMaxRss' | 'rssSamples' | 'serverCpuSeconds' | 'loadAverageAfter'>;
  if (o.generator === 'own') {
    const r = await runLoad(messages, { port: server.port, concurrency: o.concurrency, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
    result = { target: o.target, generator: 'own', concurrency: o.concurrency, messages: r.messages, seconds: r.seconds, rate: (r.codes['250'] ?? 0) / r.seconds, codes: r.codes, latencyMs: quantiles(r.latencies), handshakeMs: quantiles(r.handshakes), sessionMs: quantiles(r.sessions), generatorCpuSeconds: r.generatorCpuSeconds, notes: r.samples };
  } else {
    const first = messages[0]!;
    const rcpt = /<(.*)>/.exec(first.rcpt[0]!.toString('latin1'))![1]!;
    const r = await runSmtpSource({ port: server.port, concurrency: o.concurrency, count: messages.length, message: first.data, rcpt });
    const ok = r.exitCode === 0;
    result = { target: o.target, generator: 'smtp-source', concurrency: o.concurrency, messages: r.messages, seconds: r.seconds, rate: ok ? r.messages / r.seconds : 0, codes: null, latencyMs: null, handshakeMs: null, sessionMs: null, generatorCpuSeconds: null, notes: ok ? [] : [`smtp-source exited with ${r.exitCode}: ${r.output}`] };
  }
  const sampled = sampler.stop();
  const cpuAfter = cpuSeconds(server.pid);
  return {
    ...result,
    peakRss: memory(server.pid)?.hwm ?? null,
    sampledMaxRss: sampled.maxRss,
    rssSamples: sampled.samples,
    serverCpuSeconds: cpuBefore !== null && cpuAfter !== null ? Math.round((cpuAfter - cpuBefore) * 100) / 100 : null,
    loadAverageAfter: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

/** `250: 19990, 451: 10` */
export function codesLine(codes: Record<string, number> | null): string {
  if (!codes) return '-';
  return Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

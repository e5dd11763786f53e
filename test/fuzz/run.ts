import { parseArgs } from 'node:util';
import { edgeCases } from './messages.js';
import { runFuzz } from './harness.js';

/**
 * `npm run fuzz [-- --cases N --seed S --sessions K]`: hostile messages through a real receiver
 * (see harness.ts). Prints what happened, the time it took and the receiver's peak memory;
 * exits 1 on any failure or when the peak memory is over --max-rss-mb.
 */
const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    sessions: { type: 'string', default: '4' },
    'max-rss-mb': { type: 'string', default: '768' },
    'failure-dir': { type: 'string', default: 'fuzz-failures' },
  },
});
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const cases = Number(values.cases);
const limits = { maxMessageBytes: 10 * 1024 * 1024, maxHeaderBytes: 256 * 1024 };
const fixed = edgeCases(limits);
process.stdout.write(`fuzz: ${cases} generated cases + ${fixed.length} edge cases, seed ${seed}\n`);
let last = 0;
const report = await runFuzz({
  cases,
  seed,
  fixed,
  sessions: Number(values.sessions),
  ...limits,
  failureDir: values['failure-dir'],
  onProgress(done, total) {
    if (done - last >= 1000 || done === total) {
      last = done;
      process.stdout.write(`  ${done}/${total}\n`);
    }
  },
});
const mb = (n: number | null) => (n === null ? 'n/a' : `${(n / 1024 / 1024).toFixed(0)} MiB`);
process.stdout.write(
  [
    `cases: ${report.cases} (${mb(report.bytes)} sent)`,
    `stored: ${report.stored} ${JSON.stringify(report.byStatus)}, redeliveries recognised: ${report.duplicates}, refused over a size limit: ${report.refused}`,
    `duration: ${(report.durationMs / 1000).toFixed(1)} s`,
    `slowest input: case #${report.slowestIndex} (seed ${seed}), ${report.slowestMs} ms: ${report.slowestKind}${report.slowestFile ? ` (${report.slowestFile})` : ''}`,
    `receiver peak RSS: ${mb(report.peakRss)}; exit status ${report.exitCode}`,
    `failures: ${report.failures.length}`,
    ...report.failures.slice(0, 20).map((f) => `  #${f.index} ${f.kind}: ${f.reply}${f.file ? ` (${f.file})` : ''}`),
  ].join('\n') + '\n',
);
const maxRss = Number(values['max-rss-mb']) * 1024 * 1024;
if (report.peakRss !== null && report.peakRss > maxRss) process.stdout.write(`peak RSS over ${values['max-rss-mb']} MiB\n`);
process.exitCode = report.failures.length > 0 || (report.peakRss !== null && report.peakRss > maxRss) ? 1 : 0;

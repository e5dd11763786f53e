/**
 * `npm run screenshot`: the campaign page of a seeded database in headless Chromium, with the
 * pointer on the bounce rate, saved as docs/campaign-page.png (shown in the README).
 */
import { join } from 'node:path';
import { createApp, startServer } from '../src/app.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { silentLogger } from '../src/logger.js';
import { testArf } from './helpers/arf.js';
import { launchBrowser, newContext, signIn } from './helpers/browser.js';
import { testConfig, TEST_TOKEN } from './helpers/config.js';
import { createSqlite } from './helpers/db.js';
import { seedReports } from './helpers/http.js';
import { ROOT } from './helpers/process.js';

const out = process.argv[2] ?? join(ROOT, 'docs', 'campaign-page.png');
const db = createSqlite();
const app = await createApp(testConfig(db.url, { http: { enabled: true, tokens: [TEST_TOKEN] } }), { logger: silentLogger, parse: { decoders: [testArf, ...DECODERS] } });
const server = await startServer(app);
const browser = await launchBrowser();
try {
  await seedReports(app, { sent: 1250, bounces: 58 });
  const base = `http://127.0.0.1:${server.httpAddress!.port}`;
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, base, TEST_TOKEN, '/campaigns/spring-sale');
  await page.hover('[data-testid=bounce-rate]');
  await page.locator('[data-testid=bounced-count]').waitFor({ state: 'visible' });
  await page.setViewportSize({ width: 1100, height: 560 });
  await page.screenshot({ path: out });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
  await server.stop();
  await db.drop();
}

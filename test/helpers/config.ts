import { loadConfig, type Config } from '../../src/config.js';

export const TEST_SECRET = 'test-secret-3f9a1c7e5b2d4f6081a3c5e7f9b1d3e5';
export const TEST_DOMAIN = 'bounces.test.example';
/** An HTTP token for tests that enable the HTTP server (`http: { enabled: true, tokens: [TEST_TOKEN] }`). */
export const TEST_TOKEN = 'test-http-token-7c1e9a3f5b2d4e6f8a0c2e4f6a8b0d2f';

/** A validated config for tests: no defaults file, no environment, port 0, strong secret. */
export function testConfig(databaseUrl: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    skipDefaultsFile: true,
    env: {},
    overrides: deepMerge(
      {
        smtp: { host: '127.0.0.1', port: 0, hostname: 'mx.test.example' },
        verp: { domains: [TEST_DOMAIN], secret: TEST_SECRET },
        database: { url: databaseUrl },
        // Off unless a test turns it on: most tests start only the SMTP listener.
        http: { enabled: false, host: '127.0.0.1', port: 0 },
        log: { level: 'error', format: 'json' },
      },
      overrides,
    ),
  });
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

import { createApp, type App } from './app.js';
import { loadConfig, type Config } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import type { AutomationInput, CampaignInput, ContactStatus, DeliveryInput, DeliveryResult, SendInput, SendReceipt } from './services/pipeline.js';
import type { ReportService } from './services/reports.js';
import type { SuppressionStatus } from './services/suppression.js';

/**
 * The send pipeline's client: one object that owns one database connection (pool), made by
 * `openClient` and released by `close()`. Importing the module does nothing.
 */

export interface ClientOptions {
  /** A configuration from `loadConfig`; without it one is loaded from the options below. */
  readonly config?: Config;
  /** A JSON config file merged over config/default.json (as `--config`). */
  readonly configFile?: string;
  /** Environment variables to read (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Settings merged last, e.g. `{ database: { url: 'postgres://...' } }`. */
  readonly overrides?: Record<string, unknown>;
  /** Where log lines go (default: nowhere). */
  readonly logger?: Logger;
  /** Apply pending schema migrations when opening (default true). */
  readonly migrate?: boolean;
}

export interface RebondClient {
  /** The signed VERP return path for (campaign, contact); nothing is recorded. */
  returnPath(campaignId: string, email: string, domain?: string): string;
  registerAutomation(automation: AutomationInput): Promise<void>;
  registerCampaign(campaign: CampaignInput): Promise<void>;
  /** Creates missing contacts; an existing one is never changed (a bounced contact stays bounced). */
  registerContacts(emails: readonly string[]): Promise<ContactStatus[]>;
  /** Makes the return path of one send and records the send. */
  recordSend(send: SendInput): Promise<SendReceipt>;
  /** The same for many sends, in one transaction. */
  recordSends(sends: readonly SendInput[]): Promise<SendReceipt[]>;
  /** The suppression status of each address, in bulk. */
  checkSuppressions(emails: readonly string[]): Promise<SuppressionStatus[]>;
  isSuppressed(email: string): Promise<boolean>;
  /** A successful delivery: ends the contact's row of soft bounces. */
  reportDelivery(delivery: DeliveryInput): Promise<DeliveryResult>;
  /** The bounce reports, as plain data. */
  readonly reports: ReportService;
  /** Releases the database connection; the client cannot be used afterwards. */
  close(): Promise<void>;
}

export async function openClient(options: ClientOptions = {}): Promise<RebondClient> {
  const config =
    options.config ??
    loadConfig({
      ...(options.configFile !== undefined ? { file: options.configFile } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.overrides !== undefined ? { overrides: options.overrides } : {}),
    });
  const app: App = await createApp(config, { logger: options.logger ?? silentLogger, migrate: options.migrate !== false });
  let closing: Promise<void> | null = null;
  const open = () => {
    if (closing) throw new Error('this rebond client is closed');
    return app;
  };
  return {
    returnPath: (campaignId, email, domain) => open().pipeline.returnPath(campaignId, email, domain),
    registerAutomation: async (a) => open().pipeline.registerAutomation(a),
    registerCampaign: async (c) => open().pipeline.registerCampaign(c),
    registerContacts: async (emails) => open().pipeline.registerContacts(emails),
    recordSend: async (send) => (await open().pipeline.recordSends([send]))[0]!,
    recordSends: async (sends) => open().pipeline.recordSends(sends),
    checkSuppressions: async (emails) => open().suppressions.check(emails),
    isSuppressed: async (email) => open().suppressions.isSuppressed(email),
    reportDelivery: async (d) => open().pipeline.reportDelivery(d),
    reports: app.reports,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

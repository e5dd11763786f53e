/**
 * The rebond library, for a send pipeline written in TypeScript or JavaScript. Importing it has
 * no side effects: nothing is read, opened or started until a function is called.
 */
export { loadConfig, ConfigError, type Config, type LoadOptions } from './config.js';
export {
  encodeReturnPath,
  checkAddress,
  contactKey,
  normaliseEmail,
  makeToken,
  campaignIdMaxLength,
  type VerpSettings,
  type VerpCheck,
} from './domain/verp.js';
export { classifyStatus, type Classification } from './domain/classify.js';
export { STATUS_TABLE, type StatusEntry, type BounceType } from './domain/status-table.js';
export { parseMessage, type ParseOptions } from './dsn/parse.js';
export type { ParsedReport, RecipientReport, ReportKind, StatusSource } from './dsn/types.js';
export { createApp, startServer, type App, type RunningServer } from './app.js';
export { openClient, type RebondClient, type ClientOptions } from './client.js';
export type { AutomationInput, CampaignInput, SendInput, SendReceipt, ContactStatus, DeliveryInput, DeliveryResult } from './services/pipeline.js';
export type { SuppressionStatus, SuppressionRecord, SuppressionPage, SuppressionCursor, SuppressionQuery } from './services/suppression.js';
export type {
  ReportService,
  Totals,
  CampaignSummary,
  CampaignReport,
  AutomationSummary,
  AutomationReport,
  DomainReportRow,
  BouncedContact,
  BouncedContactsOptions,
  CampaignFilter,
  DomainQuery,
} from './services/reports.js';
export type { Page, PageOptions } from './services/paging.js';
export type { SuppressionReason, ContactState } from './domain/contact-rules.js';
export { silentLogger, createLogger, type Logger } from './logger.js';

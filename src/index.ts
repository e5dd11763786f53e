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

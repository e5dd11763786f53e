import type { PageRequest } from '../storage/stores.js';

/** A page of a longer list: its items, how many there are in all, and where the page starts. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export interface PageOptions {
  readonly limit?: number;
  readonly offset?: number;
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** A page request within bounds: 1 to 1000 rows (100 by default), from offset 0 or later. */
export function pageRequest(options: PageOptions = {}): PageRequest {
  const limit = Number.isFinite(options.limit) ? Math.min(MAX_PAGE, Math.max(1, Math.floor(options.limit!))) : DEFAULT_PAGE;
  const offset = Number.isFinite(options.offset) ? Math.max(0, Math.floor(options.offset!)) : 0;
  return { limit, offset };
}

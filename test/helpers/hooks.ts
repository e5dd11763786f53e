import { pgMode, pgUsage } from './db.js';

/**
 * Root hooks. When PostgreSQL is required (REBOND_TEST_PG=required, as in CI), the run fails
 * unless the PostgreSQL suites actually ran.
 */
export const mochaHooks = {
  afterAll(): void {
    if (pgMode() === 'required' && pgUsage.databases === 0) {
      throw new Error('REBOND_TEST_PG=required but no test ran against PostgreSQL');
    }
  },
};

/** The stages `npm run bench:floor` runs alone (see stage-server.ts). */
export const STAGES = ['smtp', 'mime', 'parse'] as const;
export type Stage = (typeof STAGES)[number];

export * from './errors.js';
export * from './schemas.js';
export * from './results-file.js';
export * from './statistics/summary.js';

export * from './errors.js';
export * from './schemas.js';
export * from './results-file.js';
export * from './statistics/summary.js';
export * from './bench-plan.js';
export * from './meter-choice.js';
export * from './analyse-measurement.js';
export * from './results-document.js';

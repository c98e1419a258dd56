// The disclosure report as data (types.ts) and how it is built from results files (run.ts).

export { buildDisclosure, energySourceText } from './run.js';
export * from './types.js';

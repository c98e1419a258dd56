export { main } from './cli.js';
export type { CommandIo } from './io.js';

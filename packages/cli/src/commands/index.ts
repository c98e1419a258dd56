// The command table: each command is loaded only when it is run (STYLE 17). To add a command, add a line here
// and a file in this folder exporting `spec: CommandSpec` and `run(args: ParsedArgs, io: CommandIo): Promise<number>`.
import type { CommandIo } from '../io.js';
import type { CommandSpec, ParsedArgs } from '../options.js';

export interface CommandModule {
  spec: CommandSpec;
  run(args: ParsedArgs, io: CommandIo): Promise<number>;
}

export const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  devices: {
    summary: 'compute devices, meters and what this build compiled in',
    load: () => import('./devices.js'),
  },
  bench: {
    summary: 'measure time and energy per kernel call and per token',
    load: () => import('./bench.js'),
  },
};

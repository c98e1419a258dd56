// The command table: each command is loaded only when it is run. To add a command, add a line here
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
  measure: {
    summary: 'energy, time and average power of any command (etok measure -- CMD ARGS…)',
    load: () => import('./measure.js'),
  },
  profile: {
    summary: 'joules per kernel in an unmodified CUDA program (etok profile -- CMD ARGS…)',
    load: () => import('./profile.js'),
  },
  phi: {
    summary: 'Φ per lever set against a baseline, Shapley attribution and interaction',
    load: () => import('./phi.js'),
  },
  tpf: {
    summary: 'the energy-to-token production function: Q̇, ceilings, binding stave, ρ − ρ*',
    load: () => import('./tpf.js'),
  },
  report: {
    summary: 'energy disclosure (six dimensions): markdown, LaTeX, JSON or HTML with charts',
    load: () => import('./report.js'),
  },
  compare: {
    summary: 'matched configurations across runs or GPUs: J/token and time ratios with CIs',
    load: () => import('./compare.js'),
  },
  fleet: {
    summary: 'run a bench sweep across cluster nodes (Slurm job arrays) and collect it',
    load: () => import('./fleet.js'),
  },
};

// Entry point: pick the command, load it lazily, run it, map any error to one line and an exit status.
import { EtokError, maxOf } from '@etok/core';
import { COMMANDS } from './commands/index.js';
import { describeError, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { type CommandIo, processIo } from './io.js';
import { parseCommandArgs, renderHelp } from './options.js';
import { toolVersion } from './provenance.js';

function topLevelHelp(): string {
  const width = maxOf(Object.keys(COMMANDS).map((k) => k.length)) + 2;
  const lines = [
    'etok — energy-to-token profiler for LLM attention kernels',
    '',
    'usage: etok <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Run 'etok <command> --help' for a command's options.",
  ];
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version') {
    io.stdout.write(`${toolVersion()}\n`);
    return EXIT_OK;
  }
  try {
    const entry = COMMANDS[name];
    if (!entry)
      throw new EtokError(
        'BAD_USAGE',
        `unknown command '${name}'; commands are ${Object.keys(COMMANDS).join(', ')}`,
      );
    const command = await entry.load();
    const args = parseCommandArgs(command.spec, rest);
    if (args.values.help === true) {
      io.stdout.write(renderHelp(command.spec));
      return EXIT_OK;
    }
    return await command.run(args, io);
  } catch (error) {
    io.stderr.write(`${describeError(error)}\n`);
    return exitCodeFor(error);
  }
}

export { EXIT_USAGE };

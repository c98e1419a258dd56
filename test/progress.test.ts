// The progress bar: a terminal that reports zero (or no) columns gets a bar of default width instead of a crash; a
// stream that is not a terminal gets a line per finished step, and nothing when told to stay quiet.
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../packages/cli/src/output/progress.js';

function stream(isTTY: boolean, columns?: number) {
  const written: string[] = [];
  return {
    written,
    s: { isTTY, columns, write: (t: string) => written.push(t) > 0 } as unknown as NodeJS.WritableStream & {
      isTTY?: boolean;
      columns?: number;
    },
  };
}

describe('ProgressBar', () => {
  it('draws and clears on a terminal that reports 0 columns', () => {
    const { s, written } = stream(true, 0);
    const bar = new ProgressBar(s, 4);
    expect(() => {
      bar.update(1, 0.5, 'dense: energy');
      bar.clear();
    }).not.toThrow();
    expect(written.join('')).toMatch(/1\/4/);
  });

  it('writes a line per finished step when stderr is not a terminal, none when quiet', () => {
    const { s, written } = stream(false);
    const bar = new ProgressBar(s, 8);
    bar.update(0, 0.5, 'ignored');
    bar.done(4, '4 lever sets of decode/f32/b1: 4 measured');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\[4\/8, \d+ s\] 4 lever sets of decode\/f32\/b1: 4 measured\n$/);
    const quiet = stream(false);
    new ProgressBar(quiet.s, 8, false).done(4, 'x');
    expect(quiet.written).toHaveLength(0);
  });
});

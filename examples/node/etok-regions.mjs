// Mark regions of a Node program for `etok measure --regions -- node your-script.mjs`.
//
//   import { region } from './etok-regions.mjs';
//   await region('decode', { calls: 100, tokens: 800 }, async () => { for (let i = 0; i < 100; i++) step(); });
//
// Outside etok (ETOK_MARKER_FD unset) region() just runs the function. No dependencies.
import { writeSync } from 'node:fs';

const fd = process.env.ETOK_MARKER_FD ? Number(process.env.ETOK_MARKER_FD) : undefined;

function mark(line) {
  if (fd !== undefined) writeSync(fd, `${line}\n`); // synchronous: the marker leaves before the work starts
}

export async function region(name, { calls, tokens, phase = 'decode' }, fn) {
  if (!(Number.isInteger(calls) && calls > 0 && Number.isInteger(tokens) && tokens > 0))
    throw new Error('calls and tokens must be positive integers');
  mark(`begin ${name} phase=${phase}`);
  try {
    return await fn();
  } finally {
    mark(`end ${name} calls=${calls} tokens=${tokens}`);
  }
}

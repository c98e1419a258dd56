// Reading a file named on the command line: only a regular file, only up to a size etok can hold, and every refusal
// one line naming the file. A device (/dev/zero), a FIFO or a directory is refused before a byte is read, so an input
// that never ends can neither grow etok's memory nor hang it; the file is checked on the open descriptor (fstat), so
// it cannot be swapped between the check and the read.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { EtokError } from '@etok/core';

/** Results files of a full sweep stay well under this (23k measurements ≈ 46 MB). */
export const MAX_INPUT_BYTES = 512 * 2 ** 20;

export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory, not a file';
  if (code === 'ELOOP') return 'a loop of symbolic links';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return (error as Error).message;
}

/** The bytes of a regular file; `what` names it in messages ("results file", "--onnx model"). */
export function readRegularFile(path: string, cwd: string, what: string, maxBytes = MAX_INPUT_BYTES): Buffer {
  const full = resolve(cwd, path);
  let fd: number;
  try {
    // Non-blocking: opening a FIFO with no writer must not hang before the check below refuses it.
    fd = openSync(full, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new EtokError('BAD_USAGE', `cannot read ${what} ${path}: ${openError(error)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new EtokError(
        'BAD_USAGE',
        `cannot read ${what} ${path}: it is ${kindOf(st)}; give a regular file`,
      );
    if (st.size > maxBytes)
      throw new EtokError(
        'BAD_USAGE',
        `cannot read ${what} ${path}: it is ${(st.size / 2 ** 20).toFixed(0)} MiB, above the ${maxBytes / 2 ** 20} MiB etok reads`,
      );
    const buffer = Buffer.alloc(st.size);
    let done = 0;
    while (done < st.size) {
      const n = readSync(fd, buffer, done, st.size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Checks that `path` is a readable regular file without reading it (models larger than any results file). */
export function checkRegularFile(path: string, cwd: string, what: string): string {
  const full = resolve(cwd, path);
  let fd: number;
  try {
    fd = openSync(full, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new EtokError('BAD_USAGE', `${what} ${path}: cannot read it (${openError(error)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new EtokError('BAD_USAGE', `${what} ${path}: cannot read it (it is ${kindOf(st)})`);
  } finally {
    closeSync(fd);
  }
  return full;
}

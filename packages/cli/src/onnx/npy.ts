// Reading NumPy `.npy` files for `etok bench --onnx … --input name=file.npy` (format: numpy's
// doc/neps/nep-0001-npy-format.rst): magic "\x93NUMPY", a version byte pair, a little-endian header length
// (2 bytes in v1, 4 in v2/v3), then an ASCII Python dict {'descr', 'fortran_order', 'shape'} and the raw data.
import { EtokError } from '@etok/core';

export type NpyType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'bool';

export interface NpyArray {
  type: NpyType;
  dims: number[];
  data:
    | Float32Array
    | Float64Array
    | Uint16Array
    | Int8Array
    | Uint8Array
    | Int16Array
    | Int32Array
    | BigInt64Array;
}

const DESCR: Record<string, { type: NpyType; bytes: number }> = {
  f4: { type: 'float32', bytes: 4 },
  f8: { type: 'float64', bytes: 8 },
  f2: { type: 'float16', bytes: 2 },
  i1: { type: 'int8', bytes: 1 },
  u1: { type: 'uint8', bytes: 1 },
  b1: { type: 'bool', bytes: 1 },
  i2: { type: 'int16', bytes: 2 },
  u2: { type: 'uint16', bytes: 2 },
  i4: { type: 'int32', bytes: 4 },
  i8: { type: 'int64', bytes: 8 },
};

function bad(what: string, why: string): never {
  throw new EtokError('BAD_USAGE', `${what} is not a readable .npy file: ${why}`);
}

/** Parses a .npy buffer; `what` names it in errors (e.g. the path). Little-endian, C order only. */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) bad(what, 'no \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) bad(what, `unknown format version ${major}`);
  if (start + headerLength > bytes.length) bad(what, 'header runs past the end of the file');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLength),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    bad(what, `header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (fortran === 'True')
    bad(what, 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const order = descr[0];
  const kind = DESCR[descr.slice(1)];
  if (!kind || !['<', '|', '='].includes(order ?? '') || (order === '|' && kind.bytes > 1))
    bad(what, `dtype '${descr}' is not one of little-endian ${Object.keys(DESCR).join(', ')}`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    bad(what, `shape (${shapeText}) is not a tuple of sizes`);
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset !== count * kind.bytes)
    bad(
      what,
      `holds ${bytes.length - offset} data bytes; shape (${dims.join(', ')}) of ${descr} needs ${count * kind.bytes}`,
    );
  // Copy into an aligned buffer: the data offset need not be a multiple of the element size.
  const raw = Uint8Array.from(bytes.subarray(offset)).buffer;
  const data = {
    float32: () => new Float32Array(raw),
    float64: () => new Float64Array(raw),
    float16: () => new Uint16Array(raw),
    int8: () => new Int8Array(raw),
    uint8: () => new Uint8Array(raw),
    bool: () => new Uint8Array(raw),
    int16: () => new Int16Array(raw),
    uint16: () => new Uint16Array(raw),
    int32: () => new Int32Array(raw),
    int64: () => new BigInt64Array(raw),
  }[kind.type]();
  return { type: kind.type, dims, data };
}

/** Writes a .npy (v1) buffer; used by tests and to save inputs for a rerun. */
export function encodeNpy(array: {
  type: 'float32' | 'int32' | 'int64' | 'uint8';
  dims: number[];
  data: ArrayBufferView;
}): Uint8Array {
  const descr = { float32: '<f4', int32: '<i4', int64: '<i8', uint8: '|u1' }[array.type];
  const shape = array.dims.length === 1 ? `(${array.dims[0]},)` : `(${array.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`; // pad so the data starts 64-byte aligned
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(
    new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength),
    10 + header.length,
  );
  return out;
}

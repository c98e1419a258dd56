// The KV formats of the kv-* levers (docs/spec.md §3; the scheme in packages/kernels/README.md, "KV formats"), written a
// second time in TypeScript from the written scheme, not ported from the C++: the ONNX oracle feeds what these
// produce to graphs that dequantize with ONNX ops, so a disagreement with the native kernels points at one side.
//   int8  per vector: scale = f16(amax / 127), q = clamp(rne(x / scale), −127, 127)
//   fp8   per vector: scale = f16(amax / 448), q = E4M3FN(x / scale), round to nearest even, saturating at 448
//   int4  groups of 32 along the vector: scale = f16(amax / 7), q = clamp(rne(x / scale), −7, 7), stored q + 8;
//         in a group of L values byte j holds value j (low nibble) and value j + L/2 (high nibble)
// Arithmetic is in f32 (Math.fround) as in the kernels; f16 scales are stored as their 16-bit patterns.

export type KvFormat = 'kv-int8' | 'kv-int4' | 'kv-fp8';
export const INT4_GROUP = 32;

/** float → IEEE binary16 bits, round to nearest even, overflow to ±inf (scales are clamped before this). */
export function f16Bits(value: number): number {
  const f = Math.fround(value);
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (Number.isNaN(f)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00; // beyond the largest f16 plus half an ulp
  if (a < 2 ** -24 / 2) return sign; // rounds to zero (exactly half of the smallest subnormal is a tie to 0)
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp -= 1; // log2 rounding guard
  if (2 ** (exp + 1) <= a) exp += 1;
  if (exp < -14) {
    // subnormal: units of 2^-24
    const units = roundHalfEven(a / 2 ** -24);
    return sign | units; // 1024 units carries into the smallest normal, which is the right bit pattern
  }
  const mantissa = roundHalfEven((a / 2 ** exp - 1) * 1024);
  if (mantissa === 1024) {
    exp += 1;
    if (exp > 15) return sign | 0x7c00;
    return sign | ((exp + 15) << 10);
  }
  return sign | ((exp + 15) << 10) | mantissa;
}

export function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; move exact ties to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The 127 non-negative finite E4M3FN values by code 0x00…0x7e (0x7f is NaN). */
const E4M3_VALUES: readonly number[] = Array.from({ length: 0x7f }, (_, code) => {
  const exp = code >> 3;
  const man = code & 7;
  return exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7);
});

export function e4m3Value(code: number): number {
  const v = E4M3_VALUES[code & 0x7f] ?? Number.NaN;
  return code & 0x80 ? -v : v;
}

/** float → E4M3FN code: nearest value, ties to the even code, saturating at ±448. */
export function e4m3Code(value: number): number {
  const sign = value < 0 ? 0x80 : 0;
  const a = Math.abs(value);
  if (a >= 448) return sign | 0x7e;
  let lo = 0;
  let hi = E4M3_VALUES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (E4M3_VALUES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - E4M3_VALUES[lo]!;
  const dHi = E4M3_VALUES[hi]! - a;
  const code = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return code === 0 ? 0 : sign | code;
}

/** A quantized cache of `rows` vectors of `dim` values: the stored bytes and the f16 scale bits. */
export interface QuantizedCache {
  format: KvFormat;
  rows: number;
  dim: number;
  /** int8: Int8Array rows×dim; fp8: Uint8Array of codes rows×dim; int4: Uint8Array rows×dim/2 (packed). */
  values: Int8Array | Uint8Array;
  /** f16 bits, rows × groups (1 group per row for int8 and fp8, ⌈dim/32⌉ for int4). */
  scales: Uint16Array;
  groups: number;
}

function amax(x: Float32Array, begin: number, length: number): number {
  let m = 0;
  for (let i = begin; i < begin + length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

function scaleBits(maxAbs: number, levels: number): number {
  return f16Bits(Math.min(Math.fround(maxAbs / levels), 65504));
}

function level(x: number, scale: number, limit: number): number {
  if (scale === 0) return 0;
  return Math.max(-limit, Math.min(limit, roundHalfEven(Math.fround(x / scale))));
}

export function quantizeRows(format: KvFormat, data: Float32Array, dim: number): QuantizedCache {
  const rows = data.length / dim;
  if (!Number.isInteger(rows)) throw new Error(`quantizeRows: ${data.length} values are not rows of ${dim}`);
  if (format === 'kv-int4') {
    if (dim % 2 !== 0) throw new Error(`kv-int4 needs an even vector length, got ${dim}`);
    const groups = Math.ceil(dim / INT4_GROUP);
    const values = new Uint8Array((rows * dim) / 2);
    const scales = new Uint16Array(rows * groups);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        const begin = r * dim + g * INT4_GROUP;
        const len = Math.min(INT4_GROUP, dim - g * INT4_GROUP);
        const bits = scaleBits(amax(data, begin, len), 7);
        scales[r * groups + g] = bits;
        const scale = f16Value(bits);
        const half = len / 2;
        for (let j = 0; j < half; j++) {
          const lo = level(data[begin + j]!, scale, 7) + 8;
          const hi = level(data[begin + half + j]!, scale, 7) + 8;
          values[(r * dim + g * INT4_GROUP) / 2 + j] = lo | (hi << 4);
        }
      }
    }
    return { format, rows, dim, values, scales, groups };
  }
  const levels = format === 'kv-int8' ? 127 : 448;
  const values = format === 'kv-int8' ? new Int8Array(rows * dim) : new Uint8Array(rows * dim);
  const scales = new Uint16Array(rows);
  for (let r = 0; r < rows; r++) {
    const bits = scaleBits(amax(data, r * dim, dim), levels);
    scales[r] = bits;
    const scale = f16Value(bits);
    for (let d = 0; d < dim; d++) {
      const x = data[r * dim + d]!;
      values[r * dim + d] =
        format === 'kv-int8' ? level(x, scale, 127) : scale === 0 ? 0 : e4m3Code(Math.fround(x / scale));
    }
  }
  return { format, rows, dim, values, scales, groups: 1 };
}

/** The values a quantized cache stands for (stored value × its f16 scale), row-major like the input. */
export function dequantizeRows(cache: QuantizedCache): Float32Array {
  const { rows, dim, groups } = cache;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    if (cache.format === 'kv-int4') {
      for (let g = 0; g < groups; g++) {
        const scale = f16Value(cache.scales[r * groups + g]!);
        const len = Math.min(INT4_GROUP, dim - g * INT4_GROUP);
        const base = r * dim + g * INT4_GROUP;
        for (let j = 0; j < len / 2; j++) {
          const byte = cache.values[base / 2 + j]!;
          out[base + j] = Math.fround(((byte & 15) - 8) * scale);
          out[base + len / 2 + j] = Math.fround(((byte >> 4) - 8) * scale);
        }
      }
      continue;
    }
    const scale = f16Value(cache.scales[r]!);
    for (let d = 0; d < dim; d++) {
      const stored = cache.values[r * dim + d]!;
      out[r * dim + d] = Math.fround((cache.format === 'kv-int8' ? stored : e4m3Value(stored)) * scale);
    }
  }
  return out;
}

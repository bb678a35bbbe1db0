/**
 * A seeded input mutator for the fuzz tests: byte-level mutations (bit flips, interesting values, inserts,
 * deletes, truncation, splicing two inputs, overwriting 32-bit fields) and JSON-aware ones (a value swapped for
 * one of another type or an extreme number, keys removed or renamed, subtrees swapped or duplicated).
 * The same seed gives the same inputs, so a failure names the seed and case that reproduce it.
 */
import { Random } from '../../src/engine/datasets/random';

/** A seeded generator of floats in [0, 1), from the project's own PRNG. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

export type Rng = () => number;
const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x5c];
const INTERESTING_32 = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 31 - 2, 100000];

/** One byte-level mutation of `buf` (never in place). `other` is a second input to splice from. */
export function mutateOnce(input: Uint8Array, r: Rng, other?: Uint8Array): { bytes: Uint8Array; what: string } {
  // A plain copy: a Buffer's slice() is a view of the same memory, and mutating it would corrupt the seed.
  const buf = new Uint8Array(input);
  const n = buf.length;
  const pos = () => (n ? int(r, n) : 0);
  const kind = int(r, 9);
  switch (kind) {
    case 0: {
      if (!n) break;
      const out = buf.slice();
      const i = pos();
      const bit = int(r, 8);
      out[i] ^= 1 << bit;
      return { bytes: out, what: `flip bit ${bit} of byte ${i}` };
    }
    case 1: {
      if (!n) break;
      const out = buf.slice();
      const i = pos();
      const v = pick(r, INTERESTING_8);
      out[i] = v;
      return { bytes: out, what: `byte ${i} = ${v}` };
    }
    case 2: {
      const i = pos();
      const len = 1 + int(r, 16);
      const ins = Uint8Array.from({ length: len }, () => int(r, 256));
      const out = new Uint8Array(n + len);
      out.set(buf.subarray(0, i));
      out.set(ins, i);
      out.set(buf.subarray(i), i + len);
      return { bytes: out, what: `insert ${len} bytes at ${i}` };
    }
    case 3: {
      if (!n) break;
      const i = pos();
      const len = 1 + int(r, Math.min(64, n - i));
      const out = new Uint8Array(n - len);
      out.set(buf.subarray(0, i));
      out.set(buf.subarray(i + len), i);
      return { bytes: out, what: `delete ${len} bytes at ${i}` };
    }
    case 4: {
      const at = pos();
      return { bytes: buf.slice(0, at), what: `truncate to ${at} bytes` };
    }
    case 5: {
      if (!other || !other.length) break;
      const a = pos();
      const b = int(r, other.length);
      const out = new Uint8Array(a + other.length - b);
      out.set(buf.subarray(0, a));
      out.set(other.subarray(b), a);
      return { bytes: out, what: `splice at ${a} with the other input from ${b}` };
    }
    case 6: {
      if (n < 4) break;
      const out = buf.slice();
      // Header fields (counts, sizes, offsets) sit early: bias toward the first 64 bytes.
      const i = r() < 0.7 ? int(r, Math.min(n - 3, 64)) : int(r, n - 3);
      const v = pick(r, INTERESTING_32);
      const be = r() < 0.5;
      new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(i, v, !be);
      return { bytes: out, what: `uint32 ${be ? 'BE' : 'LE'} at ${i} = ${v}` };
    }
    case 7: {
      if (!n) break;
      const i = pos();
      const len = 1 + int(r, Math.min(32, n - i));
      const chunk = buf.subarray(i, i + len);
      const j = pos();
      const out = new Uint8Array(n + len);
      out.set(buf.subarray(0, j));
      out.set(chunk, j);
      out.set(buf.subarray(j), j + len);
      return { bytes: out, what: `duplicate ${len} bytes from ${i} at ${j}` };
    }
    case 8: {
      if (!n) break;
      const out = buf.slice();
      const i = pos();
      const len = 1 + int(r, Math.min(32, n - i));
      for (let k = i; k < i + len; k++) out[k] = int(r, 256);
      return { bytes: out, what: `randomize ${len} bytes at ${i}` };
    }
  }
  return { bytes: buf.slice(0, Math.max(0, n - 1)), what: 'drop the last byte' };
}

/** 1–3 stacked byte mutations. */
export function mutateBytes(buf: Uint8Array, r: Rng, other?: Uint8Array): { bytes: Uint8Array; what: string } {
  let bytes = buf;
  const what: string[] = [];
  const times = 1 + int(r, 3);
  for (let i = 0; i < times; i++) {
    const m = mutateOnce(bytes, r, other);
    bytes = m.bytes;
    what.push(m.what);
  }
  return { bytes, what: what.join('; ') };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values a careless edit or a hostile file could put anywhere. */
const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  0.5,
  -0.5,
  2 ** 31,
  -(2 ** 31),
  2 ** 53,
  1e308,
  -1e308,
  1e-320,
  3.5,
  100000,
  '',
  ' ',
  'x',
  '0',
  '-1',
  '../../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '\u0000',
  'é€😀',
  'a'.repeat(5000),
  [],
  [null],
  [0],
  [-1, -1, -1],
  [1e9, 1e9],
  {},
  { a: 1 },
  JSON.parse('{"__proto__": {"polluted": 1}}'),
  { constructor: { prototype: {} } },
];

/** All container paths in a JSON value, e.g. `[['layers', 0, 'units'], ...]`. */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...prefix, k], out);
  return out;
}

function get(v: Json, p: (string | number)[]): Json {
  let cur: any = v;
  for (const k of p) cur = cur?.[k];
  return cur;
}

function set(v: Json, p: (string | number)[], value: Json | undefined): Json {
  if (!p.length) return value === undefined ? null : value;
  const parent: any = get(v, p.slice(0, -1));
  const key = p[p.length - 1];
  // An earlier mutation may have replaced the parent by a primitive: nothing left to set there.
  if (parent === null || typeof parent !== 'object') return v;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = value;
  return v;
}

/** One JSON-aware mutation of `text` (a JSON document); falls back to bytes when it does not parse. */
export function mutateJson(text: string, r: Rng): { text: string; what: string } {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch {
    const m = mutateBytes(new TextEncoder().encode(text), r);
    return { text: new TextDecoder().decode(m.bytes), what: m.what };
  }
  const all = paths(doc);
  const times = 1 + int(r, 3);
  const what: string[] = [];
  for (let t = 0; t < times; t++) {
    const ps = paths(doc);
    const p = ps.length > 1 ? pick(r, ps.slice(1)) : pick(r, all);
    const label = p.join('.') || '(root)';
    const kind = int(r, 7);
    if (kind <= 2) {
      const v = structuredClone(pick(r, ODD_VALUES));
      doc = set(doc, p, v);
      what.push(`${label} = ${JSON.stringify(v)?.slice(0, 40)}`);
    } else if (kind === 3) {
      doc = set(doc, p, undefined);
      what.push(`remove ${label}`);
    } else if (kind === 4) {
      const q = pick(r, ps);
      const a = structuredClone(get(doc, p));
      const b = structuredClone(get(doc, q));
      if (a === undefined || b === undefined || q.length === 0) continue;
      // Swapping a node with its own ancestor would lose it: only swap disjoint subtrees.
      if (q.join('\u0001').startsWith(p.join('\u0001')) || p.join('\u0001').startsWith(q.join('\u0001'))) continue;
      doc = set(doc, p, b);
      doc = set(doc, q, a);
      what.push(`swap ${label} <-> ${q.join('.')}`);
    } else if (kind === 5) {
      const v = get(doc, p);
      if (typeof v === 'number') {
        const nv = pick(r, [v * 1000, -v, v + 1, v - 1, Math.floor(v / 2), v * 2 ** 20]);
        doc = set(doc, p, nv);
        what.push(`${label}: ${v} -> ${nv}`);
      } else if (Array.isArray(v)) {
        const nv = r() < 0.5 ? [...v, ...structuredClone(v)] : v.slice(0, int(r, v.length + 1));
        doc = set(doc, p, nv);
        what.push(`${label}: array length ${v.length} -> ${nv.length}`);
      } else if (typeof v === 'string') {
        const nv = pick(r, [v + v, v.slice(1), v.toUpperCase(), `${v}/..`, `../${v}`]);
        doc = set(doc, p, nv);
        what.push(`${label}: "${v.slice(0, 20)}" -> "${nv.slice(0, 20)}"`);
      }
    } else {
      const parent = get(doc, p.slice(0, -1));
      const key = p[p.length - 1];
      if (parent && typeof parent === 'object' && !Array.isArray(parent) && typeof key === 'string') {
        const nk = pick(r, [key.toUpperCase(), `${key}_`, key.slice(1), 'extra']);
        const val = parent[key];
        delete parent[key];
        parent[nk] = val;
        what.push(`rename key ${label} -> ${nk}`);
      }
    }
  }
  let out = JSON.stringify(doc);
  if (r() < 0.15) {
    const m = mutateOnce(new TextEncoder().encode(out), r);
    out = new TextDecoder().decode(m.bytes);
    what.push(m.what);
  }
  return { text: out, what: what.join('; ') || 'no-op' };
}

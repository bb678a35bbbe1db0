/**
 * Pixels on their way to the webview: exact-size buffers (`toPixels`), and every buffer of a host message
 * packed into one (`packMessage`/`unpackMessage`, see `PackedMessage` for why).
 */
import type { Pixels } from './webviewProtocol';

/** Copies a typed array's bytes into an exact-size ArrayBuffer (a view of a larger buffer would send it whole). */
export function toPixels(shape: number[], data: Float32Array): Pixels {
  const exact = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  return {
    shape: [...shape],
    data: exact ? (data.buffer as ArrayBuffer) : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer),
  };
}

// ---- one buffer per message --------------------------------------------------------------------------------------------

/**
 * A host message with every `ArrayBuffer` in it packed into one. VS Code's extension-host RPC counts the
 * arguments of `$postMessage` (handle, JSON, then one per transferred buffer) in a single byte, so a message
 * with 254 or more buffers arrives with all but `count mod 256` of them `undefined`: a layer page of 512
 * weight tiles painted 2. One buffer per message whatever its size avoids the limit (and is also faster).
 */
export interface PackedMessage {
  type: 'packed';
  /** The message, each ArrayBuffer replaced by a `BufferRef` into `buffer`. */
  body: unknown;
  buffer: ArrayBuffer;
}
/** Where one packed ArrayBuffer sits in `PackedMessage.buffer`. */
export interface BufferRef {
  $buffer: [offset: number, byteLength: number];
}

/** Replaces every ArrayBuffer (and typed array) reachable from `m` by a reference into one packed buffer. */
export function packMessage<T>(m: T): PackedMessage {
  const parts: Uint8Array[] = [];
  let size = 0;
  const walk = (v: unknown): unknown => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const offset = size;
      parts.push(bytes);
      // 8-byte aligned, so the webview may also view a part in place as Float32Array or Float64Array.
      size += Math.ceil(bytes.byteLength / 8) * 8;
      return { $buffer: [offset, bytes.byteLength] } satisfies BufferRef;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const body = walk(m);
  const buffer = new ArrayBuffer(size);
  const all = new Uint8Array(buffer);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += Math.ceil(p.byteLength / 8) * 8;
  }
  return { type: 'packed', body, buffer };
}

function isBufferRef(v: unknown): v is BufferRef {
  const r = (v as BufferRef | null)?.$buffer;
  return Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && Object.keys(v as object).length === 1;
}

/** The message `packMessage` packed, each part an exact-size ArrayBuffer again; throws when a part is out of range. */
export function unpackMessage(p: PackedMessage): unknown {
  const { buffer } = p;
  if (!(buffer instanceof ArrayBuffer)) throw new Error('packed message without its buffer');
  const walk = (v: unknown): unknown => {
    if (isBufferRef(v)) {
      const [offset, length] = v.$buffer;
      if (offset < 0 || length < 0 || offset + length > buffer.byteLength)
        throw new Error(`packed part [${offset}, ${offset + length}) outside a buffer of ${buffer.byteLength} bytes`);
      return buffer.slice(offset, offset + length);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(p.body);
}

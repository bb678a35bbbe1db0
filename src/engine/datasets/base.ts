import type { Split } from '../../shared/protocol';
import { check } from '../runtime/errors';
import type { ByteSource } from './bytes';
import type { Batch, Dataset } from './dataset';

/**
 * What the readers share: batching and gathering over a reader of contiguous index ranges.
 * Subclasses implement `readRange(start, end)` → `[end - start, h, w, c]` float32 in [0, 1].
 */
export abstract class RangeDataset implements Dataset {
  abstract readonly source: string;
  abstract readonly split: Split;
  abstract readonly size: number;
  abstract readonly shape: [number, number, number];
  abstract readonly classes: string[];
  abstract readonly labels: Int32Array;
  abstract readonly hash: string;

  protected abstract readRange(start: number, end: number): Promise<Float32Array>;

  get imageSize(): number {
    return this.shape[0] * this.shape[1] * this.shape[2];
  }

  async *batches(batchSize: number, start = 0, end = this.size): AsyncIterable<Batch> {
    check(Number.isInteger(batchSize) && batchSize > 0, `Batch size must be a positive whole number, not ${batchSize}.`);
    end = Math.min(end, this.size);
    // One batch ahead: the next read (file I/O off the main thread) runs while the caller computes.
    const read = (s: number) => {
      const p = this.readRange(s, Math.min(end, s + batchSize));
      p.catch(() => {}); // awaited below; not unhandled if the caller stops early
      return p;
    };
    let next = Math.max(0, start) < end ? read(Math.max(0, start)) : undefined;
    for (let s = Math.max(0, start); s < end; s += batchSize) {
      const e = Math.min(end, s + batchSize);
      const images = await next!;
      next = e < end ? read(e) : undefined;
      const indices = new Int32Array(e - s);
      for (let i = 0; i < indices.length; i++) indices[i] = s + i;
      yield { images, labels: this.labels.slice(s, e), indices, count: e - s };
    }
  }

  /** Reads runs of consecutive indices with one `readRange` each, so a sorted gather costs few reads. */
  async gather(indices: ArrayLike<number>): Promise<Batch> {
    const n = indices.length;
    const size = this.imageSize;
    const images = new Float32Array(n * size);
    const labels = new Int32Array(n);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = indices[i];
      check(
        Number.isInteger(k) && k >= 0 && k < this.size,
        `Image index ${k} is out of range: the ${this.split} split of ${this.source} has ${this.size} images.`,
      );
      idx[i] = k;
      labels[i] = this.labels[k];
    }
    let i = 0;
    while (i < n) {
      let j = i + 1;
      while (j < n && idx[j] === idx[j - 1] + 1) j++;
      images.set(await this.readRange(idx[i], idx[j - 1] + 1), i * size);
      i = j;
    }
    return { images, labels, indices: idx, count: n };
  }
}

/** Where an array file's images lie (IDX, NPY): their byte offset, bytes per value, and the decoder to [0, 1]. */
export interface ArrayLayout {
  offset: number;
  bytes: number;
  decode(raw: Uint8Array): Float32Array;
}

/** A split whose images are one row-major array in a file, read by offsets; its labels are read whole. */
export class ArrayFileDataset extends RangeDataset {
  constructor(
    readonly source: string,
    readonly split: Split,
    readonly size: number,
    readonly shape: [number, number, number],
    readonly classes: string[],
    readonly labels: Int32Array,
    readonly hash: string,
    private readonly images: ByteSource,
    private readonly layout: ArrayLayout,
  ) {
    super();
  }

  protected async readRange(start: number, end: number): Promise<Float32Array> {
    const size = this.imageSize * this.layout.bytes;
    return this.layout.decode(await this.images.read(this.layout.offset + start * size, (end - start) * size));
  }
}

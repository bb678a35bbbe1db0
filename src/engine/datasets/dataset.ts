import type { Split } from '../../shared/protocol';

/** One batch of images: `images` is `[count, h, w, c]` float32 in [0, 1], row-major. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  /** Dataset indices of the images in this batch. */
  indices: Int32Array;
  count: number;
}

/**
 * A split of a dataset, read in batches so a large dataset never sits in memory whole.
 * Every reader (IDX, image folder, NPY, the EFL generator) implements this.
 */
export interface Dataset {
  /** The file or folder it reads (or a description for generators), for messages. */
  readonly source: string;
  readonly split: Split;
  /** Number of images. */
  readonly size: number;
  /** `[h, w, c]`. */
  readonly shape: [number, number, number];
  readonly classes: string[];
  /** Every image's label, in index order (cheap: labels are small). */
  readonly labels: Int32Array;
  /** A digest of the content (files' bytes or generator parameters) that keys the top-activation index. */
  readonly hash: string;
  /** Batches of `batchSize` images over `[start, end)` (default the whole split), in index order. */
  batches(batchSize: number, start?: number, end?: number): AsyncIterable<Batch>;
  /** The images with these indices, in the order given. */
  gather(indices: ArrayLike<number>): Promise<Batch>;
}

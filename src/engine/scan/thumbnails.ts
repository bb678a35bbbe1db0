import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Split } from '../../shared/protocol';
import type { Rgb } from '../png/figureColors';
import { check } from '../runtime/errors';
import { writeFilesAtomic } from '../runtime/fsutil';
import { openDataset, readLens } from '../lens/lens';
import { Canvas } from '../png/pngCanvas';

/**
 * Small PNG files of dataset images, for tree-item icons (VS Code shows those from files, not data URIs).
 * Each image `[h, w, c]` float32 in [0, 1] is written as 8-bit gray (c = 1) or RGB at its own size, into
 * `outDir`, named by the dataset's content hash and the index, so an existing file is reused as it is.
 * Returns the absolute paths, in the order of `indices`.
 */
export async function thumbnails(lensPath: string, indices: number[], outDir: string, split: Split = 'test'): Promise<string[]> {
  check(Array.isArray(indices) && indices.length <= 256, 'thumbnails: give at most 256 image indices.');
  const lens = await readLens(lensPath);
  const ds = await openDataset(lens, split);
  for (const i of indices)
    check(Number.isInteger(i) && i >= 0 && i < ds.size, `Image index ${i} is out of range: the ${split} split has ${ds.size} images.`, lens.path);
  const key = crypto.createHash('sha256').update(`${ds.hash}:${split}`).digest('hex').slice(0, 16);
  const files = indices.map((i) => path.join(outDir, 'thumbnails', `${key}-${i}.png`));
  const missing = indices.filter((_, k) => !fs.existsSync(files[k]));
  if (missing.length) {
    const batch = await ds.gather(missing);
    const [h, w, c] = ds.shape;
    const writes = missing.map((index, k) => {
      const image = batch.images.subarray(k * h * w * c, (k + 1) * h * w * c);
      const canvas = new Canvas(w, h);
      if (c === 3) canvas.blitRgb(0, 0, image, h, w, 1);
      else
        canvas.blit(
          0,
          0,
          Float32Array.from({ length: h * w }, (_, p) => image[p * c]),
          h,
          w,
          1,
          gray,
        );
      return { path: files[indices.indexOf(index)], data: new Uint8Array(canvas.toPng()) };
    });
    await writeFilesAtomic(writes);
  }
  return files;
}

/** A value in [0, 1] as a gray level (clamped). */
function gray(v: number): Rgb {
  const b = Math.round(255 * Math.min(1, Math.max(0, v)));
  return [b, b, b];
}

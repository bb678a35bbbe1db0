import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { Split } from '../shared/protocol';
import { check } from './errors';
import { writeFilesAtomic } from './fsutil';
import { openDataset, readLens } from './lens';

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
  for (const i of indices) check(Number.isInteger(i) && i >= 0 && i < ds.size, `Image index ${i} is out of range: the ${split} split has ${ds.size} images.`, lens.path);
  const key = crypto.createHash('sha256').update(`${ds.hash}:${split}`).digest('hex').slice(0, 16);
  const files = indices.map((i) => path.join(outDir, 'thumbnails', `${key}-${i}.png`));
  const missing = indices.filter((_, k) => !fs.existsSync(files[k]));
  if (missing.length) {
    const batch = await ds.gather(missing);
    const [h, w, c] = ds.shape;
    const writes = missing.map((index, k) => {
      const png = new PNG({ width: w, height: h });
      const base = k * h * w * c;
      for (let p = 0; p < h * w; p++) {
        for (let ch = 0; ch < 3; ch++) {
          const v = batch.images[base + p * c + (c === 3 ? ch : 0)];
          png.data[p * 4 + ch] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
        png.data[p * 4 + 3] = 255;
      }
      return { path: files[indices.indexOf(index)], data: new Uint8Array(PNG.sync.write(png)) };
    });
    await writeFilesAtomic(writes);
  }
  return files;
}

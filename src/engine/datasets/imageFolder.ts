/**
 * A folder of images with one subfolder per class (`root/<class>/**.png|jpg`), resized to `[h, w]`,
 * gray or RGB, alpha composited on white. The train/test split is drawn per class with a seeded shuffle,
 * so it is the same on every run and machine. Images are decoded on demand and kept (decoded) while they
 * fit a memory budget.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Split } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import { readInputFile } from '../runtime/fsutil';
import { RangeDataset } from './base';
import { decodeImage, imageKind, toPixels } from './image';
import { Random, seedOf } from './random';

export interface ImageFolderOptions {
  root: string;
  size: [number, number];
  channels: 1 | 3;
  testFraction: number;
  seed: number;
  fit?: 'contain' | 'stretch';
  /** Class folder names to use, in label order (default: every subfolder, sorted). */
  classes?: string[];
}

const CACHE_BYTES = 512 * 2 ** 20;
/** Image files larger than this are refused before they are read. */
export const MAX_IMAGE_BYTES = 256 * 2 ** 20;

interface Entry {
  file: string;
  label: number;
}

/** Lists and checks the folder: every file must be a non-empty PNG or JPEG (the message names the one that is not). */
async function listImageFolder(opts: ImageFolderOptions): Promise<{ classes: string[]; entries: Entry[]; stamp: string }> {
  const { root } = opts;
  let dirents: fs.Dirent[];
  try {
    dirents = await fs.promises.readdir(root, { withFileTypes: true });
  } catch {
    throw new UserError('notFound', 'image folder not found.', root);
  }
  const folders = dirents
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  const classes = opts.classes ?? folders;
  if (classes.length < 2) throw new UserError('badInput', `needs one subfolder per class (at least 2); found ${folders.length}.`, root);
  for (const c of classes) if (!folders.includes(c)) throw new UserError('notFound', `has no subfolder "${c}" for that class.`, root);
  const entries: Entry[] = [];
  const stamp: string[] = [];
  for (let label = 0; label < classes.length; label++) {
    const files = (await walk(path.join(root, classes[label]))).sort();
    if (files.length === 0) throw new UserError('badInput', `class folder "${classes[label]}" has no images.`, root);
    for (const file of files) {
      const stat = await fs.promises.stat(file);
      if (stat.size === 0) throw new UserError('badInput', 'is an empty file (0 bytes), not an image. Remove it from the image folder.', file);
      const fh = await fs.promises.open(file, 'r');
      const head = Buffer.alloc(4);
      try {
        await fh.read(head, 0, 4, 0);
      } finally {
        await fh.close();
      }
      if (!imageKind(head))
        throw new UserError(
          'badInput',
          'is not a PNG or JPEG image. Remove it from the image folder (every file under a class folder is read as an image).',
          file,
        );
      entries.push({ file, label });
      stamp.push(`${path.relative(root, file)}\0${stat.size}\0${stat.mtimeMs}`);
    }
  }
  return { classes, entries, stamp: stamp.join('\n') };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fs.promises.readdir(dir, { withFileTypes: true })) {
    if (d.name.startsWith('.')) continue;
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await walk(p)));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

export class ImageFolderDataset extends RangeDataset {
  readonly shape: [number, number, number];
  private readonly decoded = new Map<number, Float32Array>();
  private cachedBytes = 0;

  private constructor(
    readonly source: string,
    readonly split: Split,
    readonly classes: string[],
    private readonly entries: Entry[],
    readonly labels: Int32Array,
    readonly hash: string,
    private readonly opts: ImageFolderOptions,
  ) {
    super();
    this.shape = [opts.size[0], opts.size[1], opts.channels];
  }

  get size(): number {
    return this.entries.length;
  }

  /** The file behind image `index` (for messages and the UI). */
  fileOf(index: number): string {
    return this.entries[index].file;
  }

  static async open(opts: ImageFolderOptions, split: Split): Promise<ImageFolderDataset> {
    const { classes, entries, stamp } = await listImageFolder(opts);
    const chosen: Entry[] = [];
    for (let label = 0; label < classes.length; label++) {
      const mine = entries.filter((e) => e.label === label);
      const order = new Random(seedOf(opts.seed, label)).shuffle(mine.map((_, i) => i));
      const nTest = Math.round(mine.length * opts.testFraction);
      const pick = new Set(split === 'test' ? order.slice(0, nTest) : order.slice(nTest));
      mine.forEach((e, i) => pick.has(i) && chosen.push(e));
    }
    const hash = crypto
      .createHash('sha256')
      .update(
        JSON.stringify({ size: opts.size, channels: opts.channels, fit: opts.fit ?? 'contain', testFraction: opts.testFraction, seed: opts.seed, classes }),
      )
      .update(stamp)
      .digest('hex');
    return new ImageFolderDataset(
      opts.root,
      split,
      classes,
      chosen,
      Int32Array.from(chosen, (e) => e.label),
      `imageFolder:${split}:${hash}`,
      opts,
    );
  }

  protected async readRange(start: number, end: number): Promise<Float32Array> {
    const size = this.imageSize;
    const out = new Float32Array((end - start) * size);
    for (let i = start; i < end; i++) out.set(await this.pixels(i), (i - start) * size);
    return out;
  }

  private async pixels(index: number): Promise<Float32Array> {
    const hit = this.decoded.get(index);
    if (hit) return hit;
    const { file } = this.entries[index];
    const img = decodeImage(await readInputFile(file, { what: 'image', maxBytes: MAX_IMAGE_BYTES }), file);
    const px = toPixels(img, this.shape[0], this.shape[1], this.opts.channels, this.opts.fit);
    if (this.cachedBytes + px.byteLength <= CACHE_BYTES) {
      this.decoded.set(index, px);
      this.cachedBytes += px.byteLength;
    }
    return px;
  }
}

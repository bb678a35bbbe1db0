/**
 * The node time-lapse as an animated GIF (`feature-lens timelapse --gif`, the `timelapseGif` request behind the
 * node page's Export): one frame per checkpoint, the epoch written at the top left over a bar showing how far
 * through the series it is, the node's weights then (as `render` draws them) beside its top images with their
 * feature maps and projections. The weights share one colour scale over all frames.
 */
import type { TimelapseFrame } from '../../shared/protocol';
import { topCanvas, weightsCanvas } from '../png/nodeFigures';
import { encodeGif } from '../png/gifAnimation';
import { Canvas } from '../png/pngCanvas';
import { writeFilesAtomic } from '../runtime/fsutil';
import type { Job } from '../runtime/job';
import { timelapse, type TimelapseOptions } from './timelapse';

/** How long each checkpoint stays on screen, by default. */
export const GIF_DELAY_MS = 800;
const PAD = 8;
const HEAD = 30;

/**
 * One frame: the epoch and the series bar, then weights | top images. `weightRange`: one colour scale for the
 * weights of every frame (so a colour means the same weight throughout the animation); default the frame's.
 */
export function gifFrame(f: TimelapseFrame, position: number, count: number, weightRange?: { min: number; max: number }): Canvas {
  const r = weightRange ?? f.weights;
  const w = f.weights && r ? weightsCanvas(f.weights.tiles[0], f.weights.rgb, r.min, r.max) : undefined;
  const top = f.items?.length
    ? topCanvas(f.items.map((i) => ({ index: i.entry.index, image: i.image, map: i.featureMap, projection: i.projection })))
    : undefined;
  const parts = [w, top].filter((c): c is Canvas => !!c);
  const width = Math.max(160, parts.reduce((a, c) => a + c.width, 0) + PAD);
  const height = HEAD + Math.max(0, ...parts.map((c) => c.height));
  const cv = new Canvas(width, height);
  cv.text(PAD, PAD, `e ${f.epoch}`, 3);
  // How far through the series: a bar under the epoch.
  const barW = width - 2 * PAD;
  cv.fill(PAD, HEAD - 6, barW, 3, [220, 220, 220]);
  cv.fill(PAD, HEAD - 6, Math.max(3, Math.round((barW * (position + 1)) / count)), 3, [33, 102, 172]);
  let x = 0;
  for (const p of parts) {
    for (let y = 0; y < p.height; y++)
      for (let c = 0; c < p.width; c++) {
        const i = (y * p.width + c) * 3;
        cv.set(x + c, HEAD + y, [p.data[i], p.data[i + 1], p.data[i + 2]]);
      }
    x += p.width;
  }
  return cv;
}

/** Writes the animated GIF of the node at every checkpoint to `file` (atomically); returns what it wrote. */
export async function writeTimelapseGif(
  opts: TimelapseOptions & { file: string; delayMs?: number },
  job: Job,
): Promise<{ file: string; frames: number; bytes: number }> {
  const result = await timelapse({ ...opts, method: opts.method ?? 'deconv', checkpoint: undefined }, job);
  const ws = result.frames.flatMap((f) => (f.weights ? [f.weights] : []));
  const range = ws.length ? { min: Math.min(...ws.map((w) => w.min)), max: Math.max(...ws.map((w) => w.max)) } : undefined;
  const frames = result.frames.map((f, i) => gifFrame(f, i, result.frames.length, range));
  job.throwIfCancelled();
  const data = encodeGif(frames, opts.delayMs ?? GIF_DELAY_MS);
  await writeFilesAtomic([{ path: opts.file, data }]);
  return { file: opts.file, frames: frames.length, bytes: data.byteLength };
}

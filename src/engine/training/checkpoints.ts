/**
 * Checkpoint series: the weights of one network at several moments of its training.
 *
 * - Written by training when the recipe says `"checkpoints": {"every": N}` (every N-th epoch) or
 *   `"checkpoints": [1, 2, 5]` (those epochs): each is a TF.js Layers model (the weights at the end of that
 *   epoch, no optimizer state) `<model dir>/<model stem>-checkpoints/epoch-<n>.json` with its shard. During the
 *   run they go to a temporary folder, which replaces the checkpoint folder only once the trained model is saved
 *   (a cancelled or failed run, or a dropped restart attempt, leaves the previous checkpoints as they were); the
 *   training results list them (`TrainResult.checkpoints`).
 * - Named by a lens file: `"checkpoints": "ckpt/epoch-*.onnx"` (a pattern relative to the lens file; `*` and `?`
 *   match within one path segment, in any segment, e.g. `"run-*\/model.json"`): the user's own model files of
 *   one architecture, ordered by the numbers in their paths (epoch-2 before epoch-10).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainResult } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import { readResultsFile, type Lens } from '../lens/lens';
import { saveModel } from '../models/modelIO';
import type { Recipe } from './recipes';
import type * as tf from '../runtime/tf';

export type Checkpoint = NonNullable<TrainResult['checkpoints']>[number];

/** The epochs (1-based) a recipe keeps. */
export function checkpointEpochs(recipe: Recipe): Set<number> {
  const c = recipe.checkpoints;
  const out = new Set<number>();
  if (!c) return out;
  if (c.every) for (let e = c.every; e <= recipe.epochs; e += c.every) out.add(e);
  for (const e of c.epochs ?? []) if (e <= recipe.epochs) out.add(e);
  return out;
}

/** The folder a model's checkpoints live in. */
export function checkpointDir(modelPath: string): string {
  return path.join(path.dirname(modelPath), `${path.basename(modelPath, '.json')}-checkpoints`);
}

/** Writes a training run's checkpoints into a temporary folder and moves them into place on `commit`. */
export class CheckpointWriter {
  private readonly final: string;
  private readonly temp: string;
  private saved: Checkpoint[] = [];

  constructor(
    modelPath: string,
    private readonly epochs: Set<number>,
  ) {
    this.final = checkpointDir(modelPath);
    this.temp = `${this.final}.${process.pid}.${Date.now().toString(36)}.tmp`;
  }

  /** Forgets what an earlier attempt wrote (a restart). */
  async reset(): Promise<void> {
    await fs.promises.rm(this.temp, { recursive: true, force: true });
    this.saved = [];
  }

  /** Keeps the model's weights when `epoch` (1-based) is one the recipe names. */
  async epochEnd(model: tf.LayersModel, epoch: number): Promise<void> {
    if (!this.epochs.has(epoch)) return;
    await fs.promises.mkdir(this.temp, { recursive: true });
    const name = `epoch-${epoch}.json`;
    const { weightsHash } = await saveModel(model, path.join(this.temp, name), { featureLens: { epoch } });
    this.saved.push({ epoch, model: path.join(this.final, name), weightsHash });
  }

  /** Replaces the checkpoint folder by this run's; returns the checkpoints (absolute paths). */
  async commit(): Promise<Checkpoint[]> {
    const old = `${this.final}.${process.pid}.old`;
    await fs.promises.rm(old, { recursive: true, force: true });
    if (fs.existsSync(this.final)) await fs.promises.rename(this.final, old);
    await fs.promises.rename(this.temp, this.final);
    await fs.promises.rm(old, { recursive: true, force: true });
    return this.saved;
  }

  /** Removes the temporary folder (a failed or cancelled run). */
  async discard(): Promise<void> {
    await fs.promises.rm(this.temp, { recursive: true, force: true });
  }
}

/** Paths matching `pattern` (absolute; `*` and `?` within a segment), in natural order (numbers compared as numbers). */
export async function globFiles(pattern: string): Promise<string[]> {
  const parts = path.resolve(pattern).split(path.sep);
  const first = parts.findIndex((p) => /[*?]/.test(p));
  if (first < 0) return fs.existsSync(pattern) ? [path.resolve(pattern)] : [];
  let current = [parts.slice(0, first).join(path.sep) || path.sep];
  for (let i = first; i < parts.length; i++) {
    const seg = parts[i];
    const re = /[*?]/.test(seg)
      ? new RegExp(
          `^${seg
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        )
      : undefined;
    const next: string[] = [];
    for (const dir of current) {
      if (!re) {
        if (fs.existsSync(path.join(dir, seg))) next.push(path.join(dir, seg));
        continue;
      }
      const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
      for (const n of names) if (re.test(n) && !n.startsWith('.')) next.push(path.join(dir, n));
    }
    current = next;
  }
  const files = current.filter((f) => fs.statSync(f).isFile());
  return files.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * A lens's checkpoint series, oldest first: the files its `checkpoints` pattern matches (epoch: the last number
 * in the path, else the position), else those its last training kept. One line naming the lens when there are none.
 */
export async function checkpointSeries(lens: Lens): Promise<Checkpoint[]> {
  if (typeof lens.checkpoints === 'string') {
    const files = await globFiles(lens.checkpoints);
    if (!files.length) throw new UserError('notFound', `no file matches its "checkpoints" pattern ${lens.checkpoints}.`, lens.path);
    return files.map((model, i) => {
      const nums = path.relative(path.dirname(lens.path), model).match(/\d+/g);
      return { epoch: nums ? Number(nums[nums.length - 1]) : i + 1, model };
    });
  }
  const { result } = await readResultsFile(lens);
  const list = (result?.checkpoints ?? []).filter((c) => fs.existsSync(c.model));
  if (!list.length) {
    throw new UserError(
      'notFound',
      'has no checkpoints: add "checkpoints": {"every": 1} to its training recipe and train, or name your own model files with a "checkpoints" pattern (e.g. "ckpt/epoch-*.onnx").',
      lens.path,
    );
  }
  return list;
}

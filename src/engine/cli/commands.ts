// The CLI's commands as a table: each runs one command on its file and returns the result (printed by
// `--json`) and the text a terminal shows. `runCli` (cli.ts) checks the arguments every command shares.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MatchSampling, ModelInfo, ScoreMetric } from '../../shared/protocol';
import { describePreprocess, SCORE_METRIC_PHRASES } from '../../shared/protocol';
import { UserError } from '../runtime/errors';
import type { Job } from '../runtime/job';
import { handlers } from '../server/handlers';
import { compareLenses, formatCompare } from '../server/compare';
import { formatSanity, sanityCheck } from '../server/sanity';
import { writeTimelapse } from '../server/timelapse';
import { writeTimelapseGif } from '../server/timelapseGif';
import { readLens } from '../lens/lens';
import { type Args, defaultStorageDir, int, nodeArgs, str } from './args';
import { nodeTop, renderNode } from './figures';
import { renderImage } from './renderImage';

/** What a command runs on: its file (the first positional, resolved), all the arguments, the score metric. */
export interface CommandContext {
  file: string;
  positional: string[];
  flags: Args['flags'];
  metric: ScoreMetric;
  job: Job;
}

/** A command's outcome: `result` for `--json`, `text` for a terminal. */
export interface CommandOutput {
  result: unknown;
  text: string;
}

function formatInfo(info: ModelInfo): string {
  const rows = info.layers.map((l) => [
    String(l.index),
    l.name,
    l.className + (l.activation && l.activation !== 'linear' ? ` (${l.activation})` : ''),
    `[${l.outputShape.join(', ')}]`,
    String(l.nodes),
    String(l.params),
  ]);
  const head = ['#', 'layer', 'type', 'output', 'nodes', 'params'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [
    `${info.name}  ${info.path}`,
    `input [${info.inputShape.join(', ')}]  ${info.totalParams} parameters  backend ${info.backend}${info.forward ? `  forward ${info.forward}` : ''}`,
    ...(info.preprocess ? [`input: ${describePreprocess(info.preprocess)}`] : []),
    ...(info.forwardNote ? [info.forwardNote] : []),
    ...(info.note ? [info.note] : []),
    '',
    line(head),
    ...rows.map(line),
  ].join('\n');
}

/** `--out` names a folder (created when missing), never a file. */
async function outFolder(flags: Args['flags']): Promise<string> {
  const out = path.resolve(str(flags, 'out'));
  const st = await fs.promises.stat(out).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new UserError('badInput', `--out ${out} is a file, not a folder: name a folder for the PNGs (it is created when missing).`);
  return out;
}

async function info({ file, job }: CommandContext): Promise<CommandOutput> {
  const r = await handlers.modelInfo(file.endsWith('.lens.json') ? { model: (await readLens(file)).model, lens: file } : { model: file }, job);
  return { result: r, text: formatInfo(r) };
}

async function timelapse({ file, flags, metric, job }: CommandContext): Promise<CommandOutput> {
  const out = await outFolder(flags);
  const r = await writeTimelapse({ ...nodeArgs(file, flags, metric), out }, job);
  if (flags.gif !== undefined) {
    const json = r.files.find((f) => f.endsWith('-timelapse.json'))!;
    r.files.push((await writeTimelapseGif({ ...nodeArgs(file, flags, metric), file: json.replace(/\.json$/, '.gif') }, job)).file);
  }
  return {
    result: { ...r.result, frames: r.result.frames.map(({ weights: _w, ...f }) => f), files: r.files },
    text: [
      ...r.result.frames.map(
        (f) =>
          `epoch ${String(f.epoch).padStart(3)}: top score ${f.topScore.toPrecision(4)}, mean of top ${r.result.k} ${f.meanTopScore.toPrecision(4)}${f.overlapWithPrevious !== undefined ? `, overlap with the previous ${(f.overlapWithPrevious * 100).toFixed(0)}%` : ''}`,
      ),
      ...r.files,
    ].join('\n'),
  };
}

async function sanity({ file, flags, metric, job }: CommandContext): Promise<CommandOutput> {
  const r = await sanityCheck(nodeArgs(file, flags, metric), job);
  return { result: r, text: formatSanity(r) };
}

async function compare({ file, positional, flags, job }: CommandContext): Promise<CommandOutput> {
  const other = positional[2];
  if (!other) throw new UserError('badInput', 'compare needs two lens files: feature-lens compare A.lens.json B.lens.json.');
  const sampling = flags.sampling === undefined ? undefined : (str(flags, 'sampling') as MatchSampling);
  if (sampling !== undefined && !['positions', 'spatialMean'].includes(sampling))
    throw new UserError('badInput', '--sampling must be positions or spatialMean.');
  const layerOpt = (k: string) => (flags[k] === undefined ? undefined : str(flags, k));
  const r = await compareLenses(file, path.resolve(other), { layerA: layerOpt('layer-a'), layerB: layerOpt('layer-b'), sampling }, job);
  return { result: r, text: formatCompare(r) };
}

async function train({ file, job }: CommandContext): Promise<CommandOutput> {
  const r = await handlers.train({ lens: file }, job);
  return {
    result: r,
    text:
      `test accuracy ${(r.testAccuracy * 100).toFixed(2)}%  test error ${(r.testError * 100).toFixed(2)}%  (${r.testImages} test images)\n` +
      (r.crossTests ?? []).map((c) => `${c.name}: error ${(c.error * 100).toFixed(2)}%\n`).join('') +
      (r.attempts ? `kept attempt ${r.attempts} (seed ${r.seed}) of the recipe's restarts\n` : '') +
      `${r.epochs} epochs on ${r.trainImages} images in ${r.seconds.toFixed(1)} s: ${r.imagesPerSecond.toFixed(0)} images/s (${r.backend})\nmodel written to ${r.model}`,
  };
}

async function scan({ file, flags, metric, job }: CommandContext): Promise<CommandOutput> {
  const r = await handlers.scan({ lens: file, storageDir: str(flags, 'storage', defaultStorageDir()), metric, k: int(flags, 'k', 9) }, job);
  return {
    result: r,
    text: `${r.reused ? 'reused' : r.resumed ? 'resumed and finished' : 'scanned'} ${r.images} images (${r.metric}, top ${r.k}) in ${r.seconds.toFixed(1)} s: ${r.imagesPerSecond.toFixed(0)} images/s\nindex ${r.index}${r.removedIndexes ? `\ndeleted ${r.removedIndexes} index${r.removedIndexes > 1 ? 'es' : ''} of earlier weights of this model` : ''}`,
  };
}

async function top({ file, flags, metric, job }: CommandContext): Promise<CommandOutput> {
  const r = await nodeTop(nodeArgs(file, flags, metric), job);
  if (r.top.length === 0 || r.top.some((t) => !Number.isFinite(t.score))) {
    throw new UserError(
      'badInput',
      `${r.layerName} (layer ${r.layer}) node ${r.node} has no ranked images: its scores are not numbers (NaN or infinite), so the model's weights or inputs hold NaN or infinite values (a diverged training?).`,
      file,
    );
  }
  return {
    result: r,
    text: [
      `${r.layerName} (layer ${r.layer}) node ${r.node}, by ${SCORE_METRIC_PHRASES[r.metric]}:`,
      ...r.top.map((t, i) => `${String(i + 1).padStart(3)}. #${t.index} ${t.className}  ${t.score.toPrecision(4)}`),
    ].join('\n'),
  };
}

/** `render MODEL --image FILE`: one image through a model, without a lens file. */
async function renderOneImage({ file, flags, job }: CommandContext): Promise<CommandOutput> {
  const r = await renderImage(
    {
      model: file,
      layer: str(flags, 'layer'),
      node: int(flags, 'node', 0),
      image: path.resolve(str(flags, 'image')),
      out: path.resolve(str(flags, 'out')),
      method: str(flags, 'method', 'deconv'),
    },
    job,
  );
  return {
    result: r,
    text:
      r.files.join('\n') +
      `\nscore (Frobenius norm of the feature map) ${r.score.toPrecision(4)}` +
      (r.projectionError ? `\nno projection: ${r.projectionError}` : ''),
  };
}

async function render(context: CommandContext): Promise<CommandOutput> {
  const { file, flags, metric, job } = context;
  if (flags.image !== undefined) return renderOneImage(context);
  const out = await outFolder(flags);
  const steps = flags.steps === undefined ? undefined : int(flags, 'steps', 256);
  const r = await renderNode({ ...nodeArgs(file, flags, metric), out, method: str(flags, 'method', 'deconv'), ...(steps !== undefined ? { steps } : {}) }, job);
  // a method that cannot pass an op: the other figures are written, the projection row is grey
  return { result: r, text: r.files.join('\n') + (r.projectionError ? `\nno projection: ${r.projectionError}` : '') };
}

/** Every command, by the name typed after `feature-lens`. */
export const COMMANDS: Readonly<Record<string, (context: CommandContext) => Promise<CommandOutput>>> = {
  info,
  train,
  scan,
  top,
  render,
  compare,
  sanity,
  timelapse,
};

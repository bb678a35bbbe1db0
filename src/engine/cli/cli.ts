import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendSetting, MatchSampling, ModelInfo, Progress } from '../../shared/protocol';
import { BACKEND_SETTINGS, describePreprocess, ENGINE_ENV, SCORE_METRIC_PHRASES, SCORE_METRICS, type ScoreMetric } from '../../shared/protocol';
import { initBackend } from '../runtime/backend';
import { setMemoryBudgetMB } from '../runtime/budget';
import { toEngineError, UserError } from '../runtime/errors';
import { handlers } from '../server/handlers';
import { makeJob } from '../runtime/job';
import { compareLenses, formatCompare } from '../server/compare';
import { formatSanity, sanityCheck } from '../server/sanity';
import { writeTimelapse } from '../server/timelapse';
import { writeTimelapseGif } from '../server/timelapseGif';
import { readLens } from '../lens/lens';
import { nodeTop, renderNode, type NodeIndexOptions } from './figures';
import { renderImage } from './renderImage';

const USAGE = `Usage: feature-lens <command> [options]

Commands:
  info MODEL.json|FILE.lens.json      the model's layers, output shapes and parameter counts (of a lens file:
                                      its model, with the input preprocessing the lens applies)
  train FILE.lens.json                train the model the lens file's recipe describes
  scan FILE.lens.json                 top-activation index of every node over the test split
        [--metric frobenius|max|mean] [--k 9] [--storage DIR]
  top FILE.lens.json --layer L --node N [--metric frobenius|max|mean] [--k 9] [--storage DIR]
                                      the node's top test images: index, class and score, best first
  render FILE.lens.json --layer L --node N --out DIR [--method deconv|deconv-noswitch|guided|saliency|gradcam|maximize]
         [--metric …] [--k 9] [--storage DIR] [--steps 256 (maximize)]
                                      PNGs of the node's weights, top images, feature maps, deconvolutions
  render MODEL --layer L --node N --image FILE.png --out F.png [--method deconv|deconv-noswitch|guided|saliency|gradcam]
                                      without a lens file: the node's feature map and projection for one
                                      image file (PNG or JPEG), fitted to the model's input
  (top and render scan first when the index is missing; L is a layer name or index)
  sanity FILE.lens.json --layer L --node N [--k 9] [--metric …] [--storage DIR]
                                      cascading randomization (Adebayo et al. 2018): the node's projections
                                      (deconv, guided, saliency, gradcam) of its top images with the layers
                                      from its own down to the first re-initialized, and their Spearman
                                      rank correlation and SSIM to the trained ones (|map| summed over channels)
  timelapse FILE.lens.json --layer L --node N --out DIR [--k 9] [--metric …] [--storage DIR] [--gif]
                                      the node at every checkpoint (the lens's "checkpoints" pattern, else
                                      those its training kept): weights and top-image PNGs per epoch, and a
                                      JSON of scores and the overlap of consecutive top-k lists; with --gif
                                      also an animated GIF of the epochs
  compare A.lens.json B.lens.json [--layer-a LA --layer-b LB] [--sampling positions|spatialMean]
                                      each model on each lens file's test split (errors, confusion
                                      matrices), and node matching by activation correlation of a layer
                                      of A with a layer of B over A's test split (default: each model's
                                      last hidden layer with weights)

Options for every command:
  --json                              print the result as one JSON object on stdout
  --backend auto|tensorflow|wasm|cpu  the compute backend (default auto)
  --max-memory MB                     the memory a model, recipe or data file may need (default: half the
                                      machine's memory, at most 4096 on wasm/cpu; also FEATURE_LENS_MAX_MEMORY_MB)`;

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2);
      if (inline !== undefined) flags[key] = inline;
      else if (['json', 'help', 'gif'].includes(key)) flags[key] = true;
      else if (i + 1 < argv.length) flags[key] = argv[++i];
      else throw new UserError('badInput', `--${key} needs a value.`);
    } else positional.push(a);
  }
  return { positional, flags };
}

function str(flags: Args['flags'], key: string, fallback?: string): string {
  const v = flags[key];
  if (v === undefined || v === true) {
    if (fallback !== undefined) return fallback;
    throw new UserError('badInput', `--${key} is required.`);
  }
  return v;
}

function int(flags: Args['flags'], key: string, fallback: number): number {
  const v = flags[key];
  if (v === undefined) return fallback;
  // Number('') and Number(' ') are 0: an empty value (`--node=`) is a mistake, not node 0.
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new UserError('badInput', `--${key} must be a whole number, not "${String(v)}".`);
  return n;
}

/** Where the CLI keeps top-activation indexes unless --storage says otherwise. */
function defaultStorageDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'feature-lens', 'index');
}

/** The options `top` and `render` share: which node, and where its index is. */
function nodeArgs(lens: string, flags: Args['flags'], metric: ScoreMetric): NodeIndexOptions {
  return {
    lens,
    layer: str(flags, 'layer'),
    node: int(flags, 'node', 0),
    storageDir: str(flags, 'storage', defaultStorageDir()),
    k: int(flags, 'k', 9),
    metric,
  };
}

/**
 * Text for a terminal: names in a model or lens file (layer, class and model names) are the file's author's, so
 * escape sequences (which could set the title, clear the screen or rewrite earlier lines) and other control
 * characters are shown as `?`; line breaks and tabs of the output itself stay.
 */
export function terminalSafe(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]/g, '?')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
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

/** Runs one CLI command; returns the exit code. Errors print one line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { positional, flags } = parseArgs(argv);
    json = flags.json === true;
    const [command, target] = positional;
    if (!command || flags.help) {
      process.stdout.write(USAGE + '\n');
      return command || flags.help ? 0 : 2;
    }
    const backend = str(flags, 'backend', 'auto') as BackendSetting;
    if (!BACKEND_SETTINGS.includes(backend)) throw new UserError('badInput', `--backend must be one of ${BACKEND_SETTINGS.join(', ')}.`);
    if (!['info', 'train', 'scan', 'top', 'render', 'compare', 'sanity', 'timelapse'].includes(command))
      throw new UserError('badInput', `Unknown command "${command}". Run feature-lens --help.`);
    if (!target)
      throw new UserError(
        'badInput',
        `${command} needs a file: feature-lens ${command} ${command === 'info' || (command === 'render' && flags.image !== undefined) ? 'MODEL' : 'FILE.lens.json'}.`,
      );
    const file = path.resolve(target);
    const metric = str(flags, 'metric', 'frobenius') as ScoreMetric;
    if (!SCORE_METRICS.includes(metric)) throw new UserError('badInput', `--metric must be one of ${SCORE_METRICS.join(', ')}.`);
    if (flags['max-memory'] !== undefined) {
      const m = flags['max-memory'];
      const n = typeof m === 'string' && /^\s*\d+\s*$/.test(m) ? Number(m) : NaN;
      if (!(n > 0)) throw new UserError('badInput', `--max-memory must be a whole number of MB, not "${String(m)}".`);
      setMemoryBudgetMB(n);
      process.env[ENGINE_ENV.maxMemoryMB] = String(n); // scan helper processes inherit it
    }
    const used = await initBackend(backend);
    const job = makeJob(json ? undefined : progressPrinter());
    process.once('SIGINT', () => job.cancel());
    let result: unknown;
    let text: string;
    if (command === 'info') {
      const info = await handlers.modelInfo(file.endsWith('.lens.json') ? { model: (await readLens(file)).model, lens: file } : { model: file }, job);
      result = info;
      text = formatInfo(info);
    } else if (command === 'timelapse') {
      const out = path.resolve(str(flags, 'out'));
      const st = await fs.promises.stat(out).catch(() => undefined);
      if (st && !st.isDirectory())
        throw new UserError('badInput', `--out ${out} is a file, not a folder: name a folder for the PNGs (it is created when missing).`);
      const r = await writeTimelapse({ ...nodeArgs(file, flags, metric), out }, job);
      if (flags.gif !== undefined) {
        const json = r.files.find((f) => f.endsWith('-timelapse.json'))!;
        r.files.push((await writeTimelapseGif({ ...nodeArgs(file, flags, metric), file: json.replace(/\.json$/, '.gif') }, job)).file);
      }
      result = { ...r.result, frames: r.result.frames.map(({ weights: _w, ...f }) => f), files: r.files };
      text = [
        ...r.result.frames.map(
          (f) =>
            `epoch ${String(f.epoch).padStart(3)}: top score ${f.topScore.toPrecision(4)}, mean of top ${r.result.k} ${f.meanTopScore.toPrecision(4)}${f.overlapWithPrevious !== undefined ? `, overlap with the previous ${(f.overlapWithPrevious * 100).toFixed(0)}%` : ''}`,
        ),
        ...r.files,
      ].join('\n');
    } else if (command === 'sanity') {
      const r = await sanityCheck(nodeArgs(file, flags, metric), job);
      result = r;
      text = formatSanity(r);
    } else if (command === 'compare') {
      const other = positional[2];
      if (!other) throw new UserError('badInput', 'compare needs two lens files: feature-lens compare A.lens.json B.lens.json.');
      const sampling = flags.sampling === undefined ? undefined : (str(flags, 'sampling') as MatchSampling);
      if (sampling !== undefined && !['positions', 'spatialMean'].includes(sampling))
        throw new UserError('badInput', '--sampling must be positions or spatialMean.');
      const layerOpt = (k: string) => (flags[k] === undefined ? undefined : str(flags, k));
      const r = await compareLenses(file, path.resolve(other), { layerA: layerOpt('layer-a'), layerB: layerOpt('layer-b'), sampling }, job);
      result = r;
      text = formatCompare(r);
    } else if (command === 'train') {
      const r = await handlers.train({ lens: file }, job);
      result = r;
      text =
        `test accuracy ${(r.testAccuracy * 100).toFixed(2)}%  test error ${(r.testError * 100).toFixed(2)}%  (${r.testImages} test images)\n` +
        (r.crossTests ?? []).map((c) => `${c.name}: error ${(c.error * 100).toFixed(2)}%\n`).join('') +
        (r.attempts ? `kept attempt ${r.attempts} (seed ${r.seed}) of the recipe's restarts\n` : '') +
        `${r.epochs} epochs on ${r.trainImages} images in ${r.seconds.toFixed(1)} s: ${r.imagesPerSecond.toFixed(0)} images/s (${r.backend})\nmodel written to ${r.model}`;
    } else if (command === 'scan') {
      const r = await handlers.scan({ lens: file, storageDir: str(flags, 'storage', defaultStorageDir()), metric, k: int(flags, 'k', 9) }, job);
      result = r;
      text = `${r.reused ? 'reused' : r.resumed ? 'resumed and finished' : 'scanned'} ${r.images} images (${r.metric}, top ${r.k}) in ${r.seconds.toFixed(1)} s: ${r.imagesPerSecond.toFixed(0)} images/s\nindex ${r.index}${r.removedIndexes ? `\ndeleted ${r.removedIndexes} index${r.removedIndexes > 1 ? 'es' : ''} of earlier weights of this model` : ''}`;
    } else if (command === 'top') {
      const r = await nodeTop(nodeArgs(file, flags, metric), job);
      if (r.top.length === 0 || r.top.some((t) => !Number.isFinite(t.score))) {
        throw new UserError(
          'badInput',
          `${r.layerName} (layer ${r.layer}) node ${r.node} has no ranked images: its scores are not numbers (NaN or infinite), so the model's weights or inputs hold NaN or infinite values (a diverged training?).`,
          file,
        );
      }
      result = r;
      text = [
        `${r.layerName} (layer ${r.layer}) node ${r.node}, by ${SCORE_METRIC_PHRASES[r.metric]}:`,
        ...r.top.map((t, i) => `${String(i + 1).padStart(3)}. #${t.index} ${t.className}  ${t.score.toPrecision(4)}`),
      ].join('\n');
    } else if (flags.image !== undefined) {
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
      result = r;
      text =
        r.files.join('\n') +
        `\nscore (Frobenius norm of the feature map) ${r.score.toPrecision(4)}` +
        (r.projectionError ? `\nno projection: ${r.projectionError}` : '');
    } else {
      const out = path.resolve(str(flags, 'out'));
      const st = await fs.promises.stat(out).catch(() => undefined);
      if (st && !st.isDirectory())
        throw new UserError('badInput', `--out ${out} is a file, not a folder: name a folder for the PNGs (it is created when missing).`);
      const steps = flags.steps === undefined ? undefined : int(flags, 'steps', 256);
      const r = await renderNode(
        { ...nodeArgs(file, flags, metric), out, method: str(flags, 'method', 'deconv'), ...(steps !== undefined ? { steps } : {}) },
        job,
      );
      result = r;
      // a method that cannot pass an op: the other figures are written, the projection row is grey
      text = r.files.join('\n') + (r.projectionError ? `\nno projection: ${r.projectionError}` : '');
    }
    if (json) process.stdout.write(JSON.stringify({ command, backend: used.backend, result }) + '\n');
    else process.stdout.write(`${terminalSafe(text)}\n`);
    return 0;
  } catch (e) {
    const err = toEngineError(e);
    process.stderr.write(`feature-lens: ${terminalSafe(err.message.replace(/\s*\n\s*/g, ' '))}\n`);
    if (err.code === 'internal' && process.env.FEATURE_LENS_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    return err.code === 'badInput' && !err.file ? 2 : 1;
  }
}

function progressPrinter(): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 1000 || !process.stderr.isTTY) return;
    last = now;
    const pct = p.fraction !== undefined ? `${(p.fraction * 100).toFixed(0)}% ` : '';
    process.stderr.write(`\r${pct}${terminalSafe(p.message ?? '')}`.padEnd(60));
  };
}

import * as path from 'node:path';
import type { BackendSetting, Progress } from '../../shared/protocol';
import { BACKEND_SETTINGS, ENGINE_ENV, SCORE_METRICS, type ScoreMetric } from '../../shared/protocol';
import { initBackend } from '../runtime/backend';
import { setMemoryBudgetMB } from '../runtime/budget';
import { toEngineError, UserError } from '../runtime/errors';
import { makeJob } from '../runtime/job';
import { type Args, parseArgs, str } from './args';
import { COMMANDS } from './commands';

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
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) throw new UserError('badInput', `Unknown command "${command}". Run feature-lens --help.`);
    if (!target)
      throw new UserError(
        'badInput',
        `${command} needs a file: feature-lens ${command} ${command === 'info' || (command === 'render' && flags.image !== undefined) ? 'MODEL' : 'FILE.lens.json'}.`,
      );
    const file = path.resolve(target);
    const metric = str(flags, 'metric', 'frobenius') as ScoreMetric;
    if (!SCORE_METRICS.includes(metric)) throw new UserError('badInput', `--metric must be one of ${SCORE_METRICS.join(', ')}.`);
    applyMaxMemory(flags);
    const used = await initBackend(backend);
    const job = makeJob(json ? undefined : progressPrinter());
    process.once('SIGINT', () => job.cancel());
    const { result, text } = await run({ file, positional, flags, metric, job });
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

/** `--max-memory MB`: the memory budget of this process and of the scan helpers it starts. */
function applyMaxMemory(flags: Args['flags']): void {
  const m = flags['max-memory'];
  if (m === undefined) return;
  const n = typeof m === 'string' && /^\s*\d+\s*$/.test(m) ? Number(m) : NaN;
  if (!(n > 0)) throw new UserError('badInput', `--max-memory must be a whole number of MB, not "${String(m)}".`);
  setMemoryBudgetMB(n);
  process.env[ENGINE_ENV.maxMemoryMB] = String(n); // scan helper processes inherit it
}

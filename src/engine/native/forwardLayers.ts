/**
 * The seam between the methods that need no gradient (the scan, feature maps, layer activation by class, a
 * node page's top images) and the two ways to run a forward pass: natively (the network exported to ONNX,
 * run by onnxruntime-node) where that loads and the network exports, else tfjs (the reference).
 *
 * `forwardLayers` returns the chosen ops' outputs as plain arrays and says which path computed them;
 * `nativeForward` is the native half alone (null: run the tfjs path). Each network is exported once per
 * set of outputs and layout; a network that does not export (an op without a rule) or that the runtime
 * refuses is declined once, with the reason recorded for the status and logged through `onNativeNote`.
 */
import type { ForwardPath } from '../../shared/protocol';
import type { Network } from '../models/network';
import * as tf from '../runtime/tf';
import { exportOnnx } from './exportOnnx';
import { nativeRuntime, nativeSession, nativeThreads, runNative, type NativeSession } from './runtime';

export type { ForwardPath };

/** The tfjs forward pass (models/forward.ts): the output of every op run, by op index. */
export type TfjsForward = (net: Network, x: tf.Tensor, opts?: { until?: number }) => tf.Tensor[];

/** Layout of rank-4 outputs: NHWC (the Network's) or NCHW (each node's map contiguous). */
export type OutputLayout = 'nhwc' | 'nchw';
/** What a native run outputs: the values in a layout, or the scan's node scores of each (exportOnnx `scores`). */
type OutputMode = OutputLayout | 'scores';

export interface ForwardResult {
  path: ForwardPath;
  /** One per requested op, `[count, ...op.shape]` in the requested layout. */
  outputs: Float32Array[];
}

type Prepared = { session: Promise<NativeSession> } | { declined: string };
const prepared = new WeakMap<Network, Map<string, Prepared>>();
/** Networks declined, by name, with why (status). */
const declined = new Map<string, string>();
/** What computed each purpose last (status: "which path computed what"). */
const lastPath = new Map<string, ForwardPath>();

let note: (message: string) => void = () => {};
/** Where decline messages go (the engine's log); each network's decline is reported once. */
export function onNativeNote(fn: (message: string) => void): void {
  note = fn;
}

/** A number per tensor buffer: a weight written in place (setWeights, a retrain) gets a new buffer, so a new key. */
const bufferIds = new WeakMap<object, number>();
let nextBufferId = 0;
function weightsKey(net: Network): string {
  const id = (t: tf.Tensor) => {
    let n = bufferIds.get(t.dataId);
    if (n === undefined) bufferIds.set(t.dataId, (n = nextBufferId++));
    return n;
  };
  const ids: number[] = [];
  for (const op of net.ops) for (const t of Object.values(op.weights) as (tf.Tensor | undefined)[]) if (t) ids.push(id(t));
  for (const t of net.constants.values()) ids.push(id(t));
  return ids.join(',');
}

function prepare(net: Network, ops: number[], layout: OutputMode): Prepared {
  let byKey = prepared.get(net);
  if (!byKey) prepared.set(net, (byKey = new Map()));
  // The same Network object may hold new weights (a model whose weights were set again): part of the key.
  const key = `${layout}:${ops.join(',')}:${weightsKey(net)}`;
  let p = byKey.get(key);
  if (p) return p;
  // A network that failed to export once fails for every output set: do not try again.
  const earlier = [...byKey.values()].find((q): q is { declined: string } => 'declined' in q);
  if (earlier) p = earlier;
  else {
    try {
      const scores = layout === 'scores';
      const exported = exportOnnx(net, { outputs: ops.map((i) => net.ops[i].name), layout: scores ? 'nchw' : layout, scores });
      // Outputs that are scores keep the graph's values internal: the runtime's full optimisation applies.
      p = { session: nativeSession(exported.bytes, exported.input, exported.outputs, net.input.shape, scores ? 'all' : undefined) };
    } catch (e) {
      p = decline(net, (e as Error).message);
    }
  }
  byKey.set(key, p);
  return p;
}

function decline(net: Network, why: string): { declined: string } {
  const message = `${net.name} runs its forward passes on tfjs, not natively: ${why}`;
  if (!declined.has(net.name)) note(message);
  declined.set(net.name, why);
  return { declined: why };
}

/**
 * The outputs of `ops` (op indices) for `count` images (`[count, ...net.input.shape]`, NHWC float32) computed
 * natively, or null when the native path is unavailable or declines this network (then run tfjs).
 */
export async function nativeForward(
  net: Network,
  images: Float32Array,
  count: number,
  ops: number[],
  layout: OutputMode = 'nhwc',
): Promise<Float32Array[] | null> {
  if (!nativeRuntime().ok) return null;
  const p = prepare(net, ops, layout);
  if ('declined' in p) return null;
  let session: NativeSession;
  try {
    session = await p.session;
  } catch (e) {
    // The runtime refused the exported graph: decline this network from now on.
    prepared
      .get(net)
      ?.set(`${layout}:${ops.join(',')}:${weightsKey(net)}`, decline(net, `onnxruntime refused the exported graph: ${(e as Error).message.split('\n')[0]}`));
    return null;
  }
  return runNative(session, images, count);
}

/**
 * Whether the scan's scores of `ops` run natively (the session made now is the one the scan then uses).
 * A native scan keeps to one process: the runtime's threads already use every core, and helper processes
 * each running the runtime on every core would contend for them.
 */
export async function scoresRunNatively(net: Network, ops: number[]): Promise<boolean> {
  if (!nativeRuntime().ok) return false;
  const p = prepare(net, ops, 'scores');
  if ('declined' in p) return false;
  return p.session.then(
    () => true,
    () => false,
  );
}

/** The tfjs path: the same outputs from the tfjs forward pass (the reference). */
export async function tfjsForwardLayers(
  net: Network,
  images: Float32Array,
  count: number,
  ops: number[],
  layout: OutputLayout,
  forward: TfjsForward,
): Promise<Float32Array[]> {
  const outs = tf.tidy(() => {
    const x = tf.tensor(images.subarray(0, count * net.input.shape.reduce((a, b) => a * b, 1)), [count, ...net.input.shape]);
    const all = forward(net, x, { until: Math.max(...ops) });
    return ops.map((i) => (layout === 'nchw' && all[i].rank === 4 ? tf.transpose(all[i], [0, 3, 1, 2]) : all[i]));
  });
  try {
    return (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  } finally {
    tf.dispose(outs);
  }
}

/**
 * The outputs of `ops` for `count` images, natively where possible, else with `forward` on tfjs. `purpose`
 * names the caller in the status (`scan`, `feature maps`, ...).
 */
export async function forwardLayers(
  net: Network,
  images: Float32Array,
  count: number,
  ops: number[],
  forward: TfjsForward,
  opts: { layout?: OutputLayout; purpose?: string } = {},
): Promise<ForwardResult> {
  const layout = opts.layout ?? 'nhwc';
  const native = await nativeForward(net, images, count, ops, layout);
  const result: ForwardResult = native
    ? { path: 'onnxruntime', outputs: native }
    : { path: 'tfjs', outputs: await tfjsForwardLayers(net, images, count, ops, layout, forward) };
  if (opts.purpose) lastPath.set(opts.purpose, result.path);
  return result;
}

/** Records that `purpose` ran on `path` (for callers that run the tfjs path themselves). */
export function recordForwardPath(purpose: string, path: ForwardPath): void {
  lastPath.set(purpose, path);
}

/** The forward path for the status: native when the runtime loads, and a note on what ran where and why. */
export function forwardStatus(): { forward: ForwardPath; forwardNote: string } {
  const rt = nativeRuntime();
  const used = [...lastPath].map(([purpose, path]) => `${purpose}: ${path}`).join(', ');
  const refused = [...declined].map(([name, why]) => `${name} on tfjs (${why})`).join('; ');
  const head = rt.ok
    ? `Native forward runtime: onnxruntime-node ${rt.version}, ${nativeThreads()} threads (forward-only work on networks it can export; gradient methods on TensorFlow.js).`
    : `Forward passes run on TensorFlow.js: the native runtime is unavailable (${rt.why}).`;
  return {
    forward: rt.ok ? 'onnxruntime' : 'tfjs',
    forwardNote: [head, used && `Last run: ${used}.`, refused && `Declined: ${refused}.`].filter(Boolean).join(' '),
  };
}

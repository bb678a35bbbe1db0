/**
 * TF.js graph models (`model.json` with `"format": "graph-model"`, what `tensorflowjs_converter` makes from a
 * SavedModel or a frozen graph): the TensorFlow nodes become the network representation's ops.
 *
 * The weights are decoded by tfjs's own reader (`tf.io.decodeWeights`: quantized and float16 weights included);
 * `Const` nodes become constants, folded into the op that uses them as weights (a conv's filter, a dense
 * kernel, a batch norm's statistics) or kept as constant operands (`Mul` by a constant). Shape arithmetic on
 * constants (`Shape` → `StridedSlice` → `Mul` feeding a resize) is evaluated at import. The graph is NHWC
 * already; shapes are inferred from the placeholder's fixed size. An op without a rule here is one line naming
 * the op, the node and the file.
 *
 * The import is an op table (tfjsGraphOps.ts, one rule per TensorFlow op type) over an import context
 * (tfjsGraphContext.ts: the node lookup, the constant folding and the ownership of decoded tensors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import { inspectableLayers, type Network } from './network';
import { cutBeforePostprocessing } from './graphPostprocessing';
import { GraphImport, type GraphModelJson, type GraphNode, type Value } from './tfjsGraphContext';
import { convertNode } from './tfjsGraphOps';

const MAX_JSON_BYTES = 64 * 2 ** 20;
const MAX_WEIGHTS_BYTES = 2 * 2 ** 30;

/** True for a parsed `model.json` that is a TF.js graph model (older converters wrote no `format`: nodes tell). */
export function isGraphModelJson(json: unknown): boolean {
  const j = json as GraphModelJson | null;
  return !!j && typeof j === 'object' && (j.format === 'graph-model' || (j.format === undefined && Array.isArray(j.modelTopology?.node)));
}

/** Reads the weight shards of a manifest, checking each file and the total size against the manifest. */
async function readWeights(json: GraphModelJson, file: string): Promise<tf.NamedTensorMap> {
  const dir = path.dirname(file);
  const out: tf.NamedTensorMap = {};
  for (const group of json.weightsManifest ?? []) {
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const shard = path.resolve(dir, p);
      if (path.relative(dir, shard).startsWith('..')) throw new UserError('badInput', `names a weights file outside its folder (${p}).`, file);
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(shard);
      } catch {
        throw new UserError('notFound', `names the weights file ${p}, which does not exist.`, file);
      }
      if (!st.isFile()) throw new UserError('badInput', `names the weights file ${p}, which is not a regular file.`, file);
      if (st.size > MAX_WEIGHTS_BYTES)
        throw new UserError('badInput', `names the weights file ${p} of ${(st.size / 2 ** 20).toFixed(0)} MB, more than accepted.`, file);
      parts.push(new Uint8Array(await fs.promises.readFile(shard)));
    }
    const total = parts.reduce((a, p) => a + p.length, 0);
    const want = group.weights.reduce((a, w) => a + byteSize(w), 0);
    if (Number.isFinite(want) && total < want) throw new UserError('badInput', `has weight files of ${total} bytes; its manifest needs ${want}.`, file);
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    try {
      Object.assign(out, tf.io.decodeWeights(data.buffer, group.weights));
    } catch (e) {
      throw new UserError('badInput', `has weights tfjs cannot decode (${e instanceof Error ? e.message : String(e)}).`, file);
    }
  }
  return out;
}

function byteSize(w: tf.io.WeightsManifestEntry): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (w.quantization) return n * (w.quantization.dtype === 'uint8' ? 1 : 2);
  if (w.dtype === 'string') return NaN;
  return n * (w.dtype === 'bool' ? 1 : 4);
}

/** Loads a TF.js graph model into the network representation. */
export async function loadTfjsGraph(file: string): Promise<Network> {
  file = path.resolve(file);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    throw new UserError('notFound', 'file not found.', file);
  }
  if (!st.isFile()) throw new UserError('badInput', 'is not a regular file.', file);
  if (st.size > MAX_JSON_BYTES)
    throw new UserError('badInput', `is ${(st.size / 2 ** 20).toFixed(0)} MB; a model.json is a small JSON file (the weights live in .bin shards).`, file);
  let json: GraphModelJson;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8')) as GraphModelJson;
  } catch (e) {
    throw new UserError('badInput', `is not valid JSON (${e instanceof Error ? e.message : String(e)}).`, file);
  }
  if (!isGraphModelJson(json)) throw new UserError('badInput', 'is not a TF.js graph model ("format" is not "graph-model").', file);
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes) || !nodes.length) throw new UserError('badInput', 'is a graph model without nodes (modelTopology.node).', file);
  if (json.modelTopology?.library?.function?.length) {
    throw new UserError(
      'unsupported',
      'holds control-flow functions (modelTopology.library: loops or conditionals), which the network representation cannot hold.',
      file,
    );
  }
  const weights = await readWeights(json, file);
  try {
    return convert(json, nodes, weights, file);
  } finally {
    tf.dispose(Object.values(weights));
  }
}

function convert(json: GraphModelJson, nodes: GraphNode[], weights: tf.NamedTensorMap, file: string): Network {
  const c = new GraphImport(nodes, weights, file, convertNode);
  const { byName, ops, constants, owned } = c;
  try {
    // Outputs: the signature's, else every node nothing reads. The network's output is the first.
    const sigOut = Object.values(json.signature?.outputs ?? {})
      .map((o) => o.name?.split(':')[0])
      .filter((n): n is string => !!n && byName.has(n));
    const read = new Set(nodes.flatMap((n) => (n.input ?? []).map((r) => r.replace(/^\^/, '').split(':')[0])));
    const sinks = sigOut.length ? sigOut : nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => n.name);
    if (!sinks.length) throw new UserError('badInput', 'has no output node.', file);
    const { outs, outNames, note } = outputsOf(c, nodes, sinks, file);
    const input = c.input;
    if (!input) throw new UserError('badInput', 'has no input (Placeholder) node.', file);
    const first = outs[0];
    if (first.kind === 'const') throw new UserError('unsupported', `has the output "${outNames[0]}", a constant that does not depend on the input.`, file);
    const network: Network = {
      name: path.basename(file).replace(/\.json$/i, '') === 'model' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.json$/i, ''),
      format: 'tfjs-graph',
      path: file,
      input,
      ops,
      constants,
      output: first.name,
      layers: inspectableLayers(ops),
      ...(note ? { note } : {}),
      dispose() {
        for (const op of ops) for (const w of Object.values(op.weights)) (w as tf.Tensor).dispose();
        for (const t of constants.values()) t.dispose();
      },
    };
    // Intermediate tensors of the import (transposes, folds) that no op kept.
    const kept = new Set<tf.Tensor>([...ops.flatMap((op) => Object.values(op.weights) as tf.Tensor[]), ...constants.values()]);
    for (const t of owned) if (!kept.has(t)) t.dispose();
    return network;
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
}

/**
 * The network's outputs: the sinks, or, where the graph ends in detection post-processing (TopKV2,
 * NonMaxSuppression...: graphPostprocessing.ts), each value the post-processing reads that converts (one that
 * does not is left out too), with a note saying what was left out.
 */
function outputsOf(c: GraphImport, nodes: GraphNode[], sinks: string[], file: string): { outs: Value[]; outNames: string[]; note?: string } {
  const cut = cutBeforePostprocessing(nodes, sinks);
  if (!cut) return { outs: sinks.map((r) => c.value(r)), outNames: sinks };
  const outs: Value[] = [];
  const outNames: string[] = [];
  let firstError: unknown;
  for (const s of cut.sinks) {
    try {
      const v = c.value(s);
      if (v.kind === 'const') continue;
      outs.push(v);
      outNames.push(s);
    } catch (e) {
      c.forgetVisits();
      if (!(e instanceof UserError) || e.code !== 'unsupported') throw e;
      firstError ??= e;
    }
  }
  if (!outs.length) throw firstError ?? new UserError('unsupported', 'has no output before its post-processing.', file);
  const ops = [...new Set(cut.found.map((n) => n.op))].join(', ');
  const shown =
    outNames
      .slice(0, 3)
      .map((n) => `"${n}"`)
      .join(', ') + (outNames.length > 3 ? ` and ${outNames.length - 3} more` : '');
  const note = `The network stops before the model's post-processing (${ops}: selecting detections, ${cut.leftOut} graph nodes), which has no layers to inspect; it ends at ${shown}${outNames.length > 1 ? ' (the first is its output)' : ''}.`;
  return { outs, outNames, note };
}

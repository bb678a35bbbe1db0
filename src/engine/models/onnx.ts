/**
 * The ONNX importer: a `*.onnx` file (what `torch.onnx.export` writes, opsets 9–17 and what a checker
 * accepts around them) into the network representation (network.ts).
 *
 * - Decoding is `onnx-proto`'s (protobufjs); initializers may be raw or typed, and external data is read
 *   from beside the model.
 * - NCHW → NHWC once, here (see onnx/context.ts for the layout rule); conv kernels become
 *   `[kh, kw, cin/g, cout]`, depthwise kernels `[kh, kw, cin, multiplier]`; a Flatten/Reshape of a 4-D value
 *   flattens in channels-first order so the dense weights that follow stay the file's.
 * - The input shape is the file's, fixed except for the batch; shape arithmetic (`Shape`, `Gather`,
 *   `Concat` of shapes, `Cast`...) is folded to constants at import (onnx/ops.ts has one entry per op type).
 * - Names: an op is named by the PyTorch module path the exporter recorded in the node name
 *   (`/layer2/layer2.0/conv1/Conv` → `layer2.0.conv1`; see onnx/names.ts).
 * - Bad input gets one line naming the file: a PyTorch pickle, a truncated protobuf, an op outside the table.
 */
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { UserError } from '../runtime/errors';
import type * as tf from '../runtime/tf';
import { type Network, inspectableLayers } from './network';
import { Importer, NodeView, type Dyn } from './onnx/context';
import { moduleNames } from './onnx/names';
import { OPS } from './onnx/ops';
import { memoryBudget } from '../runtime/budget';
import { readInputFile } from '../runtime/fsutil';
import { decodeTensor, num } from './onnx/tensors';

export const PYTORCH_EXPORT_HINT =
  'Feature Lens reads ONNX; export the model from PyTorch with: model.eval(); torch.onnx.export(model, torch.randn(1, 3, 224, 224), "model.onnx", input_names=["input"], dynamic_axes={"input": {0: "batch"}}) (use your input\'s shape).';

/** Reads an ONNX model file into a Network. Throws a UserError (one line, naming the file) for bad files. */
export async function loadOnnx(file: string): Promise<Network> {
  const abs = path.resolve(file);
  // A regular file of a size the memory budget allows, checked before it is read (fsutil.ts).
  const bytes = await readInputFile(abs, {
    what: 'model file',
    maxBytes: memoryBudget(),
    maxHint: "its weights must fit the engine's memory budget (setting featureLens.engine.maxMemoryMB)",
  });
  return importOnnx(bytes, abs);
}

/** True for a PyTorch checkpoint: a zip holding `data.pkl`, or a bare pickle (protocol 2+ starts with 0x80). */
function isPytorchPickle(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return true;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1 << 20)).includes('data.pkl');
  }
  return false;
}

/** The model of an ONNX file's bytes and its opset, checked: a PyTorch pickle, a broken protobuf, no graph or an opset out of range is one line naming the file. */
function decodeModel(bytes: Uint8Array, file: string): { model: onnx.ModelProto; graph: onnx.GraphProto; opset: number } {
  const pickle = () => new UserError('unsupported', `is a PyTorch checkpoint (pickle), not an ONNX model. ${PYTORCH_EXPORT_HINT}`, file);
  if (isPytorchPickle(bytes)) throw pickle();
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    if (/\.(pt|pth)$/i.test(file)) throw pickle();
    const why = e instanceof Error ? e.message : String(e);
    throw new UserError('badInput', `is not a readable ONNX model: the protobuf does not decode (${why}); the file is truncated or not ONNX.`, file);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length)
    throw new UserError('badInput', 'is not an ONNX model: it holds no graph (the file is truncated, empty or not ONNX).', file);
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? num(opsetEntry.version) : 1;
  if (opset < 7 || opset > 18)
    throw new UserError(
      'unsupported',
      `uses ONNX opset ${opset}; Feature Lens reads opsets 9 to 17 (re-export with torch.onnx.export(..., opset_version=13)).`,
      file,
    );
  return { model, graph: graph as onnx.GraphProto, opset };
}

export function importOnnx(bytes: Uint8Array, file: string): Network {
  const { model, graph, opset } = decodeModel(bytes, file);
  const ctx = new Importer(file, path.dirname(file), opset);
  try {
    for (const init of graph.initializer ?? []) ctx.values.set(init.name ?? '', { kind: 'const', t: decodeTensor(init, ctx.dir, file) });
    const { inputName, inDims } = graphInput(graph, ctx, file);
    ctx.values.set(inputName, { kind: 'dyn', ref: inputName, dims: inDims });
    for (const node of graph.node) for (const i of node.input ?? []) ctx.uses.set(i, (ctx.uses.get(i) ?? 0) + 1);
    importNodes(graph, ctx, file);

    const outName = graph.output?.[0]?.name ?? '';
    let out = ctx.values.get(outName);
    // A graph whose output is its input (Identity, Dropout alone) still gets one op to name the output.
    if (out?.kind === 'dyn' && out.ref === inputName)
      out = ctx.emit({ kind: 'identity', weights: {} }, [inputName], out.dims, { node: outName, opType: 'Identity' });
    if (!out || out.kind !== 'dyn') throw new UserError('unsupported', `its output "${outName}" is not computed from its input.`, file);
    return finish(ctx, model, inputName, inDims, out);
  } catch (e) {
    ctx.dispose();
    throw e;
  }
}

/** The graph's one input (the inputs that are not initializers): its name and dims, the batch as -1, the rest fixed. */
function graphInput(graph: onnx.GraphProto, ctx: Importer, file: string): { inputName: string; inDims: number[] } {
  const inputs = (graph.input ?? []).filter((i) => i.name && !ctx.values.has(i.name));
  if (inputs.length !== 1) {
    throw new UserError(
      'unsupported',
      `has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); Feature Lens reads models with one input image or vector.`,
      file,
    );
  }
  const input = inputs[0];
  const dimsRaw = input.type?.tensorType?.shape?.dim ?? [];
  const inDims = dimsRaw.map((d, i) => (i === 0 ? -1 : d.dimValue != null ? num(d.dimValue) : NaN));
  if (inDims.length < 2)
    throw new UserError(
      'unsupported',
      `its input "${input.name}" is ${inDims.length}-D; Feature Lens needs a batch axis first, then an image (NCHW), a sequence or a vector.`,
      file,
    );
  if (inDims.slice(1).some((d) => !(d > 0))) {
    const shown = dimsRaw.map((d) => (d.dimValue != null ? String(num(d.dimValue)) : d.dimParam || '?')).join(', ');
    throw new UserError(
      'unsupported',
      `its input "${input.name}" has shape [${shown}]; Feature Lens needs every size but the batch fixed (export with a fixed image size).`,
      file,
    );
  }
  if (inDims.length > 4)
    throw new UserError('unsupported', `its input "${input.name}" is ${inDims.length}-D; Feature Lens reads images (NCHW), sequences and vectors.`, file);
  return { inputName: input.name ?? 'input', inDims };
}

/** Each node of the graph through its entry in the op table (onnx/ops.ts), in the file's (topological) order. */
function importNodes(graph: onnx.GraphProto, ctx: Importer, file: string): void {
  graph.node.forEach((node, index) => {
    const n = new NodeView(node, ctx, index);
    const handler = Object.hasOwn(OPS, n.opType) && (!node.domain || node.domain === 'ai.onnx') ? OPS[n.opType] : undefined;
    if (!handler) {
      throw new UserError(
        'unsupported',
        `uses the ONNX op ${node.domain ? `${node.domain}.` : ''}${n.opType} (node "${n.name}"), which Feature Lens cannot import yet.`,
        file,
      );
    }
    handler(n);
  });
}

/** Drops ops the output does not need, gives every op its readable name, lists the inspectable layers. */
function finish(ctx: Importer, model: onnx.ModelProto, inputName: string, inDims: number[], out: Dyn): Network {
  // Dead ops: those the output does not read (e.g. the Sigmoid of a SiLU folded into a swish).
  const live = new Set<string>([out.ref]);
  for (let i = ctx.ops.length - 1; i >= 0; i--) if (live.has(ctx.ops[i].name)) for (const r of ctx.ops[i].inputs) live.add(r);
  const keep = ctx.ops.map((op) => live.has(op.name));
  for (let i = 0; i < ctx.ops.length; i++) {
    if (keep[i]) continue;
    for (const w of Object.values(ctx.ops[i].weights as Record<string, tf.Tensor | undefined>)) w?.dispose();
  }
  const ops = ctx.ops.filter((_, i) => keep[i]);
  const origins = ctx.origins.filter((_, i) => keep[i]);
  for (const [name, t] of ctx.constants) {
    if (!ops.some((op) => op.inputs.includes(name))) {
      t.dispose();
      ctx.constants.delete(name);
    }
  }
  const taken = new Set<string>([inputName, ...ctx.constants.keys()]);
  const names = moduleNames(origins, taken);
  const rename = new Map(ops.map((op, i) => [op.name, names[i]]));
  for (const op of ops) {
    op.name = rename.get(op.name) ?? op.name;
    op.inputs = op.inputs.map((r) => rename.get(r) ?? r);
  }
  const graphName = model.graph?.name;
  const constants = ctx.constants;
  return {
    name: graphName && graphName !== 'torch_jit' && graphName !== 'main_graph' ? graphName : path.basename(ctx.file, path.extname(ctx.file)),
    format: 'onnx',
    path: ctx.file,
    input: { name: inputName, shape: inDims.length === 4 ? [inDims[2], inDims[3], inDims[1]] : inDims.slice(1) },
    ops,
    constants,
    output: rename.get(out.ref) ?? out.ref,
    layers: inspectableLayers(ops),
    dispose() {
      for (const op of ops) for (const w of Object.values(op.weights as Record<string, tf.Tensor | undefined>)) w?.dispose();
      for (const c of constants.values()) c.dispose();
    },
  };
}

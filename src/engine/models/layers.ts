/**
 * The TF.js Layers importer: a loaded `tf.LayersModel` → `Network` (network.ts), one op per Keras layer with
 * its fused activation (a SeparableConv2D is two: its depthwise part `<name>/depthwise` and the 1×1 conv).
 * The InputLayer is the network input; ZeroPadding2D is a `pad`, ReLU(maxValue) a `clip`, Dropout and noise
 * layers `identity`, Flatten a `flatten` in NHWC order. The rule of each Keras layer class is in
 * `layerSpecs.ts`.
 *
 * Weights are shared with the LayersModel (the network's tensors are the model's variables), so training the
 * model with `fit` changes what the network computes. The LayersModel keeps owning them: the network's
 * `dispose` frees only its own constants, and whoever loaded the model disposes the model.
 */
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';
import { activationOf, type AnyLayer, type LayerContext, layerSpec } from './layerSpecs';
import { inspectableLayers, type Network, type Op, type OpSpec } from './network';

interface InboundNode {
  inboundLayers: tf.layers.Layer[];
  tensorIndices: number[];
  inputTensors: tf.SymbolicTensor[];
}

/** The inbound node through which `layer` belongs to `model` (a shared layer has several). */
function modelNode(model: tf.LayersModel, layer: tf.layers.Layer, file: string): InboundNode {
  const nodes = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
  if (nodes.length === 1) return nodes[0];
  const inner = (model as unknown as { model?: tf.LayersModel }).model;
  for (const m of [model, inner]) {
    const keys = (m as unknown as { containerNodes?: Set<string> } | undefined)?.containerNodes;
    if (!keys) continue;
    for (let i = 0; i < nodes.length; i++) if (keys.has(`${layer.name}_ib-${i}`)) return nodes[i];
  }
  throw new UserError(
    'unsupported',
    `uses layer ${layer.name} more than once (a shared layer); Feature Lens inspects models in which each layer is called once.`,
    file,
  );
}

/**
 * The network of a Layers model (one image input; channels-last). `file` names the model in messages.
 * A layer the representation has no op for throws one line naming its class, the layer and the file.
 */
export function layersNetwork(model: tf.LayersModel, file: string): Network {
  if (model.inputs.length !== 1)
    throw new UserError('unsupported', `has ${model.inputs.length} inputs; Feature Lens inspects models with one image input.`, file);
  const inputT = model.inputs[0];
  const inputShape = (inputT.shape as (number | null)[]).slice(1);
  if (inputShape.some((d) => d == null)) {
    throw new UserError(
      'unsupported',
      `has an input of unknown size [${inputShape.map((d) => d ?? '?').join(', ')}]; Feature Lens needs a fixed input shape.`,
      file,
    );
  }
  const inputName = inputT.sourceLayer?.name ?? 'input';
  const index = new Map(model.layers.map((l, i) => [l, i]));
  /** The value name of each layer's output. */
  const valueOf = new Map<tf.layers.Layer, string>();
  const ops: Op[] = [];
  const constants = new Map<string, tf.Tensor>();
  const unknown = (layer: tf.layers.Layer, why = '') =>
    new UserError('unsupported', `uses ${layer.getClassName()} layer ${layer.name}${why ? ` (${why})` : ''}, which Feature Lens cannot inspect yet.`, file);

  for (const layer of model.layers as AnyLayer[]) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      valueOf.set(layer, inputName);
      continue;
    }
    const node = modelNode(model, layer, file);
    const inputs = node.inputTensors.map((t, k) => {
      const from = node.inboundLayers[k];
      if (t === inputT || !index.has(from)) return inputName;
      if ((node.tensorIndices[k] ?? 0) !== 0) throw unknown(from, 'its second output is used');
      return valueOf.get(from)!;
    });
    const inShapes = node.inputTensors.map((t) => (t.shape as number[]).slice(1));
    const shape = outShape(layer);
    const cfg = layer.getConfig() as Record<string, unknown>;
    if (cfg.dataFormat === 'channelsFirst') throw unknown(layer, 'channels-first');
    const w = (name: string) => (layer[name] as { read(): tf.Tensor } | null | undefined)?.read() ?? undefined;
    const act = () => {
      const a = activationOf(cfg.activation);
      if (!a) throw unknown(layer, `activation ${String(cfg.activation)}`);
      return a.fn === 'linear' ? undefined : a;
    };
    const emit = (spec: OpSpec, name = layer.name, opInputs = inputs, opShape = shape) => {
      ops.push({ ...spec, name, inputs: opInputs, shape: opShape, source: cls } as Op);
      return name;
    };
    const c: LayerContext = { layer, cls, cfg, x: inShapes[0], shape, inputs, constants, w, act, emit, unknown };
    const spec = layerSpec(c);
    if (spec) emit(spec);
    valueOf.set(layer, layer.name);
  }
  const outLayer = model.outputs[0].sourceLayer;
  const output = valueOf.get(outLayer) ?? ops[ops.length - 1].name;
  return {
    name: model.name,
    format: 'tfjs-layers',
    path: file,
    input: { name: inputName, shape: inputShape as number[] },
    ops,
    constants,
    output,
    layers: inspectableLayers(ops),
    dispose() {
      for (const c of constants.values()) c.dispose();
      constants.clear();
    },
  };
}

/** A layer's output shape without the batch dimension. */
function outShape(layer: tf.layers.Layer): number[] {
  let s = layer.outputShape as (number | null)[] | (number | null)[][];
  if (Array.isArray(s[0])) s = s[0] as (number | null)[];
  return (s as (number | null)[]).slice(1).map((d) => d ?? -1);
}

/**
 * Keras model configs, as Keras 2 (`model_config`, `model.to_json()`) and Keras 3 (`config.json` in a `.keras`
 * zip) write them, brought to the one form TensorFlow.js Layers reads (`tf.models.modelFromJSON` takes Keras 2
 * configs: snake_case keys, `{class_name, config}` objects, list-form `inbound_nodes`).
 *
 * Keras 3 differences undone here: objects carry `module` / `registered_name` / `build_config`; dtypes are
 * DTypePolicy objects; InputLayer has `batch_shape`; a functional layer's `inbound_nodes` are
 * `{args, kwargs}` with `__keras_tensor__` objects whose `keras_history` is `[layer, node, tensor]`;
 * `input_layers` / `output_layers` of a one-input model may be one triple instead of a list of them.
 */
import { UserError } from '../runtime/errors';
import * as tf from '../runtime/tf';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Classes that are models, whose config holds `layers`. */
export const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** Keras 3 activation names TF.js knows under another name. */
const ACTIVATION_NAMES: Record<string, string> = { silu: 'swish' };

/**
 * A DTypePolicy (or a dtype string) as the plain dtype string TF.js expects. Mixed and half-precision policies
 * compute in float32 here: their float16 weights are read exactly (h5float16.ts), and float32 is what TF.js computes in.
 */
function dtypeOf(v: Json): Json {
  if (isObject(v) && isObject(v.config) && typeof v.config.name === 'string') v = v.config.name;
  if (typeof v === 'string' && (v.startsWith('mixed_') || v === 'float16' || v === 'bfloat16')) return 'float32';
  return v;
}

/** A nested serialized object (initializer, regularizer, constraint, activation): drops Keras 3's extra keys. */
function plainObject(v: Json): Json {
  if (Array.isArray(v)) return v.map(plainObject);
  if (!isObject(v)) return v;
  if (typeof v.class_name === 'string' && 'config' in v) {
    if (v.class_name === '__tuple__' && isObject(v.config)) return plainObject(v.config.value ?? []);
    // Keras 3 serializes a plain function (an activation) as {class_name: 'function', config: 'relu'}
    if (v.class_name === 'function' && typeof v.config === 'string') return ACTIVATION_NAMES[v.config] ?? v.config;
    return { class_name: v.class_name, config: plainObject(v.config) };
  }
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) out[k] = plainObject(x);
  return out;
}

/** Every `__keras_tensor__`'s `[layer, node, tensor]` in a Keras 3 call's args, in order. */
function kerasTensors(v: Json, out: [string, number, number][]): [string, number, number][] {
  if (Array.isArray(v)) for (const x of v) kerasTensors(x, out);
  else if (isObject(v)) {
    if (v.class_name === '__keras_tensor__' && isObject(v.config) && Array.isArray(v.config.keras_history)) {
      const [layer, node, tensor] = v.config.keras_history;
      out.push([String(layer), Number(node), Number(tensor)]);
    } else for (const x of Object.values(v)) kerasTensors(x, out);
  }
  return out;
}

/** Keras 3 `{args, kwargs}` inbound nodes (or Keras 2 lists, unchanged) as Keras 2 lists `[[layer, node, tensor, {}], ...]`. */
function inboundNodes(nodes: Json): Json {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((n) => {
    if (Array.isArray(n)) return n; // Keras 2
    if (!isObject(n)) return [];
    const tensors = kerasTensors([n.args ?? [], n.kwargs ?? {}], []);
    return tensors.map(([layer, node, tensor]) => [layer, node, tensor, {}]);
  });
}

/** `[["in", 0, 0]]` whatever form the file used. */
function tensorList(v: Json): Json {
  if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string') return [v];
  return v ?? [];
}

/**
 * A layer (or model) config in either Keras version → the Keras 2 form TF.js Layers reads. `file` names the
 * source in messages.
 */
export function normalizeLayer(obj: Json, file: string): JsonObject {
  if (!isObject(obj) || typeof obj.class_name !== 'string' || !isObject(obj.config)) {
    throw new UserError('badInput', `holds a layer config without "class_name" and "config": ${JSON.stringify(obj).slice(0, 120)}.`, file);
  }
  const cls = obj.class_name;
  const config: JsonObject = {};
  for (const [k, v] of Object.entries(obj.config)) {
    if (k === 'layers' && MODEL_CLASSES.has(cls) && Array.isArray(v)) config.layers = v.map((l) => normalizeLayer(l, file));
    else if (k === 'dtype') config.dtype = dtypeOf(v);
    else if (k === 'batch_shape') config.batch_input_shape = v;
    else if (k === 'input_layers' || k === 'output_layers') config[k] = tensorList(v);
    else if (k === 'activation' && typeof v === 'string') config.activation = ACTIVATION_NAMES[v] ?? v;
    else config[k] = plainObject(v);
  }
  delete config.optional; // Keras 3 InputLayer
  if (cls === 'Sequential' && Array.isArray(config.layers)) {
    // A Keras 3 Sequential built without an Input: the shape lives in build_config only.
    const first = config.layers[0];
    const buildShape = isObject(obj.build_config) ? obj.build_config.input_shape : undefined;
    if (isObject(first) && first.class_name !== 'InputLayer' && isObject(first.config) && !first.config.batch_input_shape && Array.isArray(buildShape)) {
      first.config.batch_input_shape = buildShape;
    }
  }
  const out: JsonObject = { class_name: cls, config };
  if (typeof obj.name === 'string') out.name = obj.name;
  if ('inbound_nodes' in obj) out.inbound_nodes = inboundNodes(obj.inbound_nodes);
  return out;
}

/** Layers that are not standard Keras but wrap a standard op, with what they wrap. */
const KNOWN_WRAPPERS: Record<string, string> = {
  QDense: "QKeras's quantized Dense (a Dense layer with quantized weights and activations)",
  QConv2D: "QKeras's quantized Conv2D",
  QConv1D: "QKeras's quantized Conv1D",
  QDepthwiseConv2D: "QKeras's quantized DepthwiseConv2D",
  QSeparableConv2D: "QKeras's quantized SeparableConv2D",
  QActivation: "QKeras's quantized Activation",
  QBatchNormalization: "QKeras's quantized BatchNormalization",
  QAveragePooling2D: "QKeras's quantized AveragePooling2D",
  TFOpLambda: 'a TensorFlow function call (tf.*) recorded in a functional model; its function is in the layer config',
  SlicingOpLambda: 'a tensor slice (x[...]) recorded in a functional model',
  Lambda: 'a Lambda layer: Python code marshalled into the file, which only Python can run',
};

/**
 * Checks every layer class (recursively) against the classes TF.js Layers registers; an unknown one is one
 * line naming the class, the layer and the file, saying what it wraps when that is known.
 */
export function checkLayerClasses(model: JsonObject, file: string): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const visit = (layer: JsonObject): void => {
    const cls = String(layer.class_name);
    const cfg = layer.config as JsonObject;
    const name = String(cfg?.name ?? layer.name ?? '?');
    if (!(cls in known)) {
      const wraps = KNOWN_WRAPPERS[cls];
      throw new UserError(
        'unsupported',
        `layer "${name}" is of the custom or unknown class ${cls}${wraps ? `, ${wraps}` : ''}: TensorFlow.js Layers has no such class, so the model cannot be imported${wraps && cls.startsWith('Q') ? ' (re-save it with the plain Keras layer it wraps)' : ''}.`,
        file,
      );
    }
    if (MODEL_CLASSES.has(cls) && Array.isArray(cfg.layers)) for (const l of cfg.layers) visit(l as JsonObject);
    if (isObject(cfg.layer)) visit(cfg.layer); // wrappers (TimeDistributed, Bidirectional)
  };
  visit(model);
}

/** Keras's `naming.to_snake_case`, which names a layer's weights group in a Keras 3 file. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Where a Keras 3 weights file keeps each layer's variables (saving_lib `_save_state`): a model's `layers`
 * in order, each at `<prefix>/layers/<snake_case class>[_k]`, the k-th repeat of a class counted from 1;
 * nested models recurse. Sequential's `layers` leave out its InputLayer; Functional's keep it. Returns
 * `[layer names from the top model down, group path]` for every layer that is not itself a model.
 */
export function keras3WeightPaths(model: JsonObject, prefix = ''): { names: string[]; path: string }[] {
  const cfg = model.config as JsonObject;
  const layers = (Array.isArray(cfg.layers) ? cfg.layers : []) as JsonObject[];
  const listed = model.class_name === 'Sequential' ? layers.filter((l) => l.class_name !== 'InputLayer') : layers;
  const used = new Map<string, number>();
  const out: { names: string[]; path: string }[] = [];
  for (const layer of listed) {
    let key = toSnakeCase(String(layer.class_name));
    const n = used.get(key);
    used.set(key, n === undefined ? 0 : n + 1);
    if (n !== undefined) key = `${key}_${n + 1}`;
    const path = `${prefix}layers/${key}`;
    const name = String((layer.config as JsonObject).name ?? layer.name);
    if (MODEL_CLASSES.has(String(layer.class_name))) {
      for (const inner of keras3WeightPaths(layer, `${path}/`)) out.push({ names: [name, ...inner.names], path: inner.path });
    } else out.push({ names: [name], path });
  }
  return out;
}

type TensorRef = [string, number, number, JsonObject];

const layerName = (l: JsonObject): string => String((l.config as JsonObject).name ?? l.name);

/**
 * A (normalized) Sequential as the equivalent functional config: an InputLayer (its own, or one made from the
 * first layer's `batch_input_shape`) and each layer called on the one before.
 */
function sequentialAsFunctional(model: JsonObject, file: string): JsonObject {
  const cfg = model.config as JsonObject;
  const layers = (cfg.layers as JsonObject[]).map((l) => ({ ...l, config: { ...(l.config as JsonObject) } }) as JsonObject);
  let input: JsonObject;
  if (layers[0]?.class_name === 'InputLayer') input = layers.shift()!;
  else {
    // the first layer's own input shape, or, for a nested model as the first layer, its InputLayer's
    const first = layers[0]?.config as JsonObject | undefined;
    const innerFirst = MODEL_CLASSES.has(String(layers[0]?.class_name))
      ? (((first?.layers as JsonObject[] | undefined)?.[0]?.config as JsonObject | undefined) ?? undefined)
      : undefined;
    const shape = first?.batch_input_shape ?? innerFirst?.batch_input_shape;
    if (!Array.isArray(shape)) throw new UserError('unsupported', `has a nested Sequential "${String(cfg.name)}" without an input shape.`, file);
    input = { class_name: 'InputLayer', config: { batch_input_shape: shape, dtype: 'float32', name: `${String(cfg.name)}_input` } };
    if (first) delete first.batch_input_shape;
  }
  const out: JsonObject[] = [{ ...input, name: layerName(input), inbound_nodes: [] }];
  for (const l of layers) out.push({ ...l, name: layerName(l), inbound_nodes: [[[layerName(out[out.length - 1]), 0, 0, {}]]] });
  return {
    class_name: 'Functional',
    config: { name: cfg.name, layers: out, input_layers: [[layerName(out[0]), 0, 0]], output_layers: [[layerName(out[out.length - 1]), 0, 0]] },
  };
}

/**
 * Models used as layers (a Keras application base inside a Sequential, a Sequential block in a functional model)
 * inlined into one flat functional config, so that every layer is a layer of the top model. An inner layer is
 * renamed `<outer>/<inner>`, which is also how its weights are addressed (`keras3WeightPaths`; Keras 2 weight
 * names start with the inner layer's name). A model without nested models is returned unchanged.
 */
export function inlineNestedModels(model: JsonObject, file: string): JsonObject {
  const layersOf = (m: JsonObject): JsonObject[] => ((m.config as JsonObject).layers as JsonObject[] | undefined) ?? [];
  if (!layersOf(model).some((l) => MODEL_CLASSES.has(String(l.class_name)))) return model;
  const top = model.class_name === 'Sequential' ? sequentialAsFunctional(model, file) : model;
  const cfg = top.config as JsonObject;
  const out: JsonObject[] = [];
  /** Where a reference to a nested model's output now points: `[inner output layer, node, tensor]`. */
  const redirect = new Map<string, [string, number, number]>();
  const fix = (ref: Json): TensorRef => {
    const [n, node, tensor, kwargs] = ref as TensorRef;
    const to = redirect.get(String(n));
    return to ? [to[0], to[1], to[2], kwargs ?? {}] : [n, node, tensor, kwargs ?? {}];
  };
  const fixNodes = (nodes: Json): Json => (Array.isArray(nodes) ? nodes.map((n) => (Array.isArray(n) ? n.map(fix) : n)) : []);
  for (const layer of layersOf(top)) {
    const name = layerName(layer);
    if (!MODEL_CLASSES.has(String(layer.class_name))) {
      out.push({ ...layer, inbound_nodes: fixNodes(layer.inbound_nodes) });
      continue;
    }
    const nodes = fixNodes(layer.inbound_nodes) as TensorRef[][];
    if (nodes.length !== 1 || nodes[0].length !== 1) {
      throw new UserError(
        'unsupported',
        `calls the nested model "${name}" ${nodes.length === 1 ? 'on several inputs' : `${nodes.length} times`}; Feature Lens inlines a nested model called once on one input.`,
        file,
      );
    }
    const inner = inlineNestedModels(layer.class_name === 'Sequential' ? sequentialAsFunctional(layer, file) : layer, file);
    const innerCfg = inner.config as JsonObject;
    const inputs = (innerCfg.input_layers as TensorRef[]).map((r) => String(r[0]));
    const rename = (n: string): string => `${name}/${n}`;
    const innerRef = new Map<string, [string, number, number]>();
    for (const i of inputs) innerRef.set(i, [nodes[0][0][0], nodes[0][0][1], nodes[0][0][2]]);
    for (const l of layersOf(inner)) {
      const n = layerName(l);
      if (inputs.includes(n)) continue;
      innerRef.set(n, [rename(n), 0, 0]);
      const inbound = (Array.isArray(l.inbound_nodes) ? l.inbound_nodes : []).map((nd) =>
        (nd as TensorRef[]).map(([src, node, tensor, kwargs]) => {
          const to = innerRef.get(String(src));
          if (!to) throw new UserError('badInput', `has a nested layer "${n}" reading "${String(src)}", which comes later or not at all.`, file);
          // the nested model's input is the tensor the outer model called it on; inner layers keep their indices
          return inputs.includes(String(src)) ? [to[0], to[1], to[2], kwargs ?? {}] : [to[0], node, tensor, kwargs ?? {}];
        }),
      );
      out.push({ ...l, name: rename(n), config: { ...(l.config as JsonObject), name: rename(n) }, inbound_nodes: inbound });
    }
    const outputs = innerCfg.output_layers as TensorRef[];
    if (outputs.length !== 1) throw new UserError('unsupported', `has the nested model "${name}" with ${outputs.length} outputs; one is supported.`, file);
    redirect.set(name, innerRef.get(String(outputs[0][0]))!);
  }
  const fixTop = (refs: Json): Json => (refs as TensorRef[]).map((r) => fix(r).slice(0, 3) as Json);
  return { class_name: 'Functional', config: { ...cfg, layers: out, input_layers: cfg.input_layers, output_layers: fixTop(cfg.output_layers) } };
}

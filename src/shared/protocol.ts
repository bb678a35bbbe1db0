/**
 * The engine RPC: every request the extension host (or a test) sends to the engine process, and every
 * message the engine sends back. Plain data only: numbers, strings, and Float32Array/Int32Array/Uint8Array
 * (the engine is forked with `serialization: 'advanced'`, which copies typed arrays as they are).
 * Imports nothing, so the extension, the engine, the webview and the tests can all use it.
 */

/** A backend the engine can compute on. */
export type Backend = 'tensorflow' | 'wasm' | 'cpu';
/** The value of the `featureLens.engine.backend` setting. */
export type BackendSetting = 'auto' | Backend;
export const BACKEND_SETTINGS: readonly BackendSetting[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** A dense float array with its shape, row-major (last index fastest), e.g. `[height, width, channels]`. */
export interface FloatArray {
  shape: number[];
  data: Float32Array;
}

/** Which part of a lens file's dataset. Inspection uses `test` unless told otherwise. */
export type Split = 'train' | 'test';

/** How a node's feature map is reduced to one score per image (docs/architecture.md, "Node score"). */
export type ScoreMetric = 'frobenius' | 'max' | 'mean';
export const SCORE_METRICS: readonly ScoreMetric[] = ['frobenius', 'max', 'mean'];
/** Every score metric's name inside a sentence ("top images by maximum activation"). */
export const SCORE_METRIC_PHRASES: Readonly<Record<ScoreMetric, string>> = {
  frobenius: 'Frobenius norm',
  max: 'maximum activation',
  mean: 'mean activation',
};
/** The same names on their own (the panel's ranking list, the quick pick): capitalized. */
export const SCORE_METRIC_LABELS = Object.fromEntries(SCORE_METRICS.map((m) => [m, SCORE_METRIC_PHRASES[m][0].toUpperCase() + SCORE_METRIC_PHRASES[m].slice(1)])) as Readonly<Record<ScoreMetric, string>>;

export function isScoreMetric(v: unknown): v is ScoreMetric {
  return typeof v === 'string' && (SCORE_METRICS as readonly string[]).includes(v);
}

/**
 * How a node is projected back to pixel space.
 * `deconv`: Zeiler & Fergus with max-pool switches; `deconvNoSwitches`: without switches (the maximum copied
 * over the pooling window); `guided`: guided backpropagation; `saliency`: plain input gradient;
 * `gradcam`: Grad-CAM heat map at the node's layer, upsampled to the input.
 */
export type ProjectionMethod = 'deconv' | 'deconvNoSwitches' | 'guided' | 'saliency' | 'gradcam';
/** Every projection method with the name it is shown under (the one list the engine and the webview check against). */
export const PROJECTION_METHOD_LABELS: Readonly<Record<ProjectionMethod, string>> = {
  deconv: 'Deconvolution (with switches)',
  deconvNoSwitches: 'Deconvolution without switches (maximum copied over the pooling window)',
  guided: 'Guided backpropagation',
  saliency: 'Saliency (input gradient)',
  gradcam: 'Grad-CAM',
};
export const PROJECTION_METHODS = Object.keys(PROJECTION_METHOD_LABELS) as readonly ProjectionMethod[];
export function isProjectionMethod(v: unknown): v is ProjectionMethod {
  return typeof v === 'string' && Object.hasOwn(PROJECTION_METHOD_LABELS, v);
}

/** What a layer is, for the views: how its nodes are shown. */
export type LayerKind = 'input' | 'dense' | 'conv' | 'depthwiseConv' | 'pool' | 'activation' | 'normalization' | 'merge' | 'reshape' | 'other';

/** One layer of a model, as the Models view lists it. */
export interface LayerInfo {
  /** Index in the network's inspectable layers (engine `Network.layers`: no input, no data-moving ops). */
  index: number;
  name: string;
  /** What the file called it, e.g. `Conv2D` (a Keras layer class) or `Conv` (an ONNX op type). */
  className: string;
  kind: LayerKind;
  /** Output shape without the batch dimension, e.g. `[24, 24, 8]` or `[10]`. */
  outputShape: number[];
  /** Number of nodes: units of a dense layer, channels of a conv/pool layer (the last output dimension). */
  nodes: number;
  params: number;
  /** Activation function name when the layer has one (`relu`, `softmax`, `linear`...). */
  activation?: string;
  /** Whether this layer has weights that `weights` can show. */
  hasWeights: boolean;
  /** Names of the values this layer's op reads (ops, the network input or constants), in order. */
  inbound: string[];
}

/**
 * A lens's input preprocessing (`preprocess` in the lens file): the model reads x = (pixel · scale − mean) / std
 * per channel, pixel in 0..255, channels in `order` (BGR: the dataset's RGB reversed). `mean`/`std` hold one
 * value for every channel or one per channel.
 */
export interface PreprocessSpec {
  scale: number;
  mean: number[];
  std: number[];
  order: 'rgb' | 'bgr';
}

/** One line for the model page and `feature-lens info`: `scale 1/255, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225], RGB`. */
export function describePreprocess(p: PreprocessSpec): string {
  const inv = 1 / p.scale;
  const scale = p.scale < 1 && Math.abs(inv - Math.round(inv)) < 1e-6 * inv ? `1/${Math.round(inv)}` : String(p.scale);
  return `scale ${scale}, mean [${p.mean.join(', ')}], std [${p.std.join(', ')}], ${p.order.toUpperCase()}`;
}

export interface ModelInfo {
  /** Absolute path of the model.json. */
  path: string;
  /** Model name from the file (`model.name`). */
  name: string;
  /** Input shape without the batch dimension, e.g. `[28, 28, 1]`. */
  inputShape: number[];
  layers: LayerInfo[];
  totalParams: number;
  /**
   * Hex digest of the weights (sha256 of the weight bytes in manifest order). Loaded for a lens with `preprocess`,
   * the digest also covers the preprocessing, so a top-activation index is only reused for the same input.
   */
  weightsHash: string;
  /** The lens's input preprocessing this model runs behind, when loaded for a lens that has one. */
  preprocess?: PreprocessSpec;
  /** Modification time (ms) of model.json, so clients can tell a retrained model. */
  mtimeMs: number;
  backend: Backend;
  /** What computes this model's forward-only work (scan, feature maps, layer by class); see EngineStatus. */
  forward?: ForwardPath;
  forwardNote?: string;
}

/**
 * What runs a forward pass that needs no gradient: the native runtime (onnxruntime-node, the network exported
 * to ONNX) where it loads and the network exports, else TensorFlow.js on `backend` (also the reference).
 * Gradient methods always run on `backend`.
 */
export type ForwardPath = 'onnxruntime' | 'tfjs';

/** The engine's state, shown in the status bar. */
export interface EngineStatus {
  backend: Backend;
  /** Why `auto` did not pick a faster backend, if it did not. */
  backendNote?: string;
  /** The forward path (absent from engines before it existed). */
  forward?: ForwardPath;
  /** Which path computed what last, and why not natively when not. */
  forwardNote?: string;
  /** Threads the backend computes on (wasm: its thread pool; 1 elsewhere). */
  threads?: number;
  tfjsVersion: string;
  pid: number;
  /** Resident memory in bytes. */
  rss: number;
  numTensors: number;
}

/** A lens file, parsed and with every path resolved to an absolute path. */
export interface LensInfo {
  path: string;
  name: string;
  description?: string;
  /** Absolute path of the model.json the lens names (may not exist yet if `training` can produce it). */
  model: string;
  modelExists: boolean;
  /** Every file or folder the lens reads or writes, absolute, so the host can check they stay in the workspace. */
  paths: string[];
  classes: string[];
  /** Input shape `[h, w, c]` the dataset yields. */
  imageShape: number[];
  datasetFormat: string;
  splits: { train: number; test: number };
  hasTraining: boolean;
  /** Training results written beside the lens file by the last training run, if any. */
  lastTraining?: TrainResult;
  /** Why a training-results file that exists was not read (malformed or not a training result). */
  trainingNote?: string;
  /**
   * Why the dataset could not be opened (a missing file...), with the lens field at fault (`dataset.train.images`);
   * the lens is still listed and its model still opens. `classes` are then those the lens names, `splits` are 0.
   */
  datasetError?: { message: string; field: string };
  /** The lens's input preprocessing (`preprocess`), applied in front of the model by every method. */
  preprocess?: PreprocessSpec;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  /** With `training.restarts`: this attempt (1-based; the last one runs to the end whatever its accuracy) of at most `attempts`. */
  attempt?: number;
  attempts?: number;
}

/** One epoch of training history. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  testLoss?: number;
  testAccuracy?: number;
}

export interface TrainResult {
  lens: string;
  model: string;
  backend: Backend;
  epochs: number;
  trainImages: number;
  testImages: number;
  testAccuracy: number;
  /** 1 - testAccuracy, as the seed reports it. */
  testError: number;
  trainAccuracy: number;
  /** `confusion[actual][predicted]` counts on the test split. */
  confusion: number[][];
  classes: string[];
  history: EpochRecord[];
  seconds: number;
  imagesPerSecond: number;
  /** Extra evaluations the recipe asks for, e.g. the EFL cross test (train on negatives, test on originals). */
  crossTests?: { name: string; accuracy: number; error: number }[];
  /** With `training.restarts`: which attempt was kept, and the seed it used. */
  attempts?: number;
  seed?: number;
  /**
   * sha256 of the weights these results were measured on (`ModelInfo.weightsHash`): results whose hash is not
   * that of the model on disk are stale (the run was killed between writing the model and its results).
   */
  weightsHash?: string;
}

/** Where an input image comes from: a dataset image of a lens file, or pixels given directly. */
export type InputRef =
  | { lens: string; index: number; split?: Split }
  | { image: FloatArray };

/** One image of a dataset: `[h, w, c]` float32 in [0, 1]. */
export interface DatasetImage {
  index: number;
  split: Split;
  label: number;
  className: string;
  image: FloatArray;
}

/**
 * Weights of a layer (docs/architecture.md, "Weights"). `tiles[n]` is node n's weights as images:
 * dense fed by the input: one tile `[h, w, c]` (the input image shape);
 * conv: `[kh, kw, 3]` when the layer reads 3 channels and `rgb` is true, else one `[kh, kw, 1]` per input channel.
 */
export interface WeightsResult {
  layer: number;
  /** The nodes returned, in order (all nodes, or the one asked for). */
  nodes: number[];
  /** `tiles[i][t]`: tile t of node `nodes[i]`. */
  tiles: FloatArray[][];
  rgb: boolean;
  /** Real value range over the whole layer's kernel, for a legend centred on zero. */
  min: number;
  max: number;
  bias?: Float32Array;
}

/** A layer's output for one image. `maps.shape` is the layer's output shape, e.g. `[h, w, nodes]` or `[nodes]`. */
export interface FeatureMapsResult {
  layer: number;
  maps: FloatArray;
  min: number;
  max: number;
  /** The model's output (class probabilities or logits) for the image. */
  output: Float32Array;
}

/** A projection of one node to pixel space for one image, `[h, w, c]` like the input. */
export interface ProjectionResult {
  method: ProjectionMethod;
  layer: number;
  node: number;
  projection: FloatArray;
  min: number;
  max: number;
}

/** One entry of a node's top-k list. */
export interface TopImage {
  index: number;
  score: number;
  label: number;
  /** For the `max` metric: where in the feature map the maximum sits, `[y, x]`. */
  location?: [number, number];
}

export interface ScanSummary {
  lens: string;
  /** Absolute path of the index file. */
  index: string;
  metric: ScoreMetric;
  k: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** true when an existing complete index for the same weights and dataset was reused. */
  reused: boolean;
  /** true when the scan continued a previously cancelled one. */
  resumed: boolean;
  /** Images that helper engine processes scanned (0 when the scan ran in one process). */
  helperImages: number;
  /** Indexes of earlier weights of the same model and data that were deleted (see `KEEP_EARLIER_INDEXES`). */
  removedIndexes: number;
}

export interface TopActivationsResult {
  layer: number;
  node: number;
  metric: ScoreMetric;
  top: TopImage[];
}

/** The seed's Figures 28–29 plus dead and class-selective nodes, from one pass over the test split. */
export interface LayerByClassResult {
  classes: string[];
  /** Layer indices (rows of the table are classes, columns these layers). */
  layers: number[];
  layerNames: string[];
  /** `norms[c][l]`: mean over images of class c of the Frobenius norm of layer `layers[l]`'s whole activation. */
  norms: number[][];
  /** Per layer, per node: fraction of images on which the node's map is all zero (never fires). */
  deadFraction: number[][];
  /** Per layer, per node: share of the node's summed score that falls on its top class (1/classes = unselective, 1 = one class only). */
  selectivity: number[][];
  /** Per layer, per node: the class that node's score is concentrated on. */
  topClass: number[][];
}

export interface MaximizeOptions {
  steps?: number;
  learningRate?: number;
  /** Use the Fourier-basis parameterization (default true). */
  fourier?: boolean;
  /** Jitter/scale/rotate robustness (default true). */
  transforms?: boolean;
  /** Steps during which gradients pass through ReLUs that are off (default 16). */
  warmup?: number;
  l2?: number;
  tv?: number;
  seed?: number;
}

export interface MaximizeResult {
  layer: number;
  node: number;
  image: FloatArray;
  /** Objective value at each step. */
  curve: number[];
  /** The model's output for the final image. */
  output: Float32Array;
}

/** Everything the node page needs, in one request (weights, top images with maps and projections). */
export interface NodeInspection {
  model: ModelInfo;
  layer: number;
  node: number;
  weights?: WeightsResult;
  /** Absent when no top-activation index exists yet for this lens. */
  top?: {
    metric: ScoreMetric;
    items: {
      entry: TopImage;
      className: string;
      image: FloatArray;
      /** The node's feature map for that image (`[h, w]` for conv, `[1]` for dense). */
      featureMap: FloatArray;
      projection?: FloatArray;
    }[];
  };
  method: ProjectionMethod;
  /** Why the projection is missing (e.g. unsupported layer type), when it is. */
  projectionError?: string;
}

/** Progress of a long job. */
export interface Progress {
  /** 0..1 when known. */
  fraction?: number;
  /** Work done of the whole (this attempt's, for a training that restarts), for throughput and time left. */
  count?: { done: number; total: number; unit: 'images' | 'steps' };
  message?: string;
  train?: TrainProgress;
  /** Objective value for activation maximization. */
  objective?: number;
}

/**
 * The engine's methods: request params -> reply value. Every method is one request; replies never throw
 * across the boundary (see `Result`).
 */
export interface EngineMethods {
  status(p: Record<string, never>): EngineStatus;
  /** With `lens`: the model as that lens runs it (its `preprocess` in front, `weightsHash` covering it). */
  modelInfo(p: { model: string; lens?: string }): ModelInfo;
  lens(p: { lens: string }): LensInfo;
  train(p: { lens: string }): TrainResult;
  weights(p: { model: string; layer: number; node?: number }): WeightsResult;
  datasetImage(p: { lens: string; index: number; split?: Split }): DatasetImage;
  /** With `lens` (a lens file naming `model`), the lens's `preprocess` runs in front of the model, as in the methods taking a lens. */
  featureMaps(p: { model: string; lens?: string; layer: number; input: InputRef }): FeatureMapsResult;
  project(p: { model: string; lens?: string; layer: number; node: number; input: InputRef; method: ProjectionMethod; maxOnly?: boolean }): ProjectionResult;
  scan(p: { lens: string; storageDir: string; metric?: ScoreMetric; k?: number }): ScanSummary;
  topActivations(p: { lens: string; storageDir: string; layer: number; node: number; metric?: ScoreMetric }): TopActivationsResult | null;
  /** With `indexOnly`, only an existing index is read: null when there is none (nothing is scanned). */
  layerByClass(p: { lens: string; storageDir?: string; indexOnly?: boolean }): LayerByClassResult | null;
  maximize(p: { model: string; lens?: string; layer: number; node: number; options?: MaximizeOptions }): MaximizeResult;
  inspectNode(p: { lens: string; storageDir: string; layer: number; node: number; method?: ProjectionMethod; k?: number; metric?: ScoreMetric }): NodeInspection;
  /**
   * Part of a parallel scan: images `[start, end)` of the lens's test split, scanned by a helper engine
   * process. Refused when the model's weights no longer hash to `weightsHash`. Replies with the partial
   * scan in the index file's binary encoding (engine/scanIndex.ts).
   */
  scanRange(p: { lens: string; weightsHash: string; datasetHash?: string; k: number; start: number; end: number; batchSize?: number; floors?: Float32Array }): Uint8Array;
  /** Small PNG files of dataset images under `outDir` (tree-item icons); absolute paths in the order given. */
  thumbnails(p: { lens: string; indices: number[]; outDir: string; split?: Split }): string[];
  /**
   * The absolute paths a lens file names (`LensInfo.paths`), from its JSON alone: no model or data file is opened,
   * so the host can ask about paths outside the workspace before anything reads them (extension/workspaceGuard.ts).
   */
  lensPaths(p: { lens: string }): string[];
}
export type MethodName = keyof EngineMethods;
export type ParamsOf<M extends MethodName> = Parameters<EngineMethods[M]>[0];
export type ReplyOf<M extends MethodName> = ReturnType<EngineMethods[M]>;

/** Error codes, so the host can choose what to tell the user. */
export type ErrorCode =
  | 'badInput' // a model, dataset, lens file or parameter the user gave is wrong
  | 'notFound' // a file is missing
  | 'unsupported' // a layer type or model format a method cannot handle
  | 'cancelled'
  | 'engineDied' // the engine process exited while the request was pending
  | 'internal';

export interface EngineError {
  code: ErrorCode;
  message: string;
  /** The file the problem is in, when there is one. */
  file?: string;
}

/** A reply value: never thrown across the process boundary. */
export type Result<T> = { ok: T } | { err: EngineError };

export type EngineRequest = {
  [M in MethodName]: { type: 'request'; id: number; method: M; params: ParamsOf<M> };
}[MethodName];
export interface CancelMessage {
  type: 'cancel';
  id: number;
}
export type ToEngine = EngineRequest | CancelMessage;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type FromEngine =
  | { type: 'ready'; status: EngineStatus }
  | { type: 'reply'; id: number; result: Result<unknown> }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'log'; level: LogLevel; message: string };

/** Environment variables the host sets when it forks the engine. */
export const ENGINE_ENV = {
  /** `auto` | `tensorflow` | `wasm` | `cpu`. */
  backend: 'FEATURE_LENS_BACKEND',
  /** Threads of the wasm backend (a whole number ≥ 1); unset: 1. */
  wasmThreads: 'FEATURE_LENS_WASM_THREADS',
  /** The engine's memory budget in MB (`featureLens.engine.maxMemoryMB`); unset or 0: from the machine's memory. */
  maxMemoryMB: 'FEATURE_LENS_MAX_MEMORY_MB',
  /** Set to `1` to make the entry serve RPC over the IPC channel instead of running the CLI. */
  serve: 'FEATURE_LENS_SERVE',
} as const;

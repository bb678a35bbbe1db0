/** What the engine tells about a model, a lens file and a training run. */
import type { Backend } from './engineNames';

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
  /** Modification time (ms) of model.json, so clients can tell a retrained model. */
  mtimeMs: number;
  backend: Backend;
  /** What the import left out that the user should know (a detection model's post-processing), in one sentence. */
  note?: string;
  /** The lens's input preprocessing this model runs behind, when loaded for a lens that has one. */
  preprocess?: PreprocessSpec;
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
  /** With `training.checkpoints`: the weights kept at the end of those epochs (model files beside the model, absolute paths). */
  checkpoints?: { epoch: number; model: string; weightsHash?: string }[];
}

/**
 * The data the engine computes and replies with (the engine RPC in `protocol.ts` is built from these and from
 * `engineNames.ts` and `modelData.ts`). Plain data only: numbers, strings, typed arrays.
 */
import type { FloatArray, Split, ScoreMetric, ProjectionMethod } from './engineNames';
import type { ModelInfo, TrainProgress } from './modelData';

/**
 * Where an input image comes from: a dataset image of a lens file, pixels given directly, or an image file
 * (PNG or JPEG, no lens file needed) fitted to the model's input as an image-folder lens would.
 */
export type InputRef = { lens: string; index: number; split?: Split } | { image: FloatArray } | { file: string };

/** Extensions of the image files the engine decodes (a picked image, an image-folder dataset), without the dot. */
export const IMAGE_FILE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg'];

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
  /** The image as the model read it, when it came from a file (`InputRef` `{file}`). */
  input?: FloatArray;
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

/** Everything the layer page needs, in one request (every node's weights, the feature maps of one test image). */
export interface LayerInspection {
  model: ModelInfo;
  layer: number;
  weights?: WeightsResult;
  /** Absent without a lens file or without test images. */
  featureMaps?: {
    /** The test image shown, and how many there are. */
    index: number;
    images: number;
    className: string;
    image: FloatArray;
    /** The layer's output for that image, `[h, w, nodes]` or `[nodes]`. */
    maps: FloatArray;
    min: number;
    max: number;
  };
  /** Without a lens file: why the picked image file could not be read (one line naming it). */
  pickedError?: string;
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

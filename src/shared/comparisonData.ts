/**
 * The data of the comparison requests (`compare`, `sanity`, `timelapse`: engine/methods/compare.ts, sanity.ts,
 * timelapse.ts) and of a picked image's inspection (`inspectImage`): plain data, re-exported by protocol.ts.
 */
import type { NodeInspection, TopImage, WeightsResult } from './engineData';
import type { FloatArray, ProjectionMethod, ScoreMetric } from './engineNames';

/** One model on one dataset in a cross test (engine/methods/crossTest.ts). */
export interface CrossCell {
  /** Error in [0, 1]; null when the model cannot read the dataset's images (`note` says why). */
  error: number | null;
  images: number;
  /** `[actual][predicted]`: rows the dataset's classes, columns the model's outputs. */
  confusion?: number[][];
  note?: string;
}

/** Each model on each lens file's test split: `cells[model][dataset]`. */
export interface CrossTable {
  models: string[];
  datasets: { name: string; source: string; classes: string[]; images: number }[];
  cells: CrossCell[][];
}

/** A node of model A and the node of model B it is matched with, and their correlation (NaN: a constant node). */
export interface NodeMatchPair {
  a: number;
  b: number;
  correlation: number;
}

/** How node matching samples a layer: per image and position, or per image (conv nodes' spatial means). */
export type MatchSampling = 'positions' | 'spatialMean';

/** Node matching by activation correlation (Li et al. 2016) of a layer of A with a layer of B (engine/methods/compare.ts). */
export interface NodeMatching {
  layerA: { index: number; name: string; nodes: number; shape: number[] };
  layerB: { index: number; name: string; nodes: number; shape: number[] };
  /** The dataset the activations came from (A's test split). */
  dataset: string;
  images: number;
  samples: number;
  sampling: MatchSampling;
  /** `correlations[i][j]`: node i of A with node j of B; null where either node is constant. */
  correlations: (number | null)[][];
  /** For each node of A, its best-correlated node of B. */
  bestAtoB: NodeMatchPair[];
  /** For each node of B, its best-correlated node of A (`a` is still A's node). */
  bestBtoA: NodeMatchPair[];
  /** One-to-one matching maximizing the summed correlation (Hungarian method). */
  oneToOne: NodeMatchPair[];
}

/** `compare`: the cross test of two lens files' models and node matching between them. */
export interface CompareResult {
  a: { lens: string; model: string; name: string };
  b: { lens: string; model: string; name: string };
  crossTest: CrossTable;
  matching: NodeMatching;
}

/** One step of the cascading randomization of `sanity` (engine/methods/sanity.ts). */
export interface SanityStep {
  /** The ops randomized at this step, top down (the last one is the lowest). */
  randomized: string[];
  /** Means over the top images (null: undefined for every image). */
  spearmanAbs: number | null;
  ssim: number | null;
  perImage: { spearmanAbs: (number | null)[]; ssim: (number | null)[] };
}

/** `sanity`: similarities of the node's projections with randomized weights to the trained ones, per method and step. */
export interface SanityResult {
  lens: string;
  model: string;
  layer: number;
  layerName: string;
  node: number;
  metric: ScoreMetric;
  /** Test-split indices of the top images the projections are of. */
  images: number[];
  seed: number;
  methods: { method: ProjectionMethod; steps: SanityStep[]; error?: string; maps?: SanityMaps }[];
}

/**
 * With `sanity`'s `maps` parameter: the projections of one cascade step, as `projectBatch` returns them (signed,
 * `[images, h, w, c]`, the images in `SanityResult.images` order). Steps `1..step` only are computed then.
 */
export interface SanityMaps {
  /** Layers randomized (0: none, the trained projections). */
  step: number;
  /** Every layer the cascade can randomize, top down (`step` of them are randomized here). */
  cascade: string[];
  shape: number[];
  trained: Float32Array;
  randomized: Float32Array;
}

/** One checkpoint of a node's time-lapse (engine/methods/timelapse.ts). */
export interface TimelapseFrame {
  epoch: number;
  model: string;
  weightsHash: string;
  layer: number;
  weights?: WeightsResult;
  top: TopImage[];
  /** The best top-k score, and their mean. */
  topScore: number;
  meanTopScore: number;
  /** |top-k ∩ the previous checkpoint's top-k| / k; absent for the first (and for a frame computed alone). */
  overlapWithPrevious?: number;
  /** With a projection method asked for: the top images with the node's feature maps and projections. */
  items?: NonNullable<NodeInspection['top']>['items'];
  projectionError?: string;
}

/** `timelapse`: a node at every checkpoint of a lens's series. */
export interface TimelapseResult {
  lens: string;
  layerName: string;
  node: number;
  metric: ScoreMetric;
  k: number;
  frames: TimelapseFrame[];
}

/**
 * A node seen through one image file the user picked (a model without a lens file): the image as the model
 * reads it, the node's feature map and its projection by `method`, like one column of the node page's top images.
 */
export interface ImageInspection {
  /** Absolute path of the image file. */
  file: string;
  layer: number;
  node: number;
  method: ProjectionMethod;
  /** `[h, w, c]` float32 in [0, 1]: the file decoded and fitted to the model's input. */
  image: FloatArray;
  /** The node's feature map (`[h, w]` for conv, `[1]` for dense). */
  featureMap: FloatArray;
  /** The Frobenius norm of the feature map (the default top-image score). */
  score: number;
  projection?: FloatArray;
  /** Why the projection is missing (e.g. unsupported layer type), when it is. */
  projectionError?: string;
}

/**
 * The engine RPC: every request the extension host (or a test) sends to the engine process, and every
 * message the engine sends back. Plain data only: numbers, strings, and Float32Array/Int32Array/Uint8Array
 * (the engine is forked with `serialization: 'advanced'`, which copies typed arrays as they are).
 * Imports only the data types (`engineNames.ts`, `modelData.ts`, `engineData.ts`, re-exported here), so the
 * extension, the engine, the webview and the tests can all use it.
 */
export * from './engineNames';
export * from './modelData';
export * from './engineData';
export * from './comparisonData';
import type {
  DatasetImage,
  FeatureMapsResult,
  InputRef,
  LayerByClassResult,
  LayerInspection,
  MaximizeOptions,
  MaximizeResult,
  NodeInspection,
  Progress,
  ProjectionResult,
  ScanSummary,
  TopActivationsResult,
  WeightsResult,
} from './engineData';
import type { ProjectionMethod, ScoreMetric, Split } from './engineNames';
import type { EngineStatus, LensInfo, ModelInfo, TrainResult } from './modelData';
import type { CompareResult, ImageInspection, MatchSampling, NodeMatching, SanityResult, TimelapseResult } from './comparisonData';

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
  /** A small PNG of the layer's first filters (editor hovers); null when its weights are not images. */
  filterPreview(p: { model: string; layer: number }): Uint8Array | null;
  datasetImage(p: { lens: string; index: number; split?: Split }): DatasetImage;
  /** With `lens` (a lens file naming `model`), the lens's `preprocess` runs in front of the model, as in the methods taking a lens. */
  featureMaps(p: { model: string; lens?: string; layer: number; input: InputRef }): FeatureMapsResult;
  project(p: { model: string; lens?: string; layer: number; node: number; input: InputRef; method: ProjectionMethod; maxOnly?: boolean }): ProjectionResult;
  scan(p: { lens: string; storageDir: string; metric?: ScoreMetric; k?: number }): ScanSummary;
  topActivations(p: { lens: string; storageDir: string; layer: number; node: number; metric?: ScoreMetric }): TopActivationsResult | null;
  /** With `indexOnly`, only an existing index is read: null when there is none (nothing is scanned). */
  layerByClass(p: { lens: string; storageDir?: string; indexOnly?: boolean }): LayerByClassResult | null;
  maximize(p: { model: string; lens?: string; layer: number; node: number; options?: MaximizeOptions }): MaximizeResult;
  inspectNode(p: {
    lens: string;
    storageDir: string;
    layer: number;
    node: number;
    method?: ProjectionMethod;
    k?: number;
    metric?: ScoreMetric;
  }): NodeInspection;
  /** A node's feature map and projection for one image file (no lens file needed): see `ImageInspection`. */
  inspectImage(p: { model: string; lens?: string; file: string; layer: number; node: number; method?: ProjectionMethod }): ImageInspection;
  /** The layer page: the lens's model (else `model`), with feature maps of test image `image` when there is a lens. */
  inspectLayer(p: { model: string; lens?: string; layer: number; image?: number; file?: string }): LayerInspection;
  /**
   * Part of a parallel scan: images `[start, end)` of the lens's test split, scanned by a helper engine
   * process. Refused when the model's weights no longer hash to `weightsHash`. Replies with the partial
   * scan in the index file's binary encoding (engine/scanIndex.ts).
   */
  scanRange(p: {
    lens: string;
    weightsHash: string;
    datasetHash?: string;
    k: number;
    start: number;
    end: number;
    batchSize?: number;
    floors?: Float32Array;
  }): Uint8Array;
  /** Small PNG files of dataset images under `outDir` (tree-item icons); absolute paths in the order given. */
  thumbnails(p: { lens: string; indices: number[]; outDir: string; split?: Split }): string[];
  /**
   * The absolute paths a lens file names (`LensInfo.paths`), from its JSON alone: no model or data file is opened,
   * so the host can ask about paths outside the workspace before anything reads them (extension/workspaceGuard.ts).
   */
  lensPaths(p: { lens: string }): string[];
  /**
   * The cross test of the models of lens files `lens` (A) and `other` (B) on both test splits, and node matching
   * of a layer of A with a layer of B (names or indices; default each model's last hidden layer with weights).
   */
  compare(p: { lens: string; other: string; layerA?: string | number; layerB?: string | number; sampling?: MatchSampling }): CompareResult;
  /** Node matching alone (as in `compare`, without the cross test): another pair of layers on the comparison page. */
  matchNodes(p: { lens: string; other: string; layerA?: string | number; layerB?: string | number; sampling?: MatchSampling }): NodeMatching;
  /**
   * The sanity check of the node's projections (cascading randomization, Adebayo et al. 2018) on its top `k`
   * test images (default 9; scans when there is no index). `layer` is a name or an index.
   */
  sanity(p: {
    lens: string;
    storageDir: string;
    layer: string | number;
    node: number;
    k?: number;
    metric?: ScoreMetric;
    methods?: ProjectionMethod[];
    /** Also return the projections of cascade step `step` (default: every layer randomized) per method (`SanityMaps`). */
    maps?: { step?: number };
  }): SanityResult;
  /**
   * A node at every checkpoint of the lens's series (its `checkpoints` pattern, else those its training kept):
   * weights, top `k` images (each checkpoint's index scanned on demand and cached), scores and overlaps.
   */
  timelapse(p: {
    lens: string;
    storageDir: string;
    layer: string | number;
    node: number;
    k?: number;
    metric?: ScoreMetric;
    /** Only the checkpoint at this position of the series (`checkpoints`). */
    checkpoint?: number;
    /** With it, each frame carries its top images, feature maps and projections by this method. */
    method?: ProjectionMethod;
  }): TimelapseResult;
  /** The time-lapse as an animated GIF written to `file` (atomically): one frame per checkpoint. */
  timelapseGif(p: {
    lens: string;
    storageDir: string;
    layer: string | number;
    node: number;
    file: string;
    k?: number;
    metric?: ScoreMetric;
    method?: ProjectionMethod;
  }): { file: string; frames: number; bytes: number };
  /** The lens's checkpoint series (its `checkpoints` pattern, else those its training kept); empty when it has none. */
  checkpoints(p: { lens: string }): { epoch: number; model: string }[];
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

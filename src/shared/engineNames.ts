/**
 * The engine's vocabulary: backends, the score metrics and the projection methods (each with the names it is
 * shown under), and the float array every reply carries. Imports nothing.
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
export const SCORE_METRIC_LABELS = Object.fromEntries(
  SCORE_METRICS.map((m) => [m, SCORE_METRIC_PHRASES[m][0].toUpperCase() + SCORE_METRIC_PHRASES[m].slice(1)]),
) as Readonly<Record<ScoreMetric, string>>;

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

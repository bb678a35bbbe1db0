/**
 * The files Feature Lens finds by name: lens files (`*.lens.json`) and model files (a TF.js `model.json`, an
 * ONNX, Keras 3 or Keras 2 HDF5 file).
 * One definition for the globs the host searches and watches, its predicates, and the engine.
 */

export const LENS_SUFFIX = '.lens.json';
export const MODEL_JSON = 'model.json';
/** Files that are a whole model by themselves, by extension: ONNX (what PyTorch exports), Keras 3, Keras 2 HDF5. */
export const MODEL_EXTENSIONS: readonly string[] = ['.onnx', '.keras', '.h5'];
/** Keras weights-only files (`save_weights`): read beside their architecture JSON, never a model by themselves. */
const WEIGHTS_SUFFIX = '.weights.h5';

const modelPatterns = [MODEL_JSON, ...MODEL_EXTENSIONS.map((e) => `*${e}`)];
export const LENS_GLOB = `**/*${LENS_SUFFIX}`;
export const MODEL_FILE_GLOB = `**/{${modelPatterns.join(',')}}`;
/** Lens files and model files: what the Models view lists and a command may act on. */
export const LENS_OR_MODEL_GLOB = `**/{*${LENS_SUFFIX},${modelPatterns.join(',')}}`;
/** Folders never searched. */
export const EXCLUDE_GLOB = '**/{node_modules,.git}/**';

/** The last part of a path, with `/` or `\` separators (no Node path module here). */
function baseName(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

export function isLensFile(p: string): boolean {
  return baseName(p).endsWith(LENS_SUFFIX);
}

export function isModelFile(p: string): boolean {
  const b = baseName(p);
  const lower = b.toLowerCase();
  return b === MODEL_JSON || (MODEL_EXTENSIONS.some((e) => lower.endsWith(e)) && !lower.endsWith(WEIGHTS_SUFFIX));
}

/** How a model file is named in the views: a `model.json` by its folder (its name says nothing), any other by its file name. */
export function modelFileLabel(p: string): string {
  const b = baseName(p);
  if (b !== MODEL_JSON) return b;
  const dir = p.slice(0, p.length - b.length - 1);
  return baseName(dir) || b;
}

/** A lens file's name without its folder and `.lens.json`. */
export function lensBaseName(p: string): string {
  const b = baseName(p);
  return b.endsWith(LENS_SUFFIX) ? b.slice(0, -LENS_SUFFIX.length) : b;
}

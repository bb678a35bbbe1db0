/**
 * The files Feature Lens finds by name: lens files (`*.lens.json`) and model files (a TF.js Layers `model.json`).
 * One definition for the globs the host searches and watches, its predicates, and the engine.
 */

export const LENS_SUFFIX = '.lens.json';
export const MODEL_JSON = 'model.json';
/** File names that are models by themselves (without a lens naming them). */
export const MODEL_FILE_NAMES: readonly string[] = [MODEL_JSON];

const alternatives = (names: readonly string[]) => (names.length === 1 ? names[0] : `{${names.join(',')}}`);
export const LENS_GLOB = `**/*${LENS_SUFFIX}`;
export const MODEL_FILE_GLOB = `**/${alternatives(MODEL_FILE_NAMES)}`;
/** Lens files and model files: what the Models view lists and a command may act on. */
export const LENS_OR_MODEL_GLOB = `**/${alternatives([`*${LENS_SUFFIX}`, ...MODEL_FILE_NAMES])}`;
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
  return MODEL_FILE_NAMES.includes(baseName(p));
}

/** A lens file's name without its folder and `.lens.json`. */
export function lensBaseName(p: string): string {
  const b = baseName(p);
  return b.endsWith(LENS_SUFFIX) ? b.slice(0, -LENS_SUFFIX.length) : b;
}

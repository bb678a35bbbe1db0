/**
 * Which importer reads a model file, by its extension and, for JSON, by its content: `.onnx` ONNX, `.h5` / `.hdf5` Keras 2
 * (or a Keras 3 `.weights.h5` with its JSON), `.keras` Keras 3, a `model.json` with `"format": "graph-model"`
 * a TF.js graph model, a JSON whose top level is a Keras model config (`model.to_json()`) Keras with its weights
 * beside it. A TF.js Layers `model.json` (and any other file) gets `undefined`: the caller's own loader.
 */
import * as fs from 'node:fs';
import { loadKeras3, loadKerasH5, loadKerasJson, isKerasConfig } from './keras';
import { loadOnnx } from './onnx';
import type { ModelFormat, Network } from './network';
import { isGraphModelJson, loadTfjsGraph } from './tfjsGraph';

export interface Importer {
  format: ModelFormat;
  load(file: string): Promise<Network>;
}

const BY_EXTENSION: [RegExp, Importer][] = [
  // A PyTorch checkpoint (.pt/.pth) goes to the ONNX reader, which says how to export one.
  [/\.(onnx|pt|pth)$/i, { format: 'onnx', load: loadOnnx }],
  [/\.(h5|hdf5)$/i, { format: 'keras-h5', load: loadKerasH5 }],
  [/\.keras$/i, { format: 'keras', load: loadKeras3 }],
];

/** JSON files are sniffed only up to this size (a graph model's topology is at most a few MB). */
const MAX_SNIFF_BYTES = 64 * 2 ** 20;

/** The importer for `file`, or undefined when none of these formats is it (e.g. a TF.js Layers model.json). */
export async function importerFor(file: string): Promise<Importer | undefined> {
  for (const [pattern, importer] of BY_EXTENSION) if (pattern.test(file)) return importer;
  if (!/\.json$/i.test(file)) return undefined;
  let json: unknown;
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile() || st.size > MAX_SNIFF_BYTES) return undefined;
    json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    return undefined; // the caller's loader reports the unreadable file
  }
  if (isGraphModelJson(json)) return { format: 'tfjs-graph', load: loadTfjsGraph };
  if (isKerasConfig(json)) return { format: 'keras-h5', load: loadKerasJson };
  return undefined;
}

/** What is wrong with a lens or model file of the Models tree, for its rows and the Problems panel. No vscode import. */
import * as path from 'node:path';
import { isLensFile } from '../shared/modelFiles';
import type { ModelEntry } from './treeModel';

/** Something wrong with a lens or model file, where it is: shown in the tree and in the Problems panel. */
export interface Problem {
  /** The file the problem is in (a lens file or a model.json). */
  file: string;
  message: string;
  severity: 'error' | 'warning';
  /** The lens field at fault (`dataset.train.images`), when known. */
  field?: string;
}

/** The model.json a top-level entry shows (the lens's model, or the file itself). */
export function modelPathOf(entry: ModelEntry): string | undefined {
  if (isLensFile(entry.file)) return entry.lens?.model;
  return entry.file;
}

/**
 * The problems of a top-level entry: the lens file's own (it could not be read), its dataset's, its model's.
 * Messages are short: the file's path at their front is dropped (the Problems panel and the tree name the file),
 * and paths under the lens file's folder are written relative to it.
 */
export function problemsOf(entry: ModelEntry): Problem[] {
  const out: Problem[] = [];
  const dir = path.dirname(entry.file);
  const isLens = isLensFile(entry.file);
  if (entry.error) out.push({ file: entry.file, message: shortPaths(entry.error, entry.file), severity: 'error', ...fieldOf(entry.error) });
  if (entry.lens?.datasetError)
    out.push({ file: entry.file, message: shortPaths(entry.lens.datasetError.message, entry.file), severity: 'warning', field: entry.lens.datasetError.field });
  if (entry.modelError) {
    const model = modelPathOf(entry);
    const message = shortPaths(entry.modelError, model ?? entry.file);
    if (isLens) out.push({ file: entry.file, message: `${model ? path.relative(dir, model) : 'The model'}: ${message}`, severity: 'error', field: 'model' });
    else out.push({ file: entry.file, message, severity: 'error' });
  }
  return out;
}

function fieldOf(message: string): { field?: string } {
  const m = /"((?:[A-Za-z_$][\w$]*|\[\d+\])(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)"/.exec(message);
  return m ? { field: m[1] } : {};
}

/** Drops `file` (or its name) with its colon at the front of a message; paths under its folder become relative. */
export function shortPaths(message: string, file: string): string {
  let m = message;
  for (const prefix of [file, path.basename(file)]) {
    if (m.startsWith(`${prefix}: `)) {
      m = m.slice(prefix.length + 2);
      break;
    }
  }
  const dir = path.dirname(file) + path.sep;
  m = m.split(dir).join('');
  // "model.json: is not valid JSON" reads as a sentence once the file is its subject again.
  return m !== message && /^(is|has|must|names|does|cannot|was)\b/.test(m) ? `${path.basename(file)} ${m}` : m;
}

import * as path from 'node:path';
import { UserError } from '../runtime/errors';
import { readInputText } from '../runtime/fsutil';
import { LENS_FILE, lensFilePaths, parseLens } from './lens';

/**
 * The absolute paths a lens file names (its own, the model and its folder, the training results, every dataset
 * file or folder, those of cross tests): `LensInfo.paths`, from the lens file's JSON alone. Nothing else is
 * opened, so the host can ask the user about paths outside the workspace before any of them is read.
 */
export async function lensPaths(lensPath: string): Promise<string[]> {
  const file = path.resolve(lensPath);
  const text = await readInputText(file, LENS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError('badInput', `is not valid JSON (${String((e as Error).message).split('\n')[0]}).`, file);
  }
  return lensFilePaths(parseLens(json, file));
}

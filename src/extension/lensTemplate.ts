// What "Create Lens File…" writes (createLens.ts), without the vscode API so it is tested in plain Node.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LENS_SUFFIX, MODEL_JSON } from '../shared/modelFiles';
import type { ModelInfo } from '../shared/protocol';
import { UserFacingError } from './errorText';

/**
 * The lens file for a model that has none, over an image folder (one subfolder per class): the image size and
 * channels come from the model's input shape (`[h, w, c]`, or a flat `[n]` input of a square grey image).
 * Paths are relative to the lens file's folder. Pure, so it is tested against the engine's own lens parser.
 */
export function lensForModel(info: Pick<ModelInfo, 'name' | 'inputShape'>, lensFile: string, model: string, imageFolder: string): Record<string, unknown> {
  const shape = info.inputShape;
  let size: [number, number];
  let channels: number;
  if (shape.length === 3 && shape.every((d) => d > 0)) {
    size = [shape[0], shape[1]];
    channels = shape[2];
  } else if (shape.length === 1 && Number.isInteger(Math.sqrt(shape[0]))) {
    size = [Math.sqrt(shape[0]), Math.sqrt(shape[0])];
    channels = 1;
  } else {
    throw new UserFacingError(
      `The model's input [${shape.join(', ')}] is not an image (height, width, channels), so no image folder can feed it; write its lens file by hand.`,
    );
  }
  if (channels !== 1 && channels !== 3) throw new UserFacingError(`The model's input has ${channels} channels; image folders give 1 (grey) or 3 (RGB).`);
  const dir = path.dirname(lensFile);
  const rel = (p: string) => path.relative(dir, p).split(path.sep).join('/') || '.';
  return {
    name: info.name,
    model: rel(model),
    dataset: { format: 'imageFolder', root: rel(imageFolder), size, channels, testFraction: 0.25, seed: 1 },
  };
}

/** A lens file name beside the model that is not taken yet: `<model>.lens.json`, then `<model>-2.lens.json`… */
export function freeLensPath(model: string): string {
  const base = path.basename(model);
  const stem = base === MODEL_JSON ? path.basename(path.dirname(model)) : base.replace(/\.[^.]+$/, '');
  for (let i = 1; ; i++) {
    const candidate = path.join(path.dirname(model), `${stem}${i > 1 ? `-${i}` : ''}${LENS_SUFFIX}`);
    if (!fs.existsSync(candidate)) return candidate;
  }
}

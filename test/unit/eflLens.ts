// A small EFL lens file for the engine-process tests (faults, load): a conv net on generated letters, so
// training and scanning take a few seconds on wasm.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A small EFL lens with a conv net, so training and scanning take a few seconds on wasm. */
export function writeEflLens(dir: string, testPerClass = 1000): string {
  const lens = path.join(dir, 'efl.lens.json');
  fs.writeFileSync(
    lens,
    JSON.stringify({
      name: 'EFL faults',
      model: 'model/model.json',
      dataset: { format: 'efl', size: [24, 24], trainPerClass: 400, testPerClass, noise: 0.2, negative: false, seed: 1 },
      training: {
        architecture: [
          { type: 'conv2d', name: 'conv', filters: 8, kernelSize: 3, activation: 'relu' },
          { type: 'maxPooling2d', name: 'pool' },
          { type: 'flatten', name: 'flat' },
          { type: 'dense', name: 'out', units: 3, activation: 'softmax' },
        ],
        optimizer: { type: 'adam', learningRate: 0.01 },
        epochs: 2,
        batchSize: 16,
        seed: 1,
      },
    }),
  );
  return lens;
}

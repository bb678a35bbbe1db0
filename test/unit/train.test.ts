// Training on real data (the EFL generator): the seed's EFL results (0% test error on the letters and on their
// negatives; a far higher error when the negative-trained net meets the originals), weights on the
// discriminant strokes, a cancelled run that leaves the previous model byte-identical, the CLI's printout,
// and no leaked tensors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { runCli } from '../../src/engine/cli/cli';
import { EFL_DEFAULTS, eflStrokeMasks } from '../../src/engine/datasets/efl';
import { CancelledError, UserError } from '../../src/engine/runtime/errors';
import { makeJob } from '../../src/engine/runtime/job';
import { loadModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-train-'));
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Copies a sample lens into its own temp folder (the model is written there, not into samples/). */
function copySample(rel: string): string {
  const d = fs.mkdtempSync(path.join(dir, 'lens-'));
  const file = path.join(d, path.basename(rel));
  fs.copyFileSync(path.join(root, 'samples', rel), file);
  return file;
}

/** Mean |w| of a hidden node's weights over the pixels of a stroke mask; `w` is the `[pixels, nodes]` kernel. */
function meanAbs(w: Float32Array, node: number, nodes: number, mask: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    s += Math.abs(w[p * nodes + node]);
    n++;
  }
  return s / n;
}

describe('training EFL (the seed, section 1)', () => {
  it('reaches 0% test error on the letters, with hidden weights on the discriminant strokes', async () => {
    const lens = copySample('efl/efl.lens.json');
    const n0 = tf.memory().numTensors;
    const t0 = Date.now();
    const r = await trainLens(lens, makeJob());
    console.log(
      `EFL: test error ${(r.testError * 100).toFixed(2)}%, train accuracy ${(r.trainAccuracy * 100).toFixed(2)}%, attempt ${r.attempts} (seed ${r.seed}), ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} images/s (${r.backend})`,
    );
    assert.equal(tf.memory().numTensors, n0, 'no tensors leaked');
    assert.equal(r.testError, 0);
    assert.equal(r.testImages, 1200);
    assert.equal(r.trainImages, 9999);
    assert.deepEqual(r.confusion, [
      [400, 0, 0],
      [0, 400, 0],
      [0, 0, 400],
    ]);
    const saved = JSON.parse(fs.readFileSync(lens.replace('.lens.json', '.training.json'), 'utf8'));
    assert.equal(saved.testError, 0);

    // The seed's reading of Figure 3: the nodes weigh the strokes that tell the letters apart (the bottom leg:
    // E, L vs F; the upper legs: E, F vs L) more than the stroke all letters share (the vertical one).
    const { layersModel: model } = await loadModel(r.model);
    const kernel = model!.getLayer('hidden').getWeights()[0];
    const w = kernel.dataSync() as Float32Array;
    assert.deepEqual(kernel.shape, [400, 2]);
    const masks = eflStrokeMasks(EFL_DEFAULTS.size);
    const upper = masks.top.map((v, i) => v | masks.middle[i]);
    const region: Record<string, Uint8Array> = { bottom: masks.bottom, upper, vertical: masks.vertical };
    const table = [0, 1].map((node) => Object.fromEntries(Object.entries(region).map(([k, m]) => [k, meanAbs(w, node, 2, m)])));
    console.log(
      `EFL hidden weights, mean |w| per stroke: ${JSON.stringify(table.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, +v.toFixed(3)]))))}`,
    );
    const best = (k: string) => Math.max(table[0][k], table[1][k]);
    assert.ok(best('bottom') > 1.5 * best('vertical'), 'a node weighs the bottom leg');
    assert.ok(best('upper') > 1.5 * best('vertical'), 'a node weighs the upper legs');
  });

  it('reaches 0% test error on the negatives, and a far higher error on the original letters (cross test)', async () => {
    const lens = copySample('efl-negative/efl-negative.lens.json');
    const r = await trainLens(lens, makeJob());
    const cross = r.crossTests?.[0];
    console.log(
      `EFL negative: test error ${(r.testError * 100).toFixed(2)}%, attempt ${r.attempts}; on the originals: error ${((cross?.error ?? NaN) * 100).toFixed(2)}% (the seed: 52%); ${r.seconds.toFixed(1)} s`,
    );
    assert.equal(r.testError, 0);
    assert.ok(cross && cross.error > 0.3, 'the negative-trained net fails on the originals');
  });

  it('a cancelled training leaves the previous model and results byte-identical, and leaks nothing', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'cancel-'));
    const lens = path.join(d, 'small.lens.json');
    const recipe = {
      architecture: [{ type: 'flatten' }, { type: 'dense', name: 'hidden', units: 8, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
      optimizer: { type: 'adam', learningRate: 0.01 },
      epochs: 2,
      batchSize: 16,
    };
    fs.writeFileSync(
      lens,
      JSON.stringify({ name: 'small', model: 'model/model.json', dataset: { format: 'efl', trainPerClass: 100, testPerClass: 20 }, training: recipe }),
    );
    await trainLens(lens, makeJob());
    const snapshot = () =>
      Object.fromEntries(
        [...fs.readdirSync(path.join(d, 'model')).map((f) => `model/${f}`), 'small.training.json'].map((f) => [
          f,
          fs.readFileSync(path.join(d, f)).toString('base64'),
        ]),
      );
    const before = snapshot();
    assert.ok(Object.keys(before).some((f) => f.endsWith('.bin')));
    // A different seed would write different weights: cancel it half-way.
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'small',
        model: 'model/model.json',
        dataset: { format: 'efl', trainPerClass: 100, testPerClass: 20 },
        training: { ...recipe, seed: 9 },
      }),
    );
    const n0 = tf.memory().numTensors;
    let calls = 0;
    const job = makeJob((p) => {
      if (p.train && ++calls === 3) job.cancel();
    });
    await assert.rejects(trainLens(lens, job), (e: unknown) => e instanceof CancelledError);
    assert.equal(tf.memory().numTensors, n0, 'no tensors leaked by the cancelled run');
    assert.deepEqual(snapshot(), before, 'model and results untouched');
    assert.deepEqual(
      fs
        .readdirSync(d)
        .concat(fs.readdirSync(path.join(d, 'model')))
        .filter((f) => f.endsWith('.tmp')),
      [],
    );
    // The same run, not cancelled, replaces them.
    await trainLens(lens, makeJob());
    assert.notDeepEqual(snapshot(), before);
  });

  it('refuses a recipe whose output does not match the classes, naming the lens file', async () => {
    const lens = path.join(dir, 'four.lens.json');
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'four',
        model: 'm/model.json',
        dataset: { format: 'efl', trainPerClass: 5, testPerClass: 5 },
        training: { architecture: [{ type: 'flatten' }, { type: 'dense', units: 4, activation: 'softmax' }], epochs: 1 },
      }),
    );
    await assert.rejects(
      trainLens(lens, makeJob()),
      (e: unknown) => e instanceof UserError && e.message.startsWith(lens) && /one unit per class \(3\), not 4/.test(e.message),
    );
    const noRecipe = path.join(dir, 'none.lens.json');
    fs.writeFileSync(noRecipe, JSON.stringify({ name: 'none', model: 'm/model.json', dataset: { format: 'efl' } }));
    await assert.rejects(trainLens(noRecipe, makeJob()), /none\.lens\.json: has no "training" recipe/);
  });

  it('feature-lens train prints the test accuracy, error, images/s and where the model was written', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'cli-'));
    const lens = path.join(d, 'cli.lens.json');
    fs.writeFileSync(
      lens,
      JSON.stringify({
        name: 'cli',
        model: 'out/model.json',
        dataset: { format: 'efl', trainPerClass: 50, testPerClass: 10 },
        training: { architecture: [{ type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }], epochs: 1 },
      }),
    );
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    // Only the CLI's text: the test runner's own (binary) messages still go to the real stdout.
    process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) =>
      typeof s === 'string' ? (out.push(s), true) : (write as (...a: unknown[]) => boolean)(s, ...rest)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await runCli(['train', lens, '--backend', 'wasm']);
    } finally {
      process.stdout.write = write;
    }
    const text = out.join('');
    console.log(text.trim());
    assert.equal(code, 0);
    const result = JSON.parse(fs.readFileSync(path.join(d, 'cli.training.json'), 'utf8'));
    assert.match(
      text,
      new RegExp(`test accuracy ${(result.testAccuracy * 100).toFixed(2)}%  test error ${(result.testError * 100).toFixed(2)}%  \\(30 test images\\)`),
    );
    assert.match(text, /1 epochs on 150 images in [\d.]+ s: \d+ images\/s \(wasm\)/);
    assert.ok(text.includes(`model written to ${path.join(d, 'out/model.json')}`));
    assert.ok(fs.existsSync(path.join(d, 'out/model.json')));
  });
});

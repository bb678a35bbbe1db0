// Comparing two models (`feature-lens compare`, issue 14): the seed's EFL pair (the net trained on the letters
// and the one trained on their negatives) in the cross test, and node matching (Li et al. 2016) checked against
// a brute-force two-pass Pearson correlation of activations computed through tfjs's own LayersModel (not the
// engine's forward pass), on the EFL hidden layers and on conv1 of two MNIST trainings with different seeds.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CompareResult } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/runtime/backend';
import { cliJson } from './cliJson';
import { makeJob } from '../../src/engine/runtime/job';
import { CancelledError } from '../../src/engine/runtime/errors';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { compareLenses, matchLenses } from '../../src/engine/server/compare';
import { loadModel, unloadModels } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';
import { trainLens } from '../../src/engine/training/train';

const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  await initBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-compare-'));
});
after(() => {
  unloadModels();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Copies a sample lens into its own temp folder (the model is written there, not into samples/). */
function copySample(rel: string, edit?: (lens: Record<string, any>) => void): string {
  const d = fs.mkdtempSync(path.join(dir, 'lens-'));
  const file = path.join(d, path.basename(rel));
  const lens = JSON.parse(fs.readFileSync(path.join(root, 'samples', rel), 'utf8'));
  edit?.(lens);
  fs.writeFileSync(file, JSON.stringify(lens));
  return file;
}

/**
 * Layer `layer`'s activations over the whole test split of `lensFile`, through the model's tfjs LayersModel
 * (a path independent of the engine's forward pass): `[samples, nodes]` rows, one per image and position.
 */
async function storedActivations(modelFile: string, lensFile: string, layer: string): Promise<{ data: Float32Array; nodes: number }> {
  const { layersModel } = await loadModel(modelFile);
  const sub = tf.model({ inputs: layersModel!.inputs, outputs: layersModel!.getLayer(layer).output as tf.SymbolicTensor });
  const ds = await openDataset(await readLens(lensFile), 'test');
  const parts: Float32Array[] = [];
  let nodes = 0;
  for await (const b of ds.batches(500)) {
    const y = tf.tidy(() => sub.predict(tf.tensor4d(b.images, [b.count, ...ds.shape])) as tf.Tensor);
    nodes = y.shape[y.rank - 1]!;
    parts.push(y.dataSync() as Float32Array);
    y.dispose();
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) data.set(p, (o += p.length) - p.length);
  return { data, nodes };
}

/** Two-pass Pearson correlation of every column of `a` with every column of `b` (`[i][j]`, NaN when constant). */
function bruteCorrelations(a: { data: Float32Array; nodes: number }, b: { data: Float32Array; nodes: number }): number[][] {
  const n = a.data.length / a.nodes;
  assert.equal(n, b.data.length / b.nodes);
  const mean = (x: { data: Float32Array; nodes: number }) => {
    const m = new Float64Array(x.nodes);
    for (let s = 0; s < n; s++) for (let i = 0; i < x.nodes; i++) m[i] += x.data[s * x.nodes + i];
    return m.map((v) => v / n);
  };
  const ma = mean(a);
  const mb = mean(b);
  return Array.from({ length: a.nodes }, (_, i) =>
    Array.from({ length: b.nodes }, (_, j) => {
      let cov = 0;
      let va = 0;
      let vb = 0;
      for (let s = 0; s < n; s++) {
        const x = a.data[s * a.nodes + i] - ma[i];
        const y = b.data[s * b.nodes + j] - mb[j];
        cov += x * y;
        va += x * x;
        vb += y * y;
      }
      return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN;
    }),
  );
}

/** The matching's correlations equal the brute-force ones, and each node's best match is the brute-force argmax. */
function assertMatching(r: CompareResult['matching'], brute: number[][]): number {
  let worst = 0;
  brute.forEach((row, i) =>
    row.forEach((want, j) => {
      const got = r.correlations[i][j];
      if (Number.isNaN(want)) assert.equal(got, null, `A ${i} / B ${j}: constant node`);
      else worst = Math.max(worst, Math.abs((got as number) - want));
    }),
  );
  assert.ok(worst < 1e-4, `largest difference from the brute-force correlation: ${worst}`);
  assert.equal(r.bestAtoB.length, brute.length);
  for (const m of r.bestAtoB) {
    const row = brute[m.a];
    const best = Math.max(...row.filter((v) => !Number.isNaN(v)));
    assert.ok(Math.abs(row[m.b] - best) < 1e-4, `A ${m.a}: matched B ${m.b} (r ${row[m.b]}) but the best is ${best}`);
    assert.ok(Math.abs(m.correlation - row[m.b]) < 1e-4);
  }
  return worst;
}

describe('compare (issue 14)', () => {
  it('EFL vs EFL negative: 0% on own data, a large error across; hidden nodes matched as brute force says', { timeout: 10 * 60_000 }, async () => {
    const efl = copySample('efl/efl.lens.json');
    const neg = copySample('efl-negative/efl-negative.lens.json');
    const ra = await trainLens(efl, makeJob());
    const rb = await trainLens(neg, makeJob());
    await loadModel(ra.model); // cached with its weights: counted before
    await loadModel(rb.model);
    const n0 = tf.memory().numTensors;
    const r: CompareResult = await cliJson(['compare', efl, neg]);
    assert.equal(tf.memory().numTensors, n0, 'no tensors leaked');
    const t = r.crossTest;
    const pct = (e: number | null) => (e === null ? 'n/a' : `${(e * 100).toFixed(2)}%`);
    console.log(
      `cross test (rows: models, columns: test splits ${t.datasets.map((d) => d.name).join(' | ')}):\n${t.models.map((m, i) => `  ${m}: ${t.cells[i].map((c) => pct(c.error)).join(' | ')}`).join('\n')}`,
    );
    assert.equal(t.cells[0][0].error, 0, 'EFL on its own letters');
    assert.equal(t.cells[1][1].error, 0, 'EFL negative on its own negatives');
    assert.ok(t.cells[1][0].error! > 0.3, 'the negative-trained net fails on the originals');
    // The same number training's own cross test measured (through the LayersModel, not the network).
    assert.ok(Math.abs(t.cells[1][0].error! - rb.crossTests![0].error) < 1e-12);
    assert.deepEqual(t.cells[0][0].confusion, ra.confusion);
    assert.deepEqual(t.cells[1][1].confusion, rb.confusion);
    for (const row of t.cells)
      for (const c of row)
        assert.equal(
          c.confusion!.flat().reduce((a, b) => a + b, 0),
          1200,
        );

    const m = r.matching;
    assert.equal(m.layerA.name, 'hidden', 'the default: the last hidden layer with weights');
    assert.equal(m.layerB.name, 'hidden');
    assert.equal(m.sampling, 'spatialMean');
    assert.equal(m.samples, 1200);
    const brute = bruteCorrelations(await storedActivations(ra.model, efl, 'hidden'), await storedActivations(rb.model, efl, 'hidden'));
    const worst = assertMatching(m, brute);
    console.log(
      `EFL hidden → EFL negative hidden: ${m.bestAtoB.map((p) => `A${p.a}→B${p.b} r=${p.correlation.toFixed(4)}`).join(', ')}; one-to-one ${m.oneToOne.map((p) => `A${p.a}↔B${p.b} r=${p.correlation.toFixed(4)}`).join(', ')} (max |Δ| vs brute force ${worst.toExponential(1)})`,
    );
    assert.equal(m.bestAtoB.length, 2, 'both nodes of A listed');
    assert.equal(m.oneToOne.length, 2, 'both pairs');
    assert.notEqual(m.oneToOne[0].b, m.oneToOne[1].b);

    // Another pair of layers (the comparison page's B picker): node matching alone, as brute force says.
    const n1 = tf.memory().numTensors;
    const other = await matchLenses(efl, neg, { layerA: 'hidden', layerB: 'logits' });
    assert.equal(tf.memory().numTensors, n1, 'no tensors leaked');
    assert.deepEqual([other.layerA.name, other.layerB.name, other.samples], ['hidden', 'logits', 1200]);
    assertMatching(other, bruteCorrelations(await storedActivations(ra.model, efl, 'hidden'), await storedActivations(rb.model, efl, 'logits')));
    // Cancelled after its first batch (the page's Cancel): it stops there, leaving no tensors behind.
    const seen: string[] = [];
    const job = makeJob((p) => {
      seen.push(p.message ?? '');
      job.cancel();
    });
    await assert.rejects(matchLenses(efl, neg, { layerA: 'hidden', layerB: 'logits', batchSize: 100 }, job), CancelledError);
    assert.deepEqual(seen, ['node matching: 100 of 1200 images']);
    assert.equal(tf.memory().numTensors, n1, 'no tensors leaked when cancelled');
  });

  it('two MNIST trainings with different seeds: conv1 node matching agrees with brute force', { timeout: 10 * 60_000 }, async () => {
    const data = (lens: Record<string, any>, seed: number) => {
      for (const split of ['train', 'test'])
        for (const k of ['images', 'labels']) lens.dataset[split][k] = path.join(root, 'samples/mnist', lens.dataset[split][k]);
      lens.training.epochs = 1;
      lens.training.seed = seed;
    };
    const a = copySample('mnist/mnist.lens.json', (l) => data(l, 1));
    const b = copySample('mnist/mnist.lens.json', (l) => data(l, 2));
    const ra = await trainLens(a, makeJob());
    const rb = await trainLens(b, makeJob());
    const r = await compareLenses(a, b, { layerA: 'conv1', layerB: 'conv1' });
    assert.equal(r.matching.sampling, 'positions');
    assert.equal(r.matching.samples, 2000 * 24 * 24);
    assert.ok(
      Math.abs(r.crossTest.cells[0][0].error! - ra.testError) <= 1 / 2000 && Math.abs(r.crossTest.cells[1][0].error! - rb.testError) <= 1 / 2000,
      'cross test = training results on the same split (to one image)',
    );
    const brute = bruteCorrelations(await storedActivations(ra.model, a, 'conv1'), await storedActivations(rb.model, a, 'conv1'));
    const worst = assertMatching(r.matching, brute);
    const corr = r.matching.bestAtoB.map((p) => p.correlation).filter((v) => !Number.isNaN(v));
    console.log(
      `MNIST conv1 seed 1 → seed 2: best-match r from ${Math.min(...corr).toFixed(3)} to ${Math.max(...corr).toFixed(3)}, mean ${(corr.reduce((s, v) => s + v, 0) / corr.length).toFixed(3)} (max |Δ| vs brute force ${worst.toExponential(1)}); errors ${(ra.testError * 100).toFixed(2)}% / ${(rb.testError * 100).toFixed(2)}%`,
    );
    assert.equal(r.matching.oneToOne.length, 16);
    // default layers: the dense hidden layer of each
    assert.equal((await compareLenses(a, b, {})).matching.layerA.name, 'hidden');
  });
});

// The top-activation scan: the streaming heaps against a brute-force sort of every image's scores (with
// ties and batches that do not divide the dataset), scores against plain-JS reductions of the activations,
// an index reused, resumed after a cancel, and invalidated when the weights change; no tensor leaks.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layersReference, net } from './net';
import type { ScoreMetric } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/runtime/backend';
import { CancelledError } from '../../src/engine/runtime/errors';
import { makeJob } from '../../src/engine/runtime/job';
import { METRIC_ORDER, scanLayers } from '../../src/engine/scan/scan';
import { ScoreHeaps } from '../../src/engine/scan/scoreHeap';
import * as tf from '../../src/engine/runtime/tf';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { loadModel, saveModel } from '../../src/engine/models/modelIO';
import { findIndex, KEEP_EARLIER_INDEXES } from '../../src/engine/scan/indexStore';
import { scanDataset, scanLens, topFromIndex } from '../../src/engine/scan/topActivations';
import { DIGIT_CLASSES, memoryDataset, mnistDigits, smallCnn, weightsHashOf, writeMnistLens } from './scanFixtures';

// Helper scan processes run only where the scan is on tfjs (a native scan keeps to one process, see
// native/forwardLayers.ts `scoresRunNatively`): these tests exercise them, so the native runtime is off here
// (and in the engine processes they start, which inherit the environment).
process.env.FEATURE_LENS_NATIVE = 'off';

/** Reference scores of every image for every flat node, from the full activations in plain JS (float64). */
function bruteForceScores(model: tf.LayersModel, images: Float32Array, count: number) {
  const layers = scanLayers(net(model));
  const multi = layersReference(
    model,
    layers.map((l) => l.name),
  );
  const N = layers.reduce((a, l) => a + l.nodes, 0);
  const ref: Record<ScoreMetric, Float64Array> = {
    frobenius: new Float64Array(count * N),
    max: new Float64Array(count * N),
    mean: new Float64Array(count * N),
  };
  const argmax = new Int32Array(count * N);
  const outs = tf.tidy(() => {
    const o = multi.predict(tf.tensor4d(images, [count, 28, 28, 1])) as tf.Tensor[];
    return o.map((t) => t.dataSync() as Float32Array);
  });
  layers.forEach((l, li) => {
    const a = outs[li];
    const S = l.spatial[0] * l.spatial[1];
    for (let j = 0; j < count; j++) {
      for (let i = 0; i < l.nodes; i++) {
        let sq = 0;
        let sum = 0;
        let mx = -Infinity;
        let at = 0;
        for (let s = 0; s < S; s++) {
          const v = a[(j * S + s) * l.nodes + i];
          sq += v * v;
          sum += v;
          if (v > mx) {
            mx = v;
            at = s;
          }
        }
        const f = j * N + l.offset + i;
        ref.frobenius[f] = Math.sqrt(sq);
        ref.max[f] = mx;
        ref.mean[f] = sum / S;
        argmax[f] = at;
      }
    }
  });
  return { layers, N, ref, argmax };
}

describe('top-activation scan', () => {
  let dir: string;
  before(async () => {
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-scan-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const k of [1, 6, 9])
    it(`ScoreHeaps keeps the k best (ties to the lower index) in any insertion order, merges and reloads (k = ${k})`, () => {
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const nodes = 5;
      const n = 300;
      // Integer scores from a small range: many ties.
      const scores = Array.from({ length: nodes }, () => Array.from({ length: n }, () => Math.floor(rand() * 20)));
      const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
      const whole = new ScoreHeaps(nodes, k);
      const a = new ScoreHeaps(nodes, k);
      const b = new ScoreHeaps(nodes, k);
      // Written to an index file and read back part way, while its heaps are not yet full (arrival order).
      let saved = new ScoreHeaps(nodes, k);
      order.forEach((j, at) => {
        if (at === Math.floor(k / 2)) {
          const copy = { scores: Float32Array.from(saved.scores), indices: Int32Array.from(saved.indices), locations: Int32Array.from(saved.locations) };
          saved = new ScoreHeaps(nodes, k, { ...copy, sizes: Int32Array.from(saved.sizes) });
        }
        for (let i = 0; i < nodes; i++) {
          whole.push(i, scores[i][j], j);
          saved.push(i, scores[i][j], j);
          (j < 137 ? a : b).push(i, scores[i][j], j);
        }
      });
      a.mergeFrom(b);
      for (let i = 0; i < nodes; i++) {
        const expected = Array.from({ length: n }, (_, j) => ({ score: scores[i][j], index: j }))
          .sort((x, y) => y.score - x.score || x.index - y.index)
          .slice(0, k);
        assert.deepEqual(
          whole.sorted(i).map((e) => ({ score: e.score, index: e.index })),
          expected,
        );
        assert.deepEqual(
          a.sorted(i).map((e) => ({ score: e.score, index: e.index })),
          expected,
        );
        assert.deepEqual(
          saved.sorted(i).map((e) => ({ score: e.score, index: e.index })),
          expected,
        );
        // Full: the root is the worst kept entry (what a scan's fast reject compares with).
        assert.equal(whole.threshold(i), expected[k - 1].score);
      }
    });

  it('matches a brute-force sort of every image (batches of 32 over 203 images, duplicated images as ties)', async () => {
    const model = smallCnn(3);
    const digits = mnistDigits(200);
    // 203 images: the 200 digits, then copies of images 5, 17 and 150 (exact ties with lower-index originals).
    const count = 203;
    const images = new Float32Array(count * 784);
    images.set(digits.images);
    const labels = new Int32Array(count);
    labels.set(digits.labels);
    [5, 17, 150].forEach((src, t) => {
      images.set(digits.images.subarray(src * 784, (src + 1) * 784), (200 + t) * 784);
      labels[200 + t] = digits.labels[src];
    });
    const ds = memoryDataset(images, labels, [28, 28, 1], DIGIT_CLASSES);
    const k = 7;
    const before = tf.memory().numTensors;
    const r = await scanDataset(net(model), weightsHashOf(model), ds, path.join(dir, 'brute'), k, makeJob(), { batchSize: 32 });
    assert.equal(tf.memory().numTensors, before, 'the scan leaks no tensors');
    assert.equal(r.reused, false);
    assert.equal(r.images, count);
    const { layers, N, ref, argmax } = bruteForceScores(model, images, count);
    let checked = 0;
    let tieChecks = 0;
    for (const metric of METRIC_ORDER) {
      for (const l of layers) {
        for (let i = 0; i < l.nodes; i++) {
          const node = l.offset + i;
          const all = Array.from({ length: count }, (_, j) => ({ score: ref[metric][j * N + node], index: j })).sort(
            (x, y) => y.score - x.score || x.index - y.index,
          );
          const got = topFromIndex(r.stored, l.index, i, metric, labels).top;
          assert.equal(got.length, k);
          const tol = 1e-4 * Math.max(1, Math.abs(all[0].score));
          for (let p = 0; p < k; p++) {
            const g = got[p];
            // The score the scan kept for that image is that image's score...
            assert.ok(
              Math.abs(g.score - ref[metric][g.index * N + node]) <= tol,
              `${metric} ${l.name}[${i}] #${p}: ${g.score} vs ${ref[metric][g.index * N + node]}`,
            );
            // ...and the p-th best score overall.
            assert.ok(Math.abs(g.score - all[p].score) <= tol, `${metric} ${l.name}[${i}] #${p}: ${g.score} vs ${all[p].score}`);
            // Where the reference has no near-tie around position p, the image is the same.
            const isolated = (p === 0 || all[p - 1].score - all[p].score > tol) && all[p].score - all[p + 1].score > tol;
            if (isolated) {
              assert.equal(g.index, all[p].index, `${metric} ${l.name}[${i}] #${p}`);
              checked++;
            }
            if (p > 0 && got[p - 1].score === g.score) {
              assert.ok(got[p - 1].index < g.index, 'ties keep the lower image index first');
              tieChecks++;
            }
            assert.equal(g.label, labels[g.index]);
            if (metric === 'max' && isolated) {
              const at = argmax[g.index * N + node];
              assert.deepEqual(g.location, [Math.floor(at / l.spatial[1]), at % l.spatial[1]]);
            }
            if (metric !== 'max') assert.equal(g.location, undefined, `${metric}: no location (only the maximum has one)`);
          }
          // No copy (index ≥ 200) may displace its original, which has the same score and a lower index.
          for (const g of got) {
            if (g.index >= 200) {
              const src = [5, 17, 150][g.index - 200];
              assert.ok(
                got.some((x) => x.index === src),
                `${metric} ${l.name}[${i}]: copy ${g.index} kept without its original ${src}`,
              );
            }
          }
        }
      }
    }
    assert.ok(checked > 1000, `compared ${checked} entries`);
    assert.ok(tieChecks > 0, 'some exact ties were met');
  });

  it('reuses a complete index, resumes a cancelled scan to the same result, and rescans when the weights change', async () => {
    const model = smallCnn(5);
    const digits = mnistDigits(300, 20);
    const ds = memoryDataset(digits.images, digits.labels, [28, 28, 1], DIGIT_CLASSES);
    const hash = weightsHashOf(model);
    const k = 5;
    const whole = await scanDataset(net(model), hash, ds, path.join(dir, 'whole'), k, makeJob(), { batchSize: 25 });

    const storage = path.join(dir, 'resume');
    let cancelledAt = -1;
    const job = makeJob((p) => {
      if (cancelledAt < 0 && (p.fraction ?? 0) >= 0.4) {
        cancelledAt = p.fraction!;
        job.cancel();
      }
    });
    const before = tf.memory().numTensors;
    await assert.rejects(scanDataset(net(model), hash, ds, storage, k, job, { batchSize: 25, checkpointSeconds: 1e9 }), CancelledError);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(cancelledAt > 0 && cancelledAt < 1);
    assert.equal(await findIndex(storage, hash, ds), null, 'a checkpoint is not a complete index');
    const resumed = await scanDataset(net(model), hash, ds, storage, k, makeJob(), { batchSize: 25 });
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.reused, false);
    for (const metric of METRIC_ORDER) {
      for (let node = 0; node < whole.stored.state.nodes; node++) {
        assert.deepEqual(resumed.stored.state.heaps[metric].sorted(node), whole.stored.state.heaps[metric].sorted(node), `${metric} node ${node}`);
      }
    }
    for (const key of ['classSums', 'deadCounts', 'layerNormSums', 'classCounts'] as const) {
      const a = resumed.stored.state[key];
      const b = whole.stored.state[key];
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1, Math.abs(b[i])), `${key}[${i}]`);
    }

    const again = await scanDataset(net(model), hash, ds, storage, k, makeJob(), { batchSize: 25 });
    assert.equal(again.reused, true);
    assert.ok(await findIndex(storage, hash, ds));

    // New weights: the old index no longer matches.
    const w = model.layers[0].getWeights();
    model.layers[0].setWeights([tf.mul(w[0], 1.5), w[1]]);
    const hash2 = weightsHashOf(model);
    assert.notEqual(hash2, hash);
    assert.equal(await findIndex(storage, hash2, ds), null);
    const fresh = await scanDataset(net(model), hash2, ds, storage, k, makeJob(), { batchSize: 25 });
    assert.equal(fresh.reused, false);
    assert.equal(fresh.resumed, false);
    // A conv layer's frobenius scores scale by 1.5 after relu (zero bias): same images, scores × 1.5.
    const l0 = topFromIndex(fresh.stored, 0, 2, 'frobenius', ds.labels).top;
    const l0old = topFromIndex(whole.stored, 0, 2, 'frobenius', ds.labels).top;
    assert.deepEqual(
      l0.map((e) => e.index),
      l0old.map((e) => e.index),
    );
    l0.forEach((e, i) => assert.ok(Math.abs(e.score - 1.5 * l0old[i].score) < 1e-3 * e.score));
  });

  it('keeps the indexes of the earlier weights used last, whatever their k, and leaves other models and data alone', async () => {
    const storage = path.join(dir, 'prune');
    const digits = mnistDigits(40, 60);
    const ds = memoryDataset(digits.images, digits.labels, [28, 28, 1], DIGIT_CLASSES);
    const other = { ...memoryDataset(digits.images, digits.labels, [28, 28, 1], DIGIT_CLASSES), source: 'other data' };
    const model = smallCnn(7);
    const w = model.layers[0].getWeights().map((t) => tf.clone(t));
    const weights = (i: number) => model.layers[0].setWeights([tf.mul(w[0], 1 + i / 10), w[1]]);
    const modelPath = path.join(dir, 'retrained', 'model.json');
    const tick = () => new Promise((resolve) => setTimeout(resolve, 20)); // distinct modification times
    const scan = async (d: typeof ds, opts: { modelPath: string }, k = 3) => {
      const r = await scanDataset(net(model), weightsHashOf(model), d, storage, k, makeJob(), { batchSize: 20, ...opts });
      await tick();
      return r;
    };
    const files = () => new Set(fs.readdirSync(storage).filter((f) => f.endsWith('.flix')));
    // Another model's index and this model's index over other data, written first (the oldest files).
    const otherModel = (await scan(ds, { modelPath: path.join(dir, 'other', 'model.json') })).index;
    const otherData = (await scan(other, { modelPath })).index;
    // Retrainings of the same model file: each scan completes a new index; weights 2 also get a k = 5 index.
    const written: string[][] = [];
    const removed: number[] = [];
    for (let i = 1; i <= 5; i++) {
      weights(i);
      const r = await scan(ds, { modelPath });
      written[i] = [r.index];
      removed.push(r.removedIndexes);
      if (i === 2) written[i].push((await scan(ds, { modelPath }, 5)).index);
    }
    assert.equal(KEEP_EARLIER_INDEXES, 3, 'the counts below assume three earlier weights are kept');
    assert.deepEqual(removed, [0, 0, 0, 0, 1], 'the fifth weights leave four earlier ones: those used least recently go');
    const names = (...fs: string[]) => new Set(fs.map((f) => path.basename(f)));
    assert.deepEqual(files(), names(otherModel, otherData, ...written.slice(2).flat()));

    // Back to weights 2 (both of its indexes are reused), then new weights: now weights 3 are the least recent.
    weights(2);
    const back = await scan(ds, { modelPath });
    assert.equal(back.reused, true);
    assert.equal(back.removedIndexes, 0);
    weights(6);
    const next = await scan(ds, { modelPath });
    assert.equal(next.removedIndexes, 1);
    assert.deepEqual(
      files(),
      names(otherModel, otherData, ...written[2], ...written[4], ...written[5], next.index),
      'weights 3 went; weights 2, used again, stayed with both its indexes',
    );
    // A reader finding an index counts as a use too: weights 4 found, then new weights; weights 5, written
    // before weights 2 were used again, are now the least recent.
    weights(4);
    const found = await findIndex(storage, weightsHashOf(model), ds);
    assert.ok(found);
    // Marking it used keeps its copy in memory valid: the next request is served without reading the file.
    assert.equal(await findIndex(storage, weightsHashOf(model), ds), found, 'the second read is the cached index, not a new decode');
    await tick();
    weights(7);
    const latest = await scan(ds, { modelPath });
    assert.equal(latest.removedIndexes, 1);
    assert.deepEqual(files(), names(otherModel, otherData, ...written[2], ...written[4], next.index, latest.index));
    w.forEach((t) => t.dispose());
    model.dispose();
  });

  // Speed is measured by the benchmarks (npm run bench); this prints images/second for the record only.
  it('scans 2,000 MNIST digits with the SMALL model, counting each digit under its class once', async () => {
    const model = smallCnn(9);
    const digits = mnistDigits(2000);
    const ds = memoryDataset(digits.images, digits.labels, [28, 28, 1], DIGIT_CLASSES);
    // Warm-up (kernels compiled, buffers allocated).
    await scanDataset(
      net(model),
      'warm',
      memoryDataset(digits.images.subarray(0, 256 * 784), digits.labels.subarray(0, 256), [28, 28, 1], DIGIT_CLASSES),
      path.join(dir, 'warm'),
      9,
      makeJob(),
    );
    const r = await scanDataset(net(model), weightsHashOf(model), ds, path.join(dir, 'speed'), 9, makeJob());
    console.log(
      `scan: ${r.images} MNIST digits, SMALL model (${r.stored.state.nodes} nodes, 3 metrics, k=9): ${r.seconds.toFixed(2)} s, ${r.imagesPerSecond.toFixed(0)} images/s (${tf.getBackend()})`,
    );
    assert.equal(r.images, 2000);
    assert.equal(
      r.stored.state.classCounts.reduce((a, b) => a + b, 0),
      2000,
    );
    const perClass = DIGIT_CLASSES.map((_, c) => digits.labels.filter((l) => l === c).length);
    assert.deepEqual([...r.stored.state.classCounts], perClass);
  });

  it('feeds flat-input models the flattened images, and refuses images that do not fit the model', async () => {
    const dense = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [784], units: 5, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })],
    });
    const d = mnistDigits(50);
    const ds = memoryDataset(d.images, d.labels, [28, 28, 1], DIGIT_CLASSES);
    const r = await scanDataset(net(dense), weightsHashOf(dense), ds, path.join(dir, 'flat'), 3, makeJob());
    // A dense unit's frobenius score is |activation|: check the best one against a direct computation.
    const best = topFromIndex(r.stored, 0, 1, 'frobenius', ds.labels).top[0];
    const acts = tf.tidy(() => (dense.predict(tf.tensor2d(d.images, [50, 784])) as tf.Tensor).dataSync());
    let max = -1;
    for (let j = 0; j < 50; j++) max = Math.max(max, Math.abs(acts[j * 5 + 1]));
    // Within rounding: the scan may run natively (onnxruntime), this reference on tfjs.
    assert.ok(Math.abs(best.score - max) < 1e-5 && Math.abs(Math.abs(acts[best.index * 5 + 1]) - best.score) <= 1e-6 * Math.max(1, best.score));
    const wrong = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 2 })] });
    await assert.rejects(scanDataset(net(wrong), 'w', ds, path.join(dir, 'wrong'), 3, makeJob()), /images are \[28, 28, 1\] but model .* expects \[10\]/);
    dense.dispose();
    wrong.dispose();
  });

  it('splits a lens scan between this process and a forked engine, with the same index as one process', async () => {
    const enginePath = path.resolve(__dirname, '../../dist/engine.js');
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    const sub = path.join(dir, 'parallel');
    fs.mkdirSync(sub);
    const lens = writeMnistLens(sub, 6000);
    const model = smallCnn(13);
    await saveModel(model, path.join(sub, 'model', 'model.json'));
    model.dispose();
    const info = (await loadModel(path.join(sub, 'model', 'model.json'))).info;
    const ds = await openDataset(await readLens(lens), 'test');
    // Warm-up (which starts a helper process mid-scan; it stays pooled), then one process, then two.
    await scanLens(lens, path.join(sub, 'warm'), 'frobenius', 3, makeJob(), { workers: 2, enginePath, minImages: 0, coldStartSeconds: 0 });
    const one = await scanLens(lens, path.join(sub, 'one'), 'frobenius', 9, makeJob(), { workers: 1 });
    const fractions: number[] = [];
    const two = await scanLens(
      lens,
      path.join(sub, 'two'),
      'max',
      9,
      makeJob((p) => fractions.push(p.fraction ?? 0)),
      { workers: 2, enginePath, minImages: 0, coldStartSeconds: 0 },
    );
    console.log(
      `scan of 6,000 MNIST digits, SMALL model: 1 process ${one.imagesPerSecond.toFixed(0)} images/s, 2 processes ${two.imagesPerSecond.toFixed(0)} images/s (speed-up ${(two.imagesPerSecond / one.imagesPerSecond).toFixed(2)}, including the helper's start)`,
    );
    assert.ok(fractions.length > 3 && fractions[fractions.length - 1] === 1, 'progress reaches 1');
    assert.ok(two.helperImages > 0 && two.helperImages < 6000, `the helper scanned part of the images (${two.helperImages})`);
    assert.equal(one.helperImages, 0);
    const a = (await findIndex(path.join(sub, 'one'), info.weightsHash, ds))!;
    const b = (await findIndex(path.join(sub, 'two'), info.weightsHash, ds))!;
    assert.ok(a && b);
    assert.equal(b.state.images, 6000);
    for (const metric of METRIC_ORDER) {
      for (let node = 0; node < a.state.nodes; node++) {
        const x = a.state.heaps[metric].sorted(node);
        const y = b.state.heaps[metric].sorted(node);
        assert.deepEqual(
          y.map((e) => e.index),
          x.map((e) => e.index),
          `${metric} node ${node}`,
        );
        y.forEach((e, i) => assert.ok(Math.abs(e.score - x[i].score) <= 1e-5 * Math.max(1, Math.abs(x[i].score))));
        if (metric === 'max')
          assert.deepEqual(
            y.map((e) => e.location),
            x.map((e) => e.location),
          );
      }
    }
    for (const key of ['classSums', 'deadCounts', 'layerNormSums', 'classCounts'] as const) {
      const p = a.state[key];
      const q = b.state[key];
      for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - q[i]) <= 1e-6 * Math.max(1, Math.abs(p[i])), `${key}[${i}]`);
    }

    // Cancelled while the helper runs: the checkpoint holds this process's prefix, and a resumed scan ends
    // with the same index.
    const job = makeJob((p) => {
      if ((p.fraction ?? 0) > 0.3) job.cancel();
    });
    await assert.rejects(
      scanLens(lens, path.join(sub, 'cancel'), 'frobenius', 9, job, { workers: 2, enginePath, minImages: 0, coldStartSeconds: 0 }),
      CancelledError,
    );
    const resumed = await scanLens(lens, path.join(sub, 'cancel'), 'frobenius', 9, makeJob(), { workers: 1 });
    assert.equal(resumed.resumed, true);
    const c = (await findIndex(path.join(sub, 'cancel'), info.weightsHash, ds))!;
    for (const metric of METRIC_ORDER) {
      for (let node = 0; node < a.state.nodes; node++)
        assert.deepEqual(
          c.state.heaps[metric].sorted(node).map((e) => e.index),
          a.state.heaps[metric].sorted(node).map((e) => e.index),
        );
    }
    assert.deepEqual(Array.from(c.state.classCounts), Array.from(a.state.classCounts));
  });
});

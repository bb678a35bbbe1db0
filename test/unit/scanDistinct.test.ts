// Every node list of a top-activation index holds distinct images and the index counts every image once,
// whichever way the scan ran: one process, split with forked engines (two helpers), cancelled and resumed
// (in parallel again), and with helpers killed mid-way so their shares are rescanned here. Each index must
// also equal the one-process index list for list.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { CancelledError } from '../../src/engine/runtime/errors';
import { makeJob } from '../../src/engine/runtime/job';
import { openDataset, readLens } from '../../src/engine/lens/lens';
import { loadModel, saveModel } from '../../src/engine/models/modelIO';
import { METRIC_ORDER } from '../../src/engine/scan/scan';
import type { StoredIndex } from '../../src/engine/scan/scanIndex';
import { acquireHelpers, releaseHelpers, stopIdleHelpers } from '../../src/engine/scan/parallelScan';
import { alive } from './procs';
import { findIndex } from '../../src/engine/scan/indexStore';
import { scanLens } from '../../src/engine/scan/topActivations';
import { smallCnn, writeMnistLens } from './scanFixtures';

// Helper scan processes run only where the scan is on tfjs (a native scan keeps to one process, see
// native/forwardLayers.ts `scoresRunNatively`): these tests exercise them, so the native runtime is off here
// (and in the engine processes they start, which inherit the environment).
process.env.FEATURE_LENS_NATIVE = 'off';

const IMAGES = 4000;

/** Starts `n` pooled helpers of `enginePath` and waits until they are up, so a scan's helpers take chunks at once. */
async function warmHelpers(enginePath: string, n: number): Promise<void> {
  const hs = acquireHelpers(enginePath, n);
  await Promise.all(hs.map((h) => h.ready));
  releaseHelpers(hs);
}

/** A job that records the largest process count its progress messages named. */
function countingJob(onProgress?: (fraction: number) => void): { job: ReturnType<typeof makeJob>; processes: () => number } {
  let most = 1;
  const job = makeJob((p) => {
    most = Math.max(most, Number(/\((\d+) processes\)/.exec(p.message ?? '')?.[1] ?? 1));
    onProgress?.(p.fraction ?? 0);
  });
  return { job, processes: () => most };
}

/** Fails on a node list with an image twice, or an index whose counts are not those of `total` images. */
function assertDistinct(idx: StoredIndex, total: number, what: string): void {
  const s = idx.state;
  assert.equal(s.images, total, `${what}: images scanned`);
  assert.equal(idx.header.next, total, `${what}: position`);
  assert.equal(
    s.classCounts.reduce((a, b) => a + b, 0),
    total,
    `${what}: every image counted once per class`,
  );
  let bad = 0;
  for (const metric of METRIC_ORDER) {
    const h = s.heaps[metric];
    for (let node = 0; node < s.nodes; node++) {
      const ids = h.sorted(node).map((e) => e.index);
      assert.equal(ids.length, Math.min(s.k, total), `${what}: ${metric} node ${node} list length`);
      if (new Set(ids).size !== ids.length) bad++;
    }
  }
  assert.equal(bad, 0, `${what}: ${bad} of ${3 * s.nodes} node lists hold an image twice`);
}

function assertSame(a: StoredIndex, b: StoredIndex, what: string): void {
  for (const metric of METRIC_ORDER) {
    for (let node = 0; node < a.state.nodes; node++) {
      assert.deepEqual(
        b.state.heaps[metric].sorted(node).map((e) => e.index),
        a.state.heaps[metric].sorted(node).map((e) => e.index),
        `${what}: ${metric} node ${node}`,
      );
    }
  }
  for (const key of ['classSums', 'deadCounts', 'layerNormSums', 'classCounts'] as const) {
    const p = a.state[key];
    const q = b.state[key];
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i] - q[i]) <= 1e-6 * Math.max(1, Math.abs(p[i])), `${what}: ${key}[${i}] ${q[i]} vs ${p[i]}`);
  }
}

describe('top-activation index: distinct images in every path', () => {
  let dir: string;
  let lens: string;
  let weightsHash: string;
  let enginePath: string;
  let ds: Awaited<ReturnType<typeof openDataset>>;
  let plain: StoredIndex;
  before(async () => {
    await initBackend('wasm');
    enginePath = path.resolve(__dirname, '../../dist/engine.js');
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-distinct-'));
    lens = writeMnistLens(dir, IMAGES);
    const model = smallCnn(21);
    await saveModel(model, path.join(dir, 'model', 'model.json'));
    model.dispose();
    weightsHash = (await loadModel(path.join(dir, 'model', 'model.json'))).info.weightsHash;
    ds = await openDataset(await readLens(lens), 'test');
  });
  after(() => {
    stopIdleHelpers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const read = async (sub: string) => {
    const idx = await findIndex(path.join(dir, sub), weightsHash, ds);
    assert.ok(idx, `${sub}: a complete index`);
    return idx;
  };

  it('one process', async () => {
    await scanLens(lens, path.join(dir, 'plain'), 'frobenius', 9, makeJob(), { workers: 1 });
    plain = await read('plain');
    assertDistinct(plain, IMAGES, 'plain');
  });

  it('three processes', async () => {
    await warmHelpers(enginePath, 2);
    const c = countingJob();
    const r = await scanLens(lens, path.join(dir, 'par'), 'frobenius', 9, c.job, { workers: 3, enginePath, minImages: 0, coldStartSeconds: 0 });
    assert.equal(c.processes(), 3, 'the scan ran in three processes');
    assert.ok(r.helperImages > 0 && r.helperImages < IMAGES, `the helpers scanned part of the images (${r.helperImages})`);
    const idx = await read('par');
    assertDistinct(idx, IMAGES, 'parallel');
    assertSame(plain, idx, 'parallel');
  });

  it('cancelled while helpers run, resumed in parallel', async () => {
    await warmHelpers(enginePath, 2);
    const { job, processes } = countingJob((f) => {
      if (f > 0.25) job.cancel();
    });
    await assert.rejects(
      scanLens(lens, path.join(dir, 'cancel'), 'frobenius', 9, job, { workers: 3, enginePath, minImages: 0, coldStartSeconds: 0 }),
      CancelledError,
    );
    assert.equal(processes(), 3, 'the cancelled scan ran in three processes');
    const r = await scanLens(lens, path.join(dir, 'cancel'), 'frobenius', 9, makeJob(), { workers: 3, enginePath, minImages: 0, coldStartSeconds: 0 });
    assert.equal(r.resumed, true);
    const idx = await read('cancel');
    assertDistinct(idx, IMAGES, 'cancel+resume');
    assertSame(plain, idx, 'cancel+resume');
  });

  it('helpers killed mid-way: their shares are rescanned here', async () => {
    // An engine that SIGKILLs itself at its first progress message or before its reply.
    const marker = path.join(dir, 'killed.pids');
    const killer = path.join(dir, 'killer.cjs');
    fs.writeFileSync(
      killer,
      `const fs = require('fs');
const send = process.send.bind(process);
process.send = (m, ...rest) => {
  if (m && (m.type === 'progress' || m.type === 'reply')) { fs.appendFileSync(${JSON.stringify(marker)}, process.pid + '\\n'); process.kill(process.pid, 'SIGKILL'); return true; }
  return send(m, ...rest);
};
require(${JSON.stringify(enginePath)});
`,
    );
    await warmHelpers(killer, 2);
    await scanLens(lens, path.join(dir, 'killed'), 'frobenius', 9, makeJob(), { workers: 3, enginePath: killer, minImages: 0, coldStartSeconds: 0 });
    assert.ok(fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim().split('\n').length >= 1, 'a helper was killed mid-way');
    const idx = await read('killed');
    assertDistinct(idx, IMAGES, 'helper killed');
    assertSame(plain, idx, 'helper killed');
  });

  it('a helper that never answers: Cancel still ends the scan, stops the helper, and a rescan completes', { timeout: 60_000 }, async () => {
    // An engine that takes scanRange requests and never answers them (nor their cancels).
    const hanger = path.join(dir, 'hanger.cjs');
    const pids = path.join(dir, 'hanger.pids');
    fs.writeFileSync(
      hanger,
      `const fs = require('fs');
fs.appendFileSync(${JSON.stringify(pids)}, process.pid + '\\n');
const on = process.on.bind(process);
process.on = (event, fn) => on(event, event === 'message' ? (m, ...rest) => { if (m && (m.method === 'scanRange' || m.type === 'cancel')) return; fn(m, ...rest); } : fn);
require(${JSON.stringify(enginePath)});
`,
    );
    await warmHelpers(hanger, 1);
    const { job } = countingJob((f) => {
      if (f >= 0.5) job.cancel();
    });
    const t0 = Date.now();
    await assert.rejects(
      scanLens(lens, path.join(dir, 'hung'), 'frobenius', 9, job, { workers: 2, enginePath: hanger, minImages: 0, coldStartSeconds: 0 }),
      CancelledError,
    );
    console.log(`# cancelled with a helper that never answers: the scan ended ${Date.now() - t0} ms after it started`);
    const hung = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    const deadline = Date.now() + 10_000;
    while (hung.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(hung.filter(alive), [], 'the helper that never answered was stopped');
    // The checkpoint holds a prefix: the scan resumes and ends with the one-process index.
    const r = await scanLens(lens, path.join(dir, 'hung'), 'frobenius', 9, makeJob(), { workers: 1 });
    assert.equal(r.resumed, true);
    const idx = await read('hung');
    assertDistinct(idx, IMAGES, 'after a hung helper');
    assertSame(plain, idx, 'after a hung helper');
  });

  it('the model retrained on disk: warm helpers, holding the old model, scan with the new one', async () => {
    await warmHelpers(enginePath, 2);
    const modelFile = path.join(dir, 'model', 'model.json');
    const retrained = smallCnn(22);
    await saveModel(retrained, modelFile);
    retrained.dispose();
    const newHash = (await loadModel(modelFile)).info.weightsHash;
    assert.notEqual(newHash, weightsHash);
    await scanLens(lens, path.join(dir, 'retrained-one'), 'frobenius', 9, makeJob(), { workers: 1 });
    const c = countingJob();
    const r = await scanLens(lens, path.join(dir, 'retrained-par'), 'frobenius', 9, c.job, { workers: 3, enginePath, minImages: 0, coldStartSeconds: 0 });
    assert.equal(c.processes(), 3, 'the scan ran in three processes');
    assert.ok(r.helperImages > 0, `the helpers scanned part of the images with the new weights (${r.helperImages})`);
    const one = await findIndex(path.join(dir, 'retrained-one'), newHash, ds);
    const par = await findIndex(path.join(dir, 'retrained-par'), newHash, ds);
    assert.ok(one && par, 'both indexes are of the new weights');
    assertDistinct(par, IMAGES, 'after a retrain');
    assertSame(one, par, 'after a retrain');
  });
});

// A scan on the native path keeps to one process: the runtime's threads use every core already, so no helper
// engine process is started even when the scan may use several (scanDataset, native/forwardLayers.ts).
// The helper processes themselves are tested with the native runtime off (scanDistinct, faults, load).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { makeJob } from '../../src/engine/runtime/job';
import { saveModel } from '../../src/engine/models/modelIO';
import { nativeRuntime } from '../../src/engine/native/runtime';
import { forwardStatus } from '../../src/engine/native/forwardLayers';
import { stopIdleHelpers } from '../../src/engine/scan/parallelScan';
import { scanLens } from '../../src/engine/scan/topActivations';
import { childPids } from './procs';
import { smallCnn, writeMnistLens } from './scanFixtures';

/** Child processes of this test running an engine bundle (tsx's own esbuild service is another child). */
function engineChildren(): number {
  return childPids(process.pid).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('engine.js');
    } catch {
      return false;
    }
  }).length;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-native-scan-'));
after(() => {
  stopIdleHelpers();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a native scan allowed three processes runs in one, on onnxruntime', async () => {
  assert.ok(nativeRuntime().ok, `the native runtime must load here: ${JSON.stringify(nativeRuntime())}`);
  await initBackend('wasm');
  const enginePath = path.resolve(__dirname, '../../dist/engine.js');
  assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
  const lens = writeMnistLens(dir, 2000);
  const model = smallCnn(5);
  await saveModel(model, path.join(dir, 'model', 'model.json'));
  model.dispose();
  let most = 1;
  let children = 0;
  const job = makeJob((p) => {
    most = Math.max(most, Number(/\((\d+) processes\)/.exec(p.message ?? '')?.[1] ?? 1));
    children = Math.max(children, engineChildren());
  });
  const r = await scanLens(lens, path.join(dir, 'index'), 'frobenius', 9, job, { workers: 3, enginePath, minImages: 0, coldStartSeconds: 0 });
  assert.equal(r.helperImages, 0, 'no image was scanned by a helper');
  assert.equal(most, 1, 'the progress never named several processes');
  assert.equal(children, 0, 'no helper engine process was started');
  assert.match(forwardStatus().forwardNote, /scan: onnxruntime/);
});

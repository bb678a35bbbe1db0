// Faults in the engine process, seen from the extension host: the engine killed (SIGKILL, as the kernel's
// out-of-memory killer does) in the middle of training and of a top-activation scan leaves the model, its
// results and the index files exactly as they were, the client says what happened, and the next request works.
// A cancelled job gives back its tensors. Runs the built engine (dist/engine.js) on the wasm backend, through
// EngineClient, as the extension does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineClient, type CancelToken } from '../../src/extension/engineClient';
import type { MethodName, ParamsOf, Progress, ReplyOf, Result } from '../../src/shared/protocol';
import { writeEflLens } from './eflLens';
import { alive, childPids } from './procs';

// Helper scan processes run only where the scan is on tfjs (a native scan keeps to one process, see
// native/forwardLayers.ts `scoresRunNatively`): these tests exercise them, so the native runtime is off here
// (and in the engine processes they start, which inherit the environment).
process.env.FEATURE_LENS_NATIVE = 'off';

const enginePath = path.resolve(__dirname, '../../dist/engine.js');

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out.set(f, fs.readFileSync(p));
  }
  return out;
}

function tokenSource(): { token: CancelToken; cancel(): void } {
  const listeners: (() => void)[] = [];
  let cancelled = false;
  return {
    token: {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested(l) {
        listeners.push(l);
        return { dispose: () => listeners.splice(listeners.indexOf(l), 1) };
      },
    },
    cancel() {
      cancelled = true;
      for (const l of [...listeners]) l();
    },
  };
}

describe('engine faults', () => {
  let dir: string;
  let storage: string;
  let lens: string;
  let modelDir: string;
  let client: EngineClient;
  const logs: string[] = [];

  before(() => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    // Every scan here runs in two processes (the engine and one helper), whatever the machine's cores and speed.
    process.env.FEATURE_LENS_SCAN_WORKERS = '2';
    process.env.FEATURE_LENS_SCAN_COLD_START_SECONDS = '0';
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-faults-'));
    storage = path.join(dir, 'storage');
    fs.mkdirSync(storage);
    lens = writeEflLens(dir);
    modelDir = path.join(dir, 'model');
    client = new EngineClient({ enginePath, backend: () => 'wasm', log: (level, m) => logs.push(`${level}: ${m}`) });
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends a request and SIGKILLs the engine (and notes its helper processes) at the first progress event matching `when`. */
  async function killDuring<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    when: (p: Progress) => boolean,
  ): Promise<{ result: Result<ReplyOf<M>>; helpers: number[]; progress: number; message: string }> {
    await client.call('status', {});
    const pid = client.pid!;
    let helpers: number[] = [];
    let progress = 0;
    let message = '';
    const result = await client.request(method, params, {
      onProgress: (p) => {
        progress++;
        if (alive(pid) && when(p)) {
          helpers = childPids(pid);
          message = p.message ?? '';
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    return { result, helpers, progress, message };
  }

  function assertDied(r: Result<unknown>, method: string): void {
    assert.ok('err' in r, `expected the ${method} request to fail, got ${JSON.stringify(r).slice(0, 200)}`);
    assert.equal(r.err.code, 'engineDied');
    assert.equal(
      r.err.message,
      `The Feature Lens engine was killed (SIGKILL, possibly out of memory). It restarts on the next request. (while running ${method})`,
    );
  }

  it('trains once, and scans the test split once (the files the faults must not touch)', { timeout: 120_000 }, async () => {
    const r = await client.call('train', { lens });
    assert.ok(r.testAccuracy > 0.9, `EFL is learnable: test accuracy ${r.testAccuracy}`);
    assert.ok(fs.existsSync(path.join(modelDir, 'model.json')));
    const s = await client.call('scan', { lens, storageDir: storage, k: 9 });
    assert.equal(s.images, 3000);
    assert.ok(fs.existsSync(s.index));
  });

  it('SIGKILL during training: the model and its results are byte-identical, and the next request works', { timeout: 120_000 }, async () => {
    const before = snapshot(dir);
    const infoBefore = await client.call('modelInfo', { model: path.join(modelDir, 'model.json') });
    const { result, progress } = await killDuring('train', { lens }, (p) => !!p.train && p.train.batch >= 5);
    assertDied(result, 'train');
    assert.ok(progress >= 1);
    assert.deepEqual(snapshot(dir), before, 'no file changed, appeared or disappeared (no temporaries left)');
    const info = await client.call('modelInfo', { model: path.join(modelDir, 'model.json') });
    assert.equal(info.weightsHash, infoBefore.weightsHash);
    assert.ok(
      logs.some((l) => /^error: The Feature Lens engine was killed \(SIGKILL.*1 request\(s\) failed: train\./.test(l)),
      'the log says which request died',
    );
  });

  it('SIGKILL during a scan: the index files are byte-identical, helpers exit, and a new scan completes', { timeout: 120_000 }, async () => {
    const before = snapshot(dir);
    // Killed once the helper runs (the progress then says "(2 processes)"): the setup guarantees one helper.
    const { result, helpers, message } = await killDuring('scan', { lens, storageDir: storage, k: 5 }, (p) => /\(2 processes\)/.test(p.message ?? ''));
    assertDied(result, 'scan');
    assert.equal(helpers.length, 1, `the progress said "${message}": the engine had one helper process, found ${helpers.length}`);
    // Helper engines (parallel scan) lose their parent's IPC channel and exit by themselves.
    const deadline = Date.now() + 10_000;
    while (helpers.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(helpers.filter(alive), [], 'no orphaned helper process');
    console.log(`# scan killed at "${message}" with ${helpers.length} helper process(es) running; all exited`);
    assert.deepEqual(snapshot(dir), before, 'no index (or anything else) changed, and no temporaries left');
    const s = await client.call('scan', { lens, storageDir: storage, k: 5 });
    assert.equal(s.images, 3000);
    assert.equal(s.reused, false);
    const top = await client.call('topActivations', { lens, storageDir: storage, layer: 0, node: 0 });
    assert.ok(top && top.top.length >= 5);
  });

  it('a cancelled training and a cancelled scan give back every tensor', { timeout: 120_000 }, async () => {
    await client.call('modelInfo', { model: path.join(modelDir, 'model.json') });
    const base = await client.call('status', {});
    const filesBefore = snapshot(modelDir);

    const t = tokenSource();
    const r1 = await client.request('train', { lens }, { token: t.token, onProgress: (p) => p.train && p.train.batch >= 10 && t.cancel() });
    assert.deepEqual(r1, { err: { code: 'cancelled', message: 'Cancelled.' } });
    const afterTrain = await client.call('status', {});
    assert.equal(afterTrain.numTensors, base.numTensors, 'tensors after a cancelled training');
    assert.deepEqual(snapshot(modelDir), filesBefore, 'a cancelled training writes nothing');

    const s = tokenSource();
    const r2 = await client.request('scan', { lens, storageDir: storage, k: 3 }, { token: s.token, onProgress: (p) => (p.fraction ?? 0) > 0.05 && s.cancel() });
    assert.deepEqual(r2, { err: { code: 'cancelled', message: 'Cancelled.' } });
    const afterScan = await client.call('status', {});
    assert.equal(afterScan.numTensors, base.numTensors, 'tensors after a cancelled scan');
    console.log(
      `# numTensors ${base.numTensors} -> ${afterTrain.numTensors} (cancelled train) -> ${afterScan.numTensors} (cancelled scan); rss ${(base.rss / 2 ** 20).toFixed(0)} -> ${(afterScan.rss / 2 ** 20).toFixed(0)} MB`,
    );
  });
});

// Load: many inspection requests at once are all answered, in order and right; and a long scan in the engine
// leaves the extension host's event loop free (no compute on the host's thread), measured with
// perf_hooks.monitorEventLoopDelay in this process while the scan's progress events flow in.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { EngineClient } from '../../src/extension/engineClient';
import { writeEflLens } from './eflLens';
import { childPids } from './procs';

// Helper scan processes run only where the scan is on tfjs (a native scan keeps to one process, see
// native/forwardLayers.ts `scoresRunNatively`): these tests exercise them, so the native runtime is off here
// (and in the engine processes they start, which inherit the environment).
process.env.FEATURE_LENS_NATIVE = 'off';

const enginePath = path.resolve(__dirname, '../../dist/engine.js');

describe('engine under load', () => {
  let dir: string;
  let lens: string;
  let model: string;
  let client: EngineClient;
  /** Holds the index of the long scan, for the kill test to check. */
  let scanned: string;

  before(async () => {
    assert.ok(fs.existsSync(enginePath), 'dist/engine.js is missing: run `npm run build` first');
    // Every scan here runs in two processes (the engine and one helper), whatever the machine's cores and speed.
    process.env.FEATURE_LENS_SCAN_WORKERS = '2';
    process.env.FEATURE_LENS_SCAN_COLD_START_SECONDS = '0';
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-load-'));
    lens = writeEflLens(dir, 10_000);
    model = path.join(dir, 'model', 'model.json');
    client = new EngineClient({ enginePath, backend: () => 'wasm', log: () => {} });
    await client.call('train', { lens });
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 200 inspection requests fired at once, in order, each for its own image', { timeout: 120_000 }, async () => {
    // The reference: a few answers asked one at a time.
    const ref = new Map<number, Float32Array>();
    for (const i of [0, 1, 77, 198]) ref.set(i, (await client.call('featureMaps', { model, layer: 0, input: { lens, index: i } })).maps.data);
    const order: number[] = [];
    const t0 = performance.now();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const r =
          i % 4 === 3
            ? client.request('weights', { model, layer: 0, node: i % 8 })
            : client.request('featureMaps', { model, layer: 0, input: { lens, index: i } });
        return r.then((x) => (order.push(i), x));
      }),
    );
    const ms = performance.now() - t0;
    assert.deepEqual(
      order,
      Array.from({ length: 200 }, (_, i) => i),
    );
    for (const [i, r] of replies.entries()) {
      assert.ok('ok' in r, `request ${i}: ${JSON.stringify(r).slice(0, 200)}`);
      if (i % 4 === 3) assert.deepEqual((r.ok as { nodes: number[] }).nodes, [i % 8]);
      else assert.deepEqual((r.ok as { maps: { shape: number[] } }).maps.shape, [22, 22, 8]);
    }
    for (const [i, data] of ref)
      assert.deepEqual((replies[i] as { ok: { maps: { data: Float32Array } } }).ok.maps.data, data, `image ${i} got its own feature maps`);
    assert.notDeepEqual(ref.get(0), ref.get(1));
    console.log(`# 200 requests answered in ${ms.toFixed(0)} ms (${(ms / 200).toFixed(1)} ms each)`);
  });

  it('keeps the host event loop responsive during a long scan', { timeout: 120_000 }, async () => {
    const storage = fs.mkdtempSync(path.join(dir, 'storage-'));
    scanned = storage;
    const h = monitorEventLoopDelay({ resolution: 10 });
    // Also a host-side heartbeat: what a user would feel as a frozen UI.
    let beats = 0;
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      beats++;
    }, 20);
    let progress = 0;
    h.enable();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    /** The heartbeat count at each progress event: a host busy computing would run no timer between them. */
    const beatsAtProgress: number[] = [];
    const s = await client.call('scan', { lens, storageDir: storage, k: 9 }, { onProgress: () => (progress++, beatsAtProgress.push(beats)) });
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    h.disable();
    const hostCpu = (cpu.user + cpu.system) / 1000 / ms;
    clearInterval(timer);
    const p99 = h.percentile(99) / 1e6;
    const max = h.max / 1e6;
    console.log(
      `# scan of ${s.images} images took ${(ms / 1000).toFixed(1)} s with ${progress} progress events; host event-loop delay p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; worst 20 ms-heartbeat gap ${worstGap.toFixed(0)} ms over ${beats} beats; host CPU ${(100 * hostCpu).toFixed(1)}% of the wall time`,
    );
    assert.ok(progress >= 5, `progress events flowed (${progress})`);
    // Responsiveness, not speed: no bound on a delay (a loaded machine stretches any), but what only a defect
    // changes. A host that computed the scan itself would use about a whole core, and its timers would not run
    // while it computed: the heartbeat would not fire between the progress events. The delays are printed above
    // for the record.
    assert.ok(hostCpu < 0.5, `the host used ${(100 * hostCpu).toFixed(1)}% of a core during the scan`);
    const rising = beatsAtProgress.filter((b, i) => i > 0 && b > beatsAtProgress[i - 1]).length;
    assert.ok(rising >= 2, `the host's timers ran between progress events (${rising} of ${progress - 1} intervals had a heartbeat)`);
  });

  it('SIGKILL during a parallel scan: the helper engines exit too, and the index folder is untouched', { timeout: 120_000 }, async () => {
    const storage = scanned;
    const before = new Map(fs.readdirSync(storage).map((f) => [f, fs.readFileSync(path.join(storage, f))]));
    const pid = (await client.call('status', {})).pid;
    let helpers: number[] = [];
    let when = '';
    const r = await client.request(
      'scan',
      { lens, storageDir: storage, k: 6 },
      {
        onProgress: (p) => {
          if (helpers.length || when) return;
          // Kill once the helper runs (the progress message then says "(2 processes)"; the setup guarantees it).
          if (/\(2 processes\)/.test(p.message ?? '')) {
            helpers = childPids(pid);
            when = p.message ?? '';
            process.kill(pid, 'SIGKILL');
          }
        },
      },
    );
    assert.ok('err' in r && r.err.code === 'engineDied', JSON.stringify(r).slice(0, 200));
    assert.equal(helpers.length, 1, `the progress said "${when}": the engine had one helper process, found ${helpers.length}`);
    const alive = (h: number) => {
      try {
        process.kill(h, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    while (helpers.some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    console.log(`# parallel scan killed at "${when}" with ${helpers.length} helper process(es); alive afterwards: ${helpers.filter(alive).length}`);
    assert.deepEqual(helpers.filter(alive), [], 'helpers exit when the engine that forked them dies');
    assert.deepEqual(new Map(fs.readdirSync(storage).map((f) => [f, fs.readFileSync(path.join(storage, f))])), before);
  });
});

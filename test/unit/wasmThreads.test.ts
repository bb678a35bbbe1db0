import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { WASM_THREADS_ENV, workerScript } from '../../src/engine/runtime/wasmThreads';
import { assertClose } from './numbers';

// The optional multithreaded wasm backend. The backend initialises once per process, so each case runs
// fixtures/threadedProbe.ts in a child process with its own FEATURE_LENS_WASM_THREADS and its own TMPDIR.

const PROBE = path.join(__dirname, 'fixtures', 'threadedProbe.ts');
const EXIT_WITHIN_MS = 20_000;

interface Probe {
  backend?: string;
  note?: string | null;
  threads?: number;
  error?: string;
  wasm?: { y: number[]; dx: number[]; df: number[] };
  cpu?: { y: number[]; dx: number[]; df: number[] };
  kernel?: { worst: number; argmaxMismatches: number; shared: boolean | null } | null;
  tmp: string[];
}

const children = new Set<ChildProcess>();
const tmpDirs: string[] = [];

/** Runs the probe with `threads` as FEATURE_LENS_WASM_THREADS (undefined: unset); fails if it does not exit by itself. */
async function probe(threads: string | undefined, setting: 'auto' | 'wasm' = 'auto'): Promise<{ result: Probe; tmpdir: string; ms: number }> {
  const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-threads-test-'));
  tmpDirs.push(tmpdir);
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpdir };
  if (threads === undefined) delete env[WASM_THREADS_ENV];
  else env[WASM_THREADS_ENV] = threads;
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, setting], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const exited = await new Promise<number | null | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), EXIT_WITHIN_MS);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const ms = Date.now() - started;
    assert.notEqual(exited, 'timeout', `the child did not exit on its own within ${EXIT_WITHIN_MS / 1000} s (stdout: ${stdout.slice(0, 300)})`);
    assert.equal(exited, 0, `the child failed: ${stderr}`);
    const line = stdout.trim().split('\n').pop() ?? '';
    return { result: JSON.parse(line) as Probe, tmpdir, ms };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.delete(child);
  }
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

test(
  "2 threads: the threaded build runs, its gradients equal the cpu backend's, the process exits and leaves no temp folder",
  { timeout: 60_000 },
  async () => {
    const { result, tmpdir } = await probe('2');
    assert.equal(result.error, undefined);
    assert.equal(result.backend, 'wasm');
    assert.equal(result.threads, 2);
    assert.match(result.note ?? '', /wasm, 2 threads/);
    for (const k of ['y', 'dx', 'df'] as const) assertClose(result.wasm![k], result.cpu![k], `${k} on 2 threads`);
    // The scan's SIMD kernel imports the threaded build's shared memory (its second build, node-scores-shared.wasm).
    assert.ok(result.kernel, 'the node-score kernel loads on the threaded build');
    assert.equal(result.kernel.shared, true, "the threaded build's memory is shared");
    assert.ok(result.kernel.worst < 1e-5, `node scores differ from a float64 reduction by ${result.kernel.worst}`);
    assert.equal(result.kernel.argmaxMismatches, 0);
    assert.deepEqual(
      result.tmp.filter((f) => f.startsWith('feature-lens-wasm-')),
      [],
      'the child saw its temporary folder still there',
    );
    assert.deepEqual(
      fs.readdirSync(tmpdir).filter((f) => f.startsWith('feature-lens-wasm-')),
      [],
      'a temporary folder was left behind',
    );
  },
);

test('1 thread, or the variable unset: the single-threaded build, and the note says nothing of threads', { timeout: 60_000 }, async () => {
  for (const threads of ['1', undefined]) {
    const { result, tmpdir } = await probe(threads);
    const what = `${WASM_THREADS_ENV}=${threads ?? '(unset)'}`;
    assert.equal(result.error, undefined, what);
    assert.equal(result.backend, 'wasm', what);
    assert.equal(result.threads, 1, what);
    assert.doesNotMatch(result.note ?? '', /threads/, what);
    for (const k of ['y', 'dx', 'df'] as const) assertClose(result.wasm![k], result.cpu![k], `${k}, ${what}`);
    assert.equal(result.kernel?.shared, false, `${what}: the node-score kernel runs on the plain memory`);
    assert.ok(result.kernel.worst < 1e-5 && result.kernel.argmaxMismatches === 0, `${what}: node scores ${JSON.stringify(result.kernel)}`);
    assert.deepEqual(
      fs.readdirSync(tmpdir).filter((f) => f.startsWith('feature-lens-wasm-')),
      [],
      what,
    );
  }
});

test('a thread count that is not a whole number: wasm and auto fail with a message naming the variable', { timeout: 60_000 }, async () => {
  const wasm = (await probe('abc', 'wasm')).result;
  assert.equal(wasm.backend, undefined, "initBackend('wasm') rejected");
  assert.match(wasm.error ?? '', new RegExp(`${WASM_THREADS_ENV} must be a whole number ≥ 1, not "abc"`));
  // auto fails the same way instead of falling back to the slow cpu backend: the setting is the user's to fix.
  const auto = (await probe('abc', 'auto')).result;
  assert.equal(auto.backend, undefined, "initBackend('auto') rejected");
  assert.match(auto.error ?? '', new RegExp(`${WASM_THREADS_ENV} must be a whole number ≥ 1, not "abc"`));
});

test('workerScript loads the module from the given file, on one line; another form of worker source is refused', () => {
  const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };
  const file = path.join(os.tmpdir(), 'feature-lens-wasm-x', 'wasm-threaded-simd.js');
  const script = workerScript(wasmWorkerContents, file);
  assert.ok(script.includes(`importScripts(${JSON.stringify(file)})`), 'imports the given file');
  assert.ok(!script.includes('\n'), 'no raw newline');
  assert.ok(!script.includes('e.data.urlOrBlob'), 'the Blob/URL branch is gone');
  // The rest of tfjs's worker is unchanged (newlines escaped as the backend does).
  const [before] = wasmWorkerContents.split('if(typeof e.data.urlOrBlob');
  assert.ok(script.startsWith(before.replace(/\n/g, '\\n')));
  // A path with quotes and backslashes stays one valid string literal.
  const odd = '/tmp/a "b"\\c.js';
  assert.ok(workerScript(wasmWorkerContents, odd).includes(`importScripts(${JSON.stringify(odd)})`));

  for (const other of ['', 'self.onmessage = (e) => importScripts(e.data.url);', wasmWorkerContents.replace('urlOrBlob=="string"', 'urlOrBlob==="string"')]) {
    assert.throws(() => workerScript(other, file), /the wasm worker script has an unexpected form \(another @tensorflow\/tfjs-backend-wasm version\?\)/);
  }
});

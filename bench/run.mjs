#!/usr/bin/env node
// `npm run bench`: Feature Lens against PyTorch on this machine, on the same networks, weights and data.
// Prints a table (images/s, ratio Feature Lens / PyTorch, peak RSS of each side) and writes
// bench/results/latest.json. See bench/README.md.
//
//   node bench/run.mjs [--nets mnist,small,big] [--measures forward,step,train,scan,deconv,maximize,memory,profile] [--quick]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDigits, prepareRepeated, readNpy, writeNpy } from './data.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, 'bench', '.work');
const RESULTS = path.join(ROOT, 'bench', 'results');
const PYTHON = '/usr/bin/python3';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const TOLERANCE = 1e-4;

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const QUICK = argv.includes('--quick');
const NET_NAMES = opt('nets', 'mnist,small,big').split(',');
const MEASURES = opt('measures', 'forward,step,train,scan,deconv,maximize,memory,profile').split(',');

/** Sizes per net: chosen so the whole run takes 5–10 minutes on 2 cores (BIG trains at ~100–200 images/s on wasm). */
const SIZES = {
  mnist: { forward: 4096, train: 2048, scan: 10000, deconvLayer: 2, node: 1, maximizeLayer: 2 },
  small: { forward: 4096, train: 2048, scan: 10000, deconvLayer: 2, node: 1, maximizeLayer: 2 },
  big: { forward: 1024, train: 512, scan: 2000, deconvLayer: 2, node: 1, maximizeLayer: 2 },
};
const BATCH = { forward: 256, train: 64 };
const RUNS = QUICK ? 1 : 3;
const TRAIN_RECIPE = { optimizer: { type: 'adam', learningRate: 0.001 }, loss: 'categoricalCrossentropy', epochs: 1, batchSize: BATCH.train, seed: 1 };
/** The sample workspace's MNIST lens: when it exists, its training recipe defines the `mnist` net and how it trains. */
const SAMPLE_MNIST = process.env.BENCH_MNIST_LENS || path.join(ROOT, 'samples', 'mnist', 'mnist.lens.json');

/** The sample MNIST recipe (`training` of its lens file), or null when there is none yet. */
function sampleRecipe() {
  try {
    const t = JSON.parse(fs.readFileSync(SAMPLE_MNIST, 'utf8')).training;
    return t && Array.isArray(t.architecture) ? t : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------ children

/** Resident bytes of `pid` and all its descendants now (the engine's scan forks helper processes). */
function treeRss(pid) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      /* the process exited meanwhile */
    }
  }
  let total = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    try {
      total += Number(fs.readFileSync(`/proc/${p}/statm`, 'utf8').split(' ')[1]) * 4096;
    } catch {
      /* exited */
    }
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

/**
 * Runs one child to completion; its last stdout line is its JSON result. The peak resident memory of the
 * child and its descendants together is sampled every 50 ms (`peakRssTree`); `peakRss` is the larger of
 * that and the child's own exact figure.
 */
function run(cmd, args, env, label) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peakTree = 0;
    const timer = setInterval(() => {
      peakTree = Math.max(peakTree, treeRss(child.pid));
    }, 50);
    child.on('close', (code) => {
      clearInterval(timer);
      const lines = stdout.trim().split('\n');
      let parsed;
      try {
        parsed = JSON.parse(lines[lines.length - 1]);
      } catch {
        const why = (stderr || `exit ${code}`).trim().split('\n').filter(Boolean);
        parsed = { error: why.find((l) => /Error|error:/.test(l)) ?? why[why.length - 1] ?? 'no output' };
      }
      const own = /\{"peakRss":(\d+)\}/.exec(stderr);
      if (own && !parsed.peakRss) parsed.peakRss = Number(own[1]);
      parsed.peakRssTree = peakTree;
      if (parsed.peakRss != null || peakTree) parsed.peakRss = Math.max(parsed.peakRss ?? 0, peakTree);
      parsed.stderr = stderr;
      if (process.env.BENCH_VERBOSE)
        process.stderr.write(`  ${label} ${((Date.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify({ ...parsed, stderr: undefined }).slice(0, 300)}\n`);
      resolve(parsed);
    });
  });
}

const fl = (args) =>
  run(process.execPath, ['--import', 'tsx', 'bench/featureLens.ts', JSON.stringify({ backend: 'wasm', ...args })], process.env, `featureLens ${args.measure}`);

const pyEnv = (threads) => ({
  ...process.env,
  LD_LIBRARY_PATH: [OPENBLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  OPENBLAS_NUM_THREADS: '1',
  BENCH_TORCH_THREADS: String(threads),
});
const py = (args, threads = 2) => run(PYTHON, ['bench/reference.py', JSON.stringify(args)], pyEnv(threads), `pytorch ${args.measure} (${threads} threads)`);

/**
 * PyTorch's best of 2 threads (the fair baseline on 2 cores) and 1 thread: when other processes load the
 * machine, OpenMP's 2-thread barriers wait for a descheduled thread at every op and PyTorch becomes
 * 10-100x slower than on 1 thread, which would flatter Feature Lens.
 */
async function pyBest(args, valueOf, lowerIsBetter = false) {
  const one = await py(args, 1);
  // 2 threads stop after the warm-up when that alone takes 3x as long as 1 thread's median run.
  const perRun = one.seconds ? [...one.seconds].sort((a, b) => a - b)[one.seconds.length >> 1] : undefined;
  const two = await py({ ...args, ...(perRun ? { giveUpAfter: 3 * perRun } : {}) }, 2);
  if (two.error || valueOf(two) == null) return one.error ? two : one;
  if (one.error || valueOf(one) == null) return two;
  return (lowerIsBetter ? valueOf(one) < valueOf(two) : valueOf(one) > valueOf(two)) ? one : two;
}

// ------------------------------------------------------------------------------------------ setup

/** The PyTorch baseline needs python3-torch and the threaded OpenBLAS; installs them when root, else says what to run. */
function checkPython() {
  const missing = [];
  if (!fs.existsSync(path.join(OPENBLAS, 'libblas.so.3'))) missing.push('libopenblas0-pthread');
  if (spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status !== 0) missing.push('python3-torch');
  if (!missing.length) return null;
  if (process.getuid?.() === 0) {
    console.log(`Installing ${missing.join(' ')} for the PyTorch baseline...`);
    const r = spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit' });
    if (r.status === 0) return null;
  }
  return `PyTorch baseline unavailable: run \`sudo apt-get install -y ${missing.join(' ')}\` and rerun npm run bench.`;
}

function writeJson(file, value) {
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

/** x/y NPY files holding the first `n` digits (the test split of the bench's lens files). */
function subset(data, n) {
  const xf = path.join(WORK, `x${n}.npy`);
  const yf = path.join(WORK, `y${n}.npy`);
  if (!fs.existsSync(xf)) {
    writeNpy(xf, readNpy(data.x).subarray(0, n * 784), [n, 28, 28, 1]);
    writeNpy(yf, readNpy(data.y).subarray(0, n), [n]);
  }
  return { x: xf, y: yf };
}

/** A lens file for `net` over the given split files; with a training recipe when `architecture` is given. */
function writeLens(file, model, train, test, architecture, recipe = TRAIN_RECIPE) {
  const lens = {
    name: path.basename(file, '.lens.json'),
    model: path.relative(path.dirname(file), model),
    dataset: { format: 'npy', train: { images: train.x, labels: train.y }, test: { images: test.x, labels: test.y } },
    ...(architecture ? { training: { architecture, ...recipe, epochs: 1 } } : {}),
  };
  writeJson(file, lens);
  return file;
}

/** The bench net as a training recipe's architecture (lens.json format), for the engine's trainer. */
function recipeArchitecture(modelJson) {
  const topo = JSON.parse(fs.readFileSync(modelJson, 'utf8')).modelTopology;
  return topo.config.layers.map(({ class_name: cls, config: c }) => {
    if (cls === 'Conv2D') return { type: 'conv2d', filters: c.filters, kernelSize: c.kernel_size, activation: c.activation, padding: c.padding };
    if (cls === 'MaxPooling2D') return { type: 'maxPooling2d', poolSize: c.pool_size };
    if (cls === 'Flatten') return { type: 'flatten' };
    if (cls === 'Dense') return { type: 'dense', units: c.units, activation: c.activation };
    throw new Error(`no recipe for ${cls}`);
  });
}

// ------------------------------------------------------------------------------------------ measures

const results = {};
const rows = [];

/** The fastest run's value, from the median value `v` and the per-run seconds (or per-run rates). */
function best(r, v, lowerIsBetter) {
  if (v == null) return null;
  if (Array.isArray(r.runs) && r.runs.length) return Math.max(...r.runs);
  if (!Array.isArray(r.seconds) || !r.seconds.length) return v;
  const sorted = [...r.seconds].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  return lowerIsBetter ? (v * sorted[0]) / median : (v * median) / sorted[0];
}

function record(key, net, measure, unit, flR, pyR, valueOf, note) {
  const flv = flR && valueOf(flR);
  const pyv = pyR && valueOf(pyR);
  const lowerIsBetter = unit === 'ms';
  const flNote = !flR ? 'n/a' : flR.notImplemented ? 'n/a (not implemented)' : flR.error ? `error: ${flR.error}` : null;
  const pyNote = !pyR ? 'n/a' : pyR.error ? `error: ${pyR.error}` : null;
  const entry = {
    net,
    unit,
    // The fastest run too: on a machine shared with other work it is the least disturbed one.
    featureLensBest: flNote ? null : best(flR, flv, lowerIsBetter),
    pytorchBest: pyNote ? null : best(pyR, pyv, lowerIsBetter),
    featureLens: flNote ? null : flv,
    pytorch: pyNote ? null : pyv,
    ratio: !flNote && !pyNote && flv && pyv ? (lowerIsBetter ? pyv / flv : flv / pyv) : null,
    ratioBest: null,
    featureLensPeakRss: flR?.peakRss ?? null,
    pytorchPeakRss: pyR?.peakRss ?? null,
    pytorchThreads: pyR?.threads ?? null,
    ...(flNote ? { featureLensNote: flNote } : {}),
    ...(pyNote ? { pytorchNote: pyNote } : {}),
    ...(note ? { note } : {}),
  };
  if (entry.ratio != null && entry.featureLensBest && entry.pytorchBest)
    entry.ratioBest = lowerIsBetter ? entry.pytorchBest / entry.featureLensBest : entry.featureLensBest / entry.pytorchBest;
  results[key] = entry;
  rows.push({ key, measure, net, unit, entry, flNote, pyNote });
}

/** Runs the check that both sides compute the same outputs; returns null when they agree, else why not. */
async function checkSame(net, model, data) {
  const acts = path.join(WORK, net, 'check');
  const f = await fl({ measure: 'check', model, data: data.x, images: 16, out: acts });
  if (f.error) return `Feature Lens failed: ${f.error}`;
  const p = await py({ measure: 'check', model, data: data.x, activations: acts });
  if (p.error) return `PyTorch failed: ${p.error}`;
  const bad = p.layers.filter((l) => l.maxAbsError > TOLERANCE * l.scale);
  results[`check.${net}`] = { maxRelError: p.maxRelError, layers: p.layers };
  console.log(`  ${net}: every layer's output on 16 images agrees to ${p.maxRelError.toExponential(1)} (relative; tolerance ${TOLERANCE})`);
  return bad.length ? `outputs differ: ${bad.map((l) => `${l.layer} by ${l.maxAbsError.toExponential(2)}`).join(', ')}` : null;
}

async function benchNet(net, data) {
  const dir = path.join(WORK, net);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'model.json');
  const recipe = net === 'mnist' ? sampleRecipe() : null;
  let train = { ...TRAIN_RECIPE };
  let built;
  if (recipe) {
    // The seed's MNIST net as the sample workspace trains it: its architecture, optimizer, loss, batch size.
    train = {
      ...train,
      ...(recipe.optimizer ? { optimizer: { type: 'adam', learningRate: 0.001, ...recipe.optimizer } } : {}),
      loss: recipe.loss ?? train.loss,
      batchSize: recipe.batchSize ?? 32,
      seed: recipe.seed ?? 1,
    };
    const lens = writeLens(path.join(dir, 'build.lens.json'), model, data, data, recipe.architecture, train);
    built = await fl({ measure: 'buildRecipe', lens, out: model });
    console.log(
      `  mnist: the net of ${path.relative(ROOT, SAMPLE_MNIST)} (${built.params ?? '?'} parameters), trained with ${train.optimizer.type} ${train.optimizer.learningRate}, batch ${train.batchSize}`,
    );
  } else {
    built = await fl({ measure: 'build', net, out: model });
    if (net === 'mnist')
      console.log(`  mnist: ${path.relative(ROOT, SAMPLE_MNIST)} does not exist yet: using 2 x (conv 5x5 + ReLU + max-pool) with 16 and 32 filters, dense(10)`);
  }
  if (built.error) {
    console.log(`  ${net}: could not build the model: ${built.error}`);
    return;
  }
  const size = SIZES[net];
  const key = (m) => (net === 'mnist' ? m : `${m}.${net}`);
  const mismatch = await checkSame(net, model, data);
  if (mismatch) {
    console.log(`  ${net}: SKIPPED, Feature Lens and PyTorch compute different things: ${mismatch}`);
    results[`check.${net}`] = { ...(results[`check.${net}`] ?? {}), error: mismatch };
    return;
  }
  const common = { model, data: data.x, labels: data.y };
  const warm = QUICK ? 0 : 1;

  if (MEASURES.includes('forward')) {
    const a = { ...common, measure: 'forward', images: size.forward, batch: BATCH.forward, runs: RUNS + 2, warmup: 1 };
    record(key('forward'), net, 'forward (inference)', 'images/s', await fl(a), await pyBest(a, (r) => r.ips), (r) => r.ips);
  }

  if (MEASURES.includes('step')) {
    // Not timed: one SGD step from the same weights on the same batch must give the same weights.
    const out = path.join(dir, 'step.bin');
    const f = await fl({ ...common, measure: 'step', batch: BATCH.train, learningRate: 0.1, out });
    const p = f.error
      ? null
      : await py({ ...common, measure: 'step', optimizer: 'sgd', learningRate: 0.1, images: BATCH.train, batch: BATCH.train, weights: out });
    const err = f.error ?? p?.error;
    results[`gradients.${net}`] = err ? { error: err } : { maxRelError: p.maxRelError, ok: p.maxRelError <= TOLERANCE };
    console.log(
      `  ${net}: one SGD step, weights after it ${err ? `not compared: ${err}` : `agree to ${p.maxRelError.toExponential(1)} (relative)${p.maxRelError > TOLERANCE ? '  MISMATCH' : ''}`}`,
    );
  }

  if (MEASURES.includes('train')) {
    const trainSet = subset(data, size.train);
    const testSet = subset(data, 256);
    const lens = writeLens(
      path.join(dir, 'train.lens.json'),
      path.join(dir, 'trained', 'model.json'),
      trainSet,
      testSet,
      recipe ? recipe.architecture : recipeArchitecture(model),
      train,
    );
    const f = await fl({ measure: 'train', lens, runs: RUNS, warmup: warm });
    const o = train.optimizer;
    const p = await pyBest(
      {
        ...common,
        measure: 'train',
        images: size.train,
        batch: train.batchSize,
        optimizer: o.type,
        learningRate: o.learningRate,
        momentum: o.momentum ?? 0.9,
        loss: train.loss,
        runs: RUNS,
        warmup: warm,
      },
      (r) => r.ips,
    );
    record(key('train'), net, `train (${o.type}, batch ${train.batchSize})`, 'images/s', f, p, (r) => r.ips);
  }

  if (MEASURES.includes('scan')) {
    const test = size.scan === 10000 ? data : subset(data, size.scan);
    const lens = writeLens(path.join(dir, 'scan.lens.json'), model, test, test);
    const top = path.join(dir, 'scan-top.json');
    const f = await fl({ measure: 'scan', lens, storage: path.join(dir, 'index'), k: 9, out: top, runs: RUNS, warmup: warm });
    const p = await pyBest(
      { ...common, data: test.x, labels: test.y, measure: 'scan', batch: f.batch ?? 256, k: 9, runs: RUNS, warmup: warm, ...(f.ips ? { compare: top } : {}) },
      (r) => r.ips,
    );
    let note;
    if (f.ips && p.ips !== undefined) {
      note = `top-9 scores agree to ${p.maxRelError.toExponential(1)}; ${p.indexMismatches} of ${p.nodesCompared} node lists differ in an untied image`;
      console.log(`  ${net}: scan, ${note}`);
      if (p.maxRelError > TOLERANCE || p.indexMismatches > 0) note = `MISMATCH: ${note}`;
    }
    record(key('scan'), net, `scan, all nodes (${test === data ? 10000 : size.scan} images)`, 'images/s', f, p, (r) => r.ips, note);
  }

  if (MEASURES.includes('deconv')) {
    const out = path.join(dir, 'deconv.bin');
    const a = { ...common, measure: 'deconv', images: 9, layer: size.deconvLayer, node: size.node, runs: RUNS + 2, warmup: 1 };
    const f = await fl({ ...a, out });
    const p = await pyBest({ ...a, ...(f.ms ? { projections: out } : {}) }, (r) => r.ms, true);
    let note;
    if (f.ms && p.ms !== undefined) {
      const rel = p.maxAbsError / p.scale;
      note = `projections agree to ${rel.toExponential(1)} (relative)`;
      console.log(`  ${net}: deconvolution, ${note}`);
      if (rel > TOLERANCE) note = `MISMATCH: ${note}`;
    }
    record(key('deconv'), net, `deconv, 1 node x 9 images (layer ${size.deconvLayer})`, 'ms', f, p, (r) => r.ms, note);
  }

  if (MEASURES.includes('maximize')) {
    const a = { ...common, measure: 'maximize', layer: size.maximizeLayer, node: size.node, steps: QUICK ? 16 : 64, runs: RUNS, warmup: 1 };
    record(
      key('maximize'),
      net,
      `activation maximization (layer ${size.maximizeLayer})`,
      'steps/s',
      await fl(a),
      await pyBest(a, (r) => r.stepsPerSecond),
      (r) => r.stepsPerSecond,
      'same pipeline on both sides (Fourier image, random views, redirected ReLU warm-up, Adam); random views differ, so not compared value by value',
    );
  }
}

/**
 * Self time per kernel of a training step (batch 64, Adam), a deconvolution (9 images) or a maximization step
 * on the engine's backend: which kernels to speed up. Time outside kernels (JavaScript) is `stepMs - kernelMs`.
 */
async function profileNet(net, data, task) {
  const model = path.join(WORK, net, 'model.json');
  if (!fs.existsSync(model)) return null;
  const batch = { deconv: 9, maximize: 1, scan: 256 }[task] ?? BATCH.train;
  const steps = task === 'deconv' ? 20 : task === 'maximize' ? 64 : net === 'big' ? 4 : 10;
  const size = SIZES[net];
  const r = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/profile.ts',
      JSON.stringify({ task, model, data: data.x, labels: data.y, batch, steps, layer: size.deconvLayer, node: size.node }),
    ],
    process.env,
    `profile ${task} ${net}`,
  );
  const key = `profile.${task}.${net}`;
  if (r.error) {
    results[key] = { error: r.error };
    return null;
  }
  results[key] = { stepMs: r.stepMs, kernelMs: r.kernelMs, batch: r.batch, kernels: r.kernels.slice(0, 12) };
  return r;
}

/**
 * Peak RSS of a scan over 60,000 28×28 images (the digits repeated 6×, one uint8 IDX file) by the built
 * command line, `feature-lens scan` (dist/engine.js, as `npm run build` made it): the real streaming path.
 */
async function memoryCheck() {
  const rep = prepareRepeated(WORK, 6);
  const dir = path.join(WORK, 'mnist');
  const model = path.join(dir, 'model.json');
  if (!fs.existsSync(model)) await fl({ measure: 'build', net: 'mnist', out: model });
  const lens = path.join(dir, 'memory.lens.json');
  writeJson(lens, {
    name: 'memory',
    model: 'model.json',
    dataset: { format: 'idx', train: { images: rep.images, labels: rep.labels }, test: { images: rep.images, labels: rep.labels } },
  });
  const storage = path.join(dir, 'index60k');
  fs.rmSync(storage, { recursive: true, force: true });
  const cli = path.join(ROOT, 'dist', 'engine.js');
  const r = await run(
    process.execPath,
    ['--require', path.join(ROOT, 'bench', 'peakRss.cjs'), cli, 'scan', lens, '--storage', storage, '--backend', 'wasm', '--json'],
    process.env,
    'memory scan (CLI)',
  );
  fs.rmSync(storage, { recursive: true, force: true });
  const limit = 2 ** 30;
  const summary = r.result;
  const error = r.error ?? (summary ? null : 'no result');
  results.memory60k = {
    images: rep.n,
    command: `feature-lens scan ${path.relative(ROOT, lens)} --json`,
    // The CLI process's own peak, and the peak of it and its helper scan processes together.
    featureLensPeakRss: /\{"peakRss":(\d+)\}/.test(r.stderr) ? Number(/\{"peakRss":(\d+)\}/.exec(r.stderr)[1]) : null,
    featureLensPeakRssAllProcesses: r.peakRssTree || null,
    featureLensIps: summary?.imagesPerSecond ?? null,
    underOneGB: !error && r.peakRss ? r.peakRss < limit : null,
    ...(error ? { featureLensNote: `error: ${error}` } : {}),
  };
  return results.memory60k;
}

// ------------------------------------------------------------------------------------------ output

const fmt = (v, unit) => (v == null ? '' : unit === 'ms' ? `${v.toFixed(1)} ms` : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mb = (b) => (b ? `${(b / 2 ** 20).toFixed(0)} MB` : '');

function printTable() {
  const head = ['measure', 'net', 'unit', 'Feature Lens', 'PyTorch', 'threads', 'FL / PyTorch', 'best runs', 'FL peak RSS', 'PyTorch peak RSS'];
  const body = rows.map(({ measure, net, unit, entry, flNote, pyNote }) => [
    measure,
    net,
    unit,
    flNote ?? fmt(entry.featureLens, unit),
    pyNote ?? fmt(entry.pytorch, unit),
    entry.pytorchThreads ? String(entry.pytorchThreads) : '',
    entry.ratio == null ? '' : `${entry.ratio < 0.1 ? entry.ratio.toFixed(3) : entry.ratio.toFixed(2)}x`,
    entry.ratioBest == null ? '' : `${entry.ratioBest < 0.1 ? entry.ratioBest.toFixed(3) : entry.ratioBest.toFixed(2)}x`,
    mb(entry.featureLensPeakRss),
    mb(entry.pytorchPeakRss),
  ]);
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...body.map((r) => r[i].length))));
  const line = (r) => r.map((c, i) => (i >= 3 && i !== 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(['', line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n'));
  console.log(
    "FL / PyTorch = Feature Lens speed / PyTorch speed, medians (above 1: Feature Lens is faster); best runs = the same for each side's fastest run. ms: time for the whole batch.",
  );
  console.log("peak RSS: of the measure's process and any processes it forked (the scan's helpers) together.");
  for (const { measure, net, entry } of rows) if (entry.note?.startsWith('MISMATCH')) console.log(`${measure}, ${net}: ${entry.note}`);
}

// ------------------------------------------------------------------------------------------ main

const started = Date.now();
fs.mkdirSync(WORK, { recursive: true });
fs.mkdirSync(RESULTS, { recursive: true });
const pyProblem = checkPython();
if (pyProblem) console.log(pyProblem);
const data = prepareDigits(WORK);
const load = os.loadavg()[0];
const flThreads = Number(process.env.FEATURE_LENS_WASM_THREADS) || 1;
const flSetup = `wasm backend, ${flThreads} thread${flThreads > 1 ? 's' : ''} per process; scans also in helper processes`;
console.log(
  `Feature Lens (${flSetup}) vs PyTorch (${pyProblem ? 'unavailable' : '2 threads, OpenBLAS'}) on ${data.n} real MNIST digits; ${os.cpus().length} cores, load average ${load.toFixed(1)}`,
);
if (load > 1.5) console.log(`Warning: the machine is busy (load ${load.toFixed(1)} on ${os.cpus().length} cores): both sides' numbers will be low and noisy.`);
console.log('Checking that both sides compute the same thing:');
for (const net of NET_NAMES) {
  if (!SIZES[net]) {
    console.log(`  unknown net ${net}; use ${Object.keys(SIZES).join(', ')}`);
    continue;
  }
  await benchNet(net, data);
}
let mem;
if (MEASURES.includes('memory')) mem = await memoryCheck();
printTable();
if (MEASURES.includes('profile')) {
  const jobs = [
    ['train', 'mnist'],
    ['train', 'big'],
    ['scan', 'mnist'],
    ['deconv', 'mnist'],
    ['maximize', 'mnist'],
  ].filter(([, n]) => NET_NAMES.includes(n));
  for (const [task, net] of jobs) {
    const r = await profileNet(net, data, task);
    if (!r) continue;
    const top = r.kernels
      .slice(0, 6)
      .map((k) => `${k.name} ${(k.share * 100).toFixed(0)}%`)
      .join(', ');
    const js = Math.max(0, r.stepMs - r.kernelMs);
    console.log(
      `Profile of one ${{ train: 'training step', deconv: 'deconvolution', maximize: 'maximization step', scan: 'scan batch (scores of every node, no heaps)' }[task]} of ${net} (batch ${r.batch}, wasm): ${r.stepMs.toFixed(1)} ms, of which ${js.toFixed(1)} ms outside kernels; kernel self time: ${top}.`,
    );
  }
}
if (mem) {
  const m = results.memory60k;
  console.log(
    m.featureLensPeakRss
      ? `Memory: \`${m.command}\` over ${m.images} images (every node of every layer of the mnist net) peaks at ${mb(m.featureLensPeakRss)} RSS in the CLI process, ${mb(m.featureLensPeakRssAllProcesses)} with its helper scan processes (${m.underOneGB ? 'under' : 'OVER'} 1 GB); ${m.featureLensIps?.toFixed(0)} images/s.`
      : `Memory: scan of ${m.images} images: ${m.featureLensNote}.`,
  );
}
results._meta = {
  date: new Date().toISOString(),
  seconds: (Date.now() - started) / 1000,
  loadAverage: os.loadavg(),
  cores: os.cpus().length,
  node: process.version,
  quick: QUICK,
  featureLens: `${flSetup} (tfjs 4.22)`,
  pytorch: pyProblem ?? 'python3-torch 1.13 (Debian), torch.set_num_threads(2), OpenBLAS pthread with OPENBLAS_NUM_THREADS=1',
  tolerance: TOLERANCE,
};
// Only a complete run replaces latest.json; a partial or quick one is kept beside it.
const partial = QUICK || argv.includes('--nets') || argv.includes('--measures');
const out = path.join(RESULTS, partial ? 'partial.json' : 'latest.json');
const tmp = `${out}.${process.pid}.tmp`;
writeJson(tmp, results);
fs.renameSync(tmp, out);
console.log(`Wrote ${path.relative(ROOT, out)} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);

// The zoo rows (issue 17): ResNet-18 and MobileNetV2 at 224×224 on the native forward path against PyTorch,
// in their own script (bench/zoo.mjs, which writes bench/results/zoo-latest.json). Part of every complete
// run; `--zoo` adds them to a partial one, `--no-zoo` leaves them out.
if ((!partial || argv.includes('--zoo')) && !argv.includes('--no-zoo')) {
  const z = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'zoo.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (z.status !== 0) console.log(`Zoo rows failed (exit ${z.status}): see the output above.`);
}

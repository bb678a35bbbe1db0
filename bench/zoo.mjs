#!/usr/bin/env node
// The zoo rows of `npm run bench` (issue 17): ResNet-18 and MobileNetV2 (torchvision, 224×224, real MNIST
// digits resized) forward and scan, Feature Lens on its native forward path against PyTorch (OpenBLAS,
// 2 threads), agreement checks first: every op's output against PyTorch's within 1e-4 of its range, and the
// scan's top-9 lists of every node for the three scores (images wherever scores are untied).
//
//   node bench/zoo.mjs [--nets resnet18,mobilenetv2] [--forward-images 64] [--scan-images 32] [--runs 2]
// Prints one row per measure and writes bench/results/zoo-latest.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'bench', '.work', 'zoo');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const NETS = opt('nets', 'resnet18,mobilenetv2').split(',');
const FORWARD = { images: Number(opt('forward-images', 64)), batch: 32 };
const SCAN = { images: Number(opt('scan-images', 32)), batch: 8 };
const RUNS = Number(opt('runs', 2));
const env = { ...process.env, LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-pthread', OPENBLAS_NUM_THREADS: '1', BENCH_TORCH_THREADS: '2' };

function child(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const py = (cmd, a) => child('/usr/bin/python3', ['bench/zoo.py', cmd, JSON.stringify({ dir: DIR, ...a })], `zoo.py ${cmd} ${a.net}`);
const fl = (cmd, a) => child(process.execPath, ['--import', 'tsx', 'bench/zoo.ts', cmd, JSON.stringify({ dir: DIR, ...a })], `zoo.ts ${cmd} ${a.net}`);

const rows = [];
const results = { _meta: { date: new Date().toISOString(), forward: FORWARD, scan: SCAN, runs: RUNS, loadavg: [] } };
for (const net of NETS) {
  if (!fs.existsSync(path.join(DIR, `${net}.net.json`))) py('prepare', { net, images: 256 });
  const check = fl('check', { net });
  results[`check.${net}`] = check;
  console.log(
    `check ${net}: every op's output vs PyTorch, worst ${check.maxRelError.toExponential(2)} of the range (${check.worstOp}) ${check.ok ? 'ok' : 'MISMATCH'}`,
  );
  if (!check.ok) continue;
  const topFile = path.join(DIR, `${net}.top.json`);
  const flScan = fl('scan', { net, ...SCAN, runs: RUNS, warmup: 1, out: topFile });
  const pyScan = py('scan', { net, ...SCAN, runs: RUNS, warmup: 1, compare: topFile });
  const c = pyScan.check;
  console.log(
    `check ${net} scan: top-9 lists of ${c.nodesCompared} node×score lists, scores within ${c.maxRelError.toExponential(2)}, ${c.indexMismatches} untied image mismatches ${c.indexMismatches === 0 && c.maxRelError <= 1e-4 ? 'ok' : 'MISMATCH'}`,
  );
  results[`check.${net}.scan`] = c;
  const flFwd = fl('forward', { net, ...FORWARD, runs: RUNS, warmup: 1 });
  const pyFwd = py('forward', { net, ...FORWARD, runs: RUNS, warmup: 1 });
  for (const [measure, a, b] of [
    ['forward', flFwd, pyFwd],
    ['scan', flScan, pyScan],
  ]) {
    const ratio = a.ips / b.ips;
    results[`${measure}.${net}`] = {
      featureLens: a.ips,
      pytorch: b.ips,
      ratio,
      unit: 'images/s',
      featureLensSeconds: a.seconds,
      pytorchSeconds: b.seconds,
      featureLensPeakRss: a.peakRss,
      pytorchPeakRss: b.peakRss,
    };
    rows.push([`${measure} ${net}`, a.ips.toFixed(1), b.ips.toFixed(1), `${ratio.toFixed(2)}×`]);
  }
}
results._meta.loadavg = (await import('node:os')).loadavg();
const w = [18, 16, 10, 8];
console.log(['measure', 'Feature Lens /s', 'PyTorch /s', 'ratio'].map((h, i) => h.padEnd(w[i])).join(' '));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join(' '));
console.log(`load average after the run: ${results._meta.loadavg.map((l) => l.toFixed(1)).join(' ')} (2 cores)`);
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
const out = path.join(ROOT, 'bench', 'results', 'zoo-latest.json');
fs.writeFileSync(`${out}.tmp`, JSON.stringify(results, null, 1));
fs.renameSync(`${out}.tmp`, out);

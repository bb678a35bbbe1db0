#!/usr/bin/env node
// `npm test` after the build: the unit tests (plain Node), then the end-to-end tests (the packaged
// extension in a real VS Code, driven through Chromium). Prints one closing line `N passed, N failed`.
// FEATURE_LENS_SKIP_E2E=1 runs the unit tests only (a quick local loop; CI always runs both).
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });

function listTests(dir, pattern) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Runs node's test runner on `files`; returns {pass, fail} read from its TAP summary. */
function runSuite(name, files, concurrency) {
  if (!files.length) return { pass: 0, fail: 0 };
  const tap = path.join(results, `${name}.tap`);
  console.log(`\n== ${name}: ${files.length} test files ==`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    { stdio: 'inherit', env: process.env },
  );
  const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (key) => [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  const pass = count('pass');
  let fail = count('fail') + count('cancelled');
  if (r.status !== 0 && fail === 0) fail = 1; // the runner itself failed (crash, signal)
  console.log(`== ${name}: ${pass} passed, ${fail} failed in ${((Date.now() - started) / 1000).toFixed(0)} s ==`);
  return { pass, fail };
}

function step(title, cmd, args) {
  console.log(`\n== ${title} ==`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`${title} failed (exit ${r.status ?? r.signal}).`);
    return false;
  }
  return true;
}

/**
 * PyTorch is the independent reference some unit tests compare against (Debian's python3-torch). Installed
 * here when missing and we are root; elsewhere those tests say they were skipped and why.
 */
function ensurePyTorch() {
  const probe = () => spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0 && fs.existsSync('/usr/share/libonnx-testdata/data/node');
  if (probe()) return true;
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) {
    console.log('PyTorch (Debian python3-torch) is not installed and cannot be installed here: the PyTorch reference tests will be skipped.');
    return true;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  // Where it can be installed it must be: a reference test silently skipped in CI would prove nothing.
  // torchvision makes the ONNX zoo; libonnx-testdata has ONNX's single-op test cases.
  return step('install PyTorch (python3-torch, python3-torchvision, libonnx-testdata) for the reference tests', 'apt-get', ['install', '-y', '-qq', 'python3-torch', 'python3-torchvision', 'libonnx-testdata']) && probe();
}

/**
 * The ONNX test models and their PyTorch references (test/fixtures/zoo, git-ignored), made by
 * scripts/make-zoo.py when missing or when the script changed (its hash is kept in the folder). About 30 s.
 */
function ensureZoo() {
  const script = path.join(root, 'scripts', 'make-zoo.py');
  const zoo = path.join(root, 'test', 'fixtures', 'zoo');
  const stamp = path.join(zoo, '.script-hash');
  const hash = crypto.createHash('sha256').update(fs.readFileSync(script)).digest('hex');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) return true;
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status !== 0) {
    console.log('PyTorch or torchvision (Debian python3-torch, python3-torchvision) is missing: the ONNX zoo tests will be skipped.');
    return true;
  }
  fs.rmSync(zoo, { recursive: true, force: true });
  if (!step('make the ONNX test models and their PyTorch references (scripts/make-zoo.py)', '/usr/bin/python3', [script, zoo])) return false;
  fs.writeFileSync(stamp, hash);
  return true;
}

let pass = 0;
let fail = 0;
const add = (r) => ((pass += r.pass), (fail += r.fail));

if (fs.existsSync('scripts/prepare-samples.mjs') && !step('prepare the sample data', process.execPath, ['scripts/prepare-samples.mjs'])) fail++;
if (!ensurePyTorch()) fail++;
else if (!ensureZoo()) fail++;
add(runSuite('unit', listTests('test/unit', /\.test\.ts$/), 2));

if (process.env.FEATURE_LENS_SKIP_E2E === '1') {
  console.log('\nFEATURE_LENS_SKIP_E2E=1: end-to-end tests skipped.');
} else {
  const e2e = listTests('test/e2e', /\.test\.(ts|mjs)$/);
  if (e2e.length) {
    const ok =
      step('build the extension for release', process.execPath, ['esbuild.mjs', '--production']) &&
      step('package the extension', process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', 'dist/feature-lens.vsix']) &&
      (!fs.existsSync('scripts/setup-e2e.mjs') || step('set up VS Code (code-server) and Chromium', process.execPath, ['scripts/setup-e2e.mjs']));
    if (ok) add(runSuite('e2e', e2e, 1));
    else fail++;
  }
}

console.log(`\n${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);

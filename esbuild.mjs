// Builds the three bundles: the extension (Node, vscode external), the engine (Node, tfjs inside, wasm
// binaries copied beside it) and the webview (browser). `node esbuild.mjs --watch` rebuilds on change.
// `--native=<target>` (a vsce target such as linux-x64) also copies that platform's onnxruntime-node into
// dist/native/<target>/node_modules/, where the engine bundle looks first (src/engine/native/runtime.ts);
// scripts/package-target.mjs packages it into a platform-specific VSIX. Without it the engine uses
// onnxruntime-node from node_modules when it resolves (a source checkout), else tfjs alone (the universal VSIX).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import wabtInit from 'wabt';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const nativeTarget = process.argv.find((a) => a.startsWith('--native='))?.slice('--native='.length);
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

const builds = [
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['src/engine/main.ts'],
    outfile: 'dist/engine.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Native TensorFlow is optional: loaded at run time when the user has it installed, never bundled.
    // onnxruntime-node: loaded at run time from dist/native/<target>/ (platform packages) or node_modules.
    external: ['@tensorflow/tfjs-node', 'onnxruntime-node'],
  },
  {
    // The HDF5 reader's thread (h5wasm), started by the engine beside it: src/engine/models/h5.ts.
    ...common,
    entryPoints: ['src/engine/models/h5worker.ts'],
    outfile: 'dist/h5worker.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
  {
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
];

function copyAssets() {
  fs.mkdirSync('dist', { recursive: true });
  const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join('dist', f));
  const codicons = 'node_modules/@vscode/codicons/dist';
  for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(codicons, f), path.join('dist', f));
}

/**
 * Assembles the project's own wasm kernels (src/engine/kernels/*.wat) into dist/: each imports the wasm
 * backend's memory, so it is built twice, for the backend's plain memory and for its threaded build's shared one.
 */
async function buildWasmKernels() {
  const wabt = await wabtInit();
  const src = fs.readFileSync('src/engine/kernels/nodeScores.wat', 'utf8');
  const variants = { 'node-scores.wasm': '(memory 0)', 'node-scores-shared.wasm': '(memory 0 65536 shared)' };
  for (const [name, memory] of Object.entries(variants)) {
    const features = { simd: true, threads: true };
    const mod = wabt.parseWat('nodeScores.wat', src.replace('(import "env" "memory" MEMORY)', `(import "env" "memory" ${memory})`), features);
    try {
      mod.validate(features);
      const tmp = path.join('dist', `.${name}.tmp`);
      fs.writeFileSync(tmp, mod.toBinary({}).buffer);
      fs.renameSync(tmp, path.join('dist', name));
    } finally {
      mod.destroy();
    }
  }
}

/**
 * onnxruntime-node for one vsce target (`linux-x64`, `darwin-arm64`, `win32-x64`, ...): its JS, that platform's
 * binaries only, and onnxruntime-common (its one run-time dependency; adm-zip and global-agent serve only its
 * install script), laid out as a node_modules folder so its own require of onnxruntime-common resolves.
 */
function copyNativeRuntime(target) {
  const [platform, arch] = target.split('-');
  const from = 'node_modules/onnxruntime-node';
  const bin = path.join(from, 'bin/napi-v6', platform, arch);
  if (!fs.existsSync(bin)) throw new Error(`onnxruntime-node has no binaries for ${target} (looked in ${bin})`);
  fs.rmSync('dist/native', { recursive: true, force: true });
  const to = path.join('dist/native', target, 'node_modules');
  const copy = (src, dst, keep = () => true) => {
    for (const f of fs.readdirSync(src, { withFileTypes: true })) {
      const s = path.join(src, f.name);
      const d = path.join(dst, f.name);
      if (f.isDirectory()) copy(s, d, keep);
      else if (keep(f.name)) {
        fs.mkdirSync(dst, { recursive: true });
        fs.copyFileSync(s, d);
      }
    }
  };
  const js = (n) => n.endsWith('.js') || n === 'package.json';
  fs.mkdirSync(path.join(to, 'onnxruntime-node'), { recursive: true });
  for (const f of ['package.json', 'README.md']) fs.copyFileSync(path.join(from, f), path.join(to, 'onnxruntime-node', f));
  copy(path.join(from, 'dist'), path.join(to, 'onnxruntime-node/dist'), js);
  copy(bin, path.join(to, 'onnxruntime-node/bin/napi-v6', platform, arch));
  const common = 'node_modules/onnxruntime-common';
  fs.mkdirSync(path.join(to, 'onnxruntime-common'), { recursive: true });
  fs.copyFileSync(path.join(common, 'package.json'), path.join(to, 'onnxruntime-common/package.json'));
  copy(path.join(common, 'dist/cjs'), path.join(to, 'onnxruntime-common/dist/cjs'), js);
}

copyAssets();
if (nativeTarget) copyNativeRuntime(nativeTarget);
await buildWasmKernels();
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

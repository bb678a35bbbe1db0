// Builds the three bundles: the extension (Node, vscode external), the engine (Node, tfjs inside, wasm
// binaries copied beside it) and the webview (browser). `node esbuild.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import wabtInit from 'wabt';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
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
    external: ['@tensorflow/tfjs-node'],
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

copyAssets();
await buildWasmKernels();
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

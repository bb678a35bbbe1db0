// The folder boundaries are a lint rule (eslint.config.mjs): a wrong import in a file of src/ is an error
// of `npm run lint` (run by `npm test`), and an import the architecture allows is not.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(__dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

/** The boundary errors ESLint reports for `code` as if it were the file `file` (relative to the root). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${file} did not parse`);
  return result.messages.filter((m) => m.ruleId === 'feature-lens/boundaries').map((m) => m.message);
}

const forbidden: [file: string, code: string][] = [
  ['src/webview/zzProbe.ts', "import * as tf from '../engine/tf';\nexport const x = tf;"],
  ['src/webview/pages/zzProbe.ts', "import { x } from '../../engine/lens';\nexport const y = x;"],
  ['src/webview/zzProbe.ts', "import * as vscode from 'vscode';\nexport const x = vscode;"],
  ['src/webview/zzProbe.ts', "import * as fs from 'node:fs';\nexport const x = fs;"],
  ['src/webview/zzProbe.ts', "import * as fs from 'fs';\nexport const x = fs;"],
  ['src/webview/zzProbe.ts', "export { InspectorPanel } from '../extension/inspectorPanel';"],
  ['src/webview/zzProbe.ts', "import * as tf from '@tensorflow/tfjs-core';\nexport const x = tf;"],
  ['src/extension/zzProbe.ts', "import { loadModel } from '../engine/modelIO';\nexport const x = loadModel;"],
  ['src/extension/zzProbe.ts', "export const tf = () => import('@tensorflow/tfjs-core');"],
  ['src/extension/zzProbe.ts', "export const tf = require('@tensorflow/tfjs-node');"],
  ['src/extension/zzProbe.ts', "export type T = typeof import('../engine/tf');"],
  ['src/extension/zzProbe.ts', "import { main } from '../webview/main';\nexport const x = main;"],
  ['src/engine/zzProbe.ts', "import * as vscode from 'vscode';\nexport const x = vscode;"],
  ['src/engine/methods/zzProbe.ts', "import { x } from '../../extension/settings';\nexport const y = x;"],
  ['src/engine/zzProbe.ts', "import { x } from '../webview/charts';\nexport const y = x;"],
  ['src/shared/zzProbe.ts', "import * as path from 'node:path';\nexport const x = path;"],
  ['src/shared/zzProbe.ts', "import * as tf from '@tensorflow/tfjs-core';\nexport const x = tf;"],
  ['src/shared/zzProbe.ts', "import { x } from '../engine/errors';\nexport const y = x;"],
  ['src/shared/zzProbe.ts', "import { x } from '../../esbuild.mjs';\nexport const y = x;"],
  // Inside the engine, between its rooms.
  ['src/engine/methods/zzProbe.ts', "import { scanLens } from '../scan/topActivations';\nexport const x = scanLens;"],
  ['src/engine/methods/zzProbe.ts', "export const x = () => import('../cli/cli');"],
  ['src/engine/models/zzProbe.ts', "import { x } from '../methods/saliency';\nexport const y = x;"],
  ['src/engine/runtime/zzProbe.ts', "import type { Network } from '../models/network';\nexport type N = Network;"],
  ['src/engine/scan/zzProbe.ts', "import { x } from '../server/handlers';\nexport const y = x;"],
];

for (const [file, code] of forbidden) {
  test(`lint rejects in ${file}: ${code.split('\n')[0]}`, async () => {
    const errors = await boundaryErrors(file, code);
    assert.equal(errors.length, 1, `expected one boundary error, got ${JSON.stringify(errors)}`);
    const part = file.split('/')[1];
    assert.match(errors[0], new RegExp(`^src/${part} must not import '`));
  });
}

const allowed: [file: string, code: string][] = [
  ['src/webview/zzProbe.ts', "import { PAGE } from '../shared/webviewProtocol';\nimport { y } from './charts';\nexport const x = [PAGE, y];"],
  ['src/webview/pages/zzProbe.ts', "import { x } from '../../shared/protocol';\nimport { y } from '../dom';\nexport const z = [x, y];"],
  [
    'src/extension/zzProbe.ts',
    "import * as vscode from 'vscode';\nimport * as path from 'node:path';\nimport { x } from '../shared/protocol';\nexport const y = [vscode, path, x];",
  ],
  [
    'src/engine/zzProbe.ts',
    "import * as tf from '@tensorflow/tfjs-core';\nimport * as fs from 'node:fs';\nimport { x } from '../shared/protocol';\nexport const y = [tf, fs, x];",
  ],
  ['src/engine/models/zzProbe.ts', "import { x } from '../runtime/tf';\nimport { y } from '../../shared/colorScale';\nexport const z = [x, y];"],
  ['src/shared/zzProbe.ts', "import { x } from './protocol';\nexport const y = x;"],
  [
    'src/engine/methods/zzProbe.ts',
    "import type { Network } from '../models/network';\nimport { x } from '../runtime/tf';\nimport { y } from './saliency';\nexport const z = [x, y];",
  ],
  ['src/engine/scan/zzProbe.ts', "import { x } from '../methods/featureMaps';\nimport { y } from '../lens/lens';\nexport const z = [x, y];"],
  ['src/engine/server/zzProbe.ts', "import { topFigure } from '../cli/figures';\nimport { x } from '../methods/weights';\nexport const y = [topFigure, x];"],
  ['src/engine/cli/zzProbe.ts', "import { x } from '../server/handlers';\nimport { y } from '../scan/scan';\nexport const z = [x, y];"],
  ['src/engine/zzProbe.ts', "import { x } from './cli/cli';\nimport { y } from './server/server';\nexport const z = [x, y];"],
];

for (const [file, code] of allowed) {
  test(`lint accepts in ${file}: ${code.split('\n')[0]}`, async () => {
    assert.deepEqual(await boundaryErrors(file, code), []);
  });
}

test('the rule is on for every part of src/ (a probe outside src/ is not checked)', async () => {
  assert.deepEqual(await boundaryErrors('test/unit/zzProbe.ts', "import * as vscode from 'vscode';\nexport const x = vscode;"), []);
});

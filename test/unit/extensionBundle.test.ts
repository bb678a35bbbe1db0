// The extension host is shared with every other extension: its bundle must not carry TensorFlow.js (all compute
// runs in the engine process), and the webview bundle must not either. Run `npm run build` first.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const dist = path.join(__dirname, '..', '..', 'dist');
// Markers of tfjs's code itself (its source paths, kernel registry, error texts), not mere mentions in messages.
const TFJS = /require\(["']@tensorflow|tfjs-core\/dist|registerKernel\(|kernelRegistry|Tensor is disposed|Conv2DBackpropFilter/;

function read(name: string): string {
  const file = path.join(dist, name);
  assert.ok(fs.existsSync(file), `${file} is missing: run npm run build first`);
  return fs.readFileSync(file, 'utf8');
}

describe('bundles', () => {
  it('dist/extension.js contains no TensorFlow.js and stays small', () => {
    const src = read('extension.js');
    assert.doesNotMatch(src, TFJS);
    assert.ok(src.length < 1_000_000, `extension.js is ${src.length} bytes`);
    assert.match(src, /require\("vscode"\)/);
    assert.match(src, /featureLens\.inspectNode/);
  });

  it('dist/webview.js contains no TensorFlow.js and no Node modules', () => {
    const src = read('webview.js');
    assert.doesNotMatch(src, TFJS);
    assert.doesNotMatch(src, /require\("(vscode|node:|fs|child_process)/);
    assert.match(src, /acquireVsCodeApi/);
  });

  it('dist/engine.js does carry TensorFlow.js (the check above can fail)', () => {
    assert.match(read('engine.js'), TFJS);
  });
});

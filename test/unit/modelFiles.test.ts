// The lens and model file names: the globs the host searches and watches match exactly what the predicates accept.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { isLensFile, isModelFile, lensBaseName, LENS_GLOB, LENS_OR_MODEL_GLOB, MODEL_FILE_GLOB, modelFileLabel } from '../../src/shared/modelFiles';

const files = [
  'a/efl.lens.json',
  'efl.lens.json',
  'a\\b\\x.lens.json',
  'a/model.json',
  'model.json',
  'c:\\m\\model.json',
  'a/mymodel.json',
  'a/model.json.bak',
  'a/lens.json',
  'a/x.lens.json.tmp',
  'a/model.JSON',
  'zoo/resnet18.onnx',
  'k/m.keras',
  'k/m.h5',
  'k/m.onnx.bak',
];

test('the predicates: lens files by suffix, model files by name or extension, with / or \\ separators', () => {
  assert.deepEqual(files.filter(isLensFile), ['a/efl.lens.json', 'efl.lens.json', 'a\\b\\x.lens.json']);
  assert.deepEqual(files.filter(isModelFile), ['a/model.json', 'model.json', 'c:\\m\\model.json', 'zoo/resnet18.onnx', 'k/m.keras', 'k/m.h5']);
  // Keras weights-only files are read beside their architecture, never listed as models
  assert.equal(isModelFile('k/m.weights.h5'), false);
  assert.equal(modelFileLabel('/w/mnist/model/model.json'), 'model');
  assert.equal(modelFileLabel('/w/zoo/resnet18.onnx'), 'resnet18.onnx');
  assert.equal(modelFileLabel('C:\\w\\k\\m.keras'), 'm.keras');
  assert.equal(lensBaseName('/w/samples/efl.lens.json'), 'efl');
  assert.equal(lensBaseName('C:\\w\\mnist.lens.json'), 'mnist');
});

test('the globs select what the predicates accept (as VS Code matches them, here with path.matchesGlob)', (t) => {
  const matches = (path as { matchesGlob?: (p: string, g: string) => boolean }).matchesGlob;
  if (!matches) return t.skip('path.matchesGlob needs Node 22');
  const posix = files.filter((f) => !f.includes('\\'));
  const sel = (g: string) => posix.filter((f) => matches(f, g));
  assert.deepEqual(sel(LENS_GLOB), posix.filter(isLensFile));
  assert.deepEqual(sel(MODEL_FILE_GLOB), posix.filter(isModelFile));
  assert.deepEqual(
    sel(LENS_OR_MODEL_GLOB),
    posix.filter((f) => isLensFile(f) || isModelFile(f)),
  );
});

// The pure parts of the editor features: finding a lens field's range in the text (for the Problems panel and
// the tree's error rows), the entries of `training.architecture` (lens hovers), and layer mentions in training
// code (PyTorch module paths, Keras / TF.js name strings) for hovers and CodeLens.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  architectureEntries,
  fieldOfMessage,
  findFieldRange,
  parseFieldPath,
  parseJsonWithOffsets,
  positionOf,
  syntaxErrorOffset,
} from '../../src/extension/jsonLocate';
import { findLayerMentions, mentionAt } from '../../src/extension/layerMatch';
import { orderCandidates } from '../../src/extension/targetHints';

const LENS = `{
  "name": "MNIST",
  "model": "model/model.json",
  "dataset": {
    "format": "idx",
    "train": { "images": "data/train-images.gz", "labels": "data/train-labels.gz" },
    "test": { "images": "data/t10k-images.gz", "labels": "data/t10k-labels.gz" }
  },
  "training": {
    "architecture": [
      { "type": "conv2d", "name": "conv1", "filters": 16, "kernelSize": 5 },
      { "type": "flatten" },
      { "type": "dense", "name": "out", "units": 10, "activation": "softmax" }
    ],
    "epochs": 2
  }
}`;

describe('JSON ranges of lens fields', () => {
  it('parses like JSON.parse and keeps offsets', () => {
    const root = parseJsonWithOffsets(LENS);
    assert.ok(root && root.type === 'object');
    assert.deepEqual(
      root.members.map((m) => m.key),
      Object.keys(JSON.parse(LENS)),
    );
    for (const m of root.members) assert.equal(LENS.slice(m.keyStart, m.keyEnd), JSON.stringify(m.key));
    assert.equal(parseJsonWithOffsets('{"a": 1,}'), undefined, 'a trailing comma is not JSON');
    assert.equal(parseJsonWithOffsets('{"a": "x\\"y"}')?.type, 'object', 'escaped quotes inside strings');
  });

  it('finds the key and value of a nested field, and of an array element', () => {
    const r = findFieldRange(LENS, 'dataset.test.images')!;
    assert.equal(LENS.slice(r.start, r.end), '"images": "data/t10k-images.gz"');
    const f = findFieldRange(LENS, 'training.architecture[2].units')!;
    assert.equal(LENS.slice(f.start, f.end), '"units": 10');
    const e = findFieldRange(LENS, 'training.architecture[1]')!;
    assert.equal(LENS.slice(e.start, e.end), '{ "type": "flatten" }');
  });

  it('marks the object that should hold a missing field', () => {
    const r = findFieldRange(LENS, 'training.optimizer')!;
    assert.ok(LENS.slice(r.start, r.end).startsWith('"training": {'), 'the training object');
    const top = findFieldRange('{"name": "x"}', 'model')!;
    assert.deepEqual(top, { start: 0, end: 1 });
  });

  it('reads the field path and the syntax error position from engine messages', () => {
    assert.equal(fieldOfMessage('/w/a.lens.json: "training.architecture[2].filters" must be a whole number ≥ 1, not "x".'), 'training.architecture[2].filters');
    assert.equal(fieldOfMessage('data/x.gz does not exist (the lens file\'s "dataset.train.images").'), 'dataset.train.images');
    assert.equal(fieldOfMessage('no quotes here'), undefined);
    assert.deepEqual(parseFieldPath('training.architecture[2].filters'), ['training', 'architecture', 2, 'filters']);
    const bad = '{\n  "name": "x",\n}';
    let message = '';
    try {
      JSON.parse(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    const off = syntaxErrorOffset(message, bad);
    assert.equal(off, bad.lastIndexOf('}'), `offset of the error in "${message}"`);
    assert.deepEqual(positionOf(bad, off!), { line: 2, character: 0 });
  });

  it('lists the architecture entries with their names', () => {
    const entries = architectureEntries(LENS);
    assert.deepEqual(
      entries.map((e) => [e.index, e.name, e.type]),
      [
        [0, 'conv1', 'conv2d'],
        [1, undefined, 'flatten'],
        [2, 'out', 'dense'],
      ],
    );
    assert.equal(LENS.slice(entries[1].start, entries[1].end), '{ "type": "flatten" }');
    assert.deepEqual(architectureEntries('{"name": "x"}'), []);
  });
});

describe('layer mentions in training code', () => {
  const names = new Set(['conv1', 'layer1.0.conv1', 'layer1.0.bn1', 'fc', 'hidden']);
  const at = (text: string, sub: string, nth = 0) => {
    let i = -1;
    for (let k = 0; k <= nth; k++) i = text.indexOf(sub, i + 1);
    return i;
  };

  it('matches PyTorch module paths: self.conv1, layer1[0].conv1', () => {
    const py = [
      'class Net(nn.Module):',
      '    def __init__(self):',
      '        self.conv1 = nn.Conv2d(1, 16, 5)',
      '        self.fc = nn.Linear(256, 10)',
      '    def forward(self, x):',
      '        x = self.layer1[0].conv1(x)',
      '        y = model.layer1[0].bn1(x)',
      '        return self.fc(x)',
    ].join('\n');
    const ms = findLayerMentions(py, names);
    assert.deepEqual(
      ms.map((m) => [m.name, py.slice(m.start, m.end)]),
      [
        ['conv1', 'conv1'],
        ['fc', 'fc'],
        ['layer1.0.conv1', 'layer1[0].conv1'],
        ['layer1.0.bn1', 'layer1[0].bn1'],
        ['fc', 'fc'],
      ],
    );
    assert.equal(ms[0].start, at(py, 'conv1'));
    assert.equal(mentionAt(ms, at(py, 'layer1[0].conv1') + 3)?.name, 'layer1.0.conv1');
    assert.equal(mentionAt(ms, at(py, 'nn.Conv2d')), undefined);
  });

  it('matches Keras and TF.js layer names in strings, not bare identifiers', () => {
    const js =
      'const conv1 = tf.layers.conv2d({ name: \'conv1\', filters: 16 });\nmodel.add(tf.layers.dense({ units: 64, name: "hidden" }));\nconv1.apply(x); hidden(x);';
    const ms = findLayerMentions(js, names);
    assert.deepEqual(
      ms.map((m) => [m.name, m.start]),
      [
        ['conv1', at(js, "'conv1'") + 1],
        ['hidden', at(js, '"hidden"') + 1],
      ],
    );
    const py = "x = layers.Dense(64, name='hidden')(x)\nx = layers.Dense(10, name = 'fc')(x)";
    assert.deepEqual(
      findLayerMentions(py, names).map((m) => m.name),
      ['hidden', 'fc'],
    );
  });

  it('needs a name the model has; nothing when no model is known', () => {
    assert.deepEqual(findLayerMentions('self.conv2 = nn.Conv2d(1, 2, 3)', names), []);
    assert.deepEqual(findLayerMentions('self.conv1 = 1', new Set()), []);
    assert.deepEqual(findLayerMentions('a.xconv1 + b2.conv1x', names), []);
  });
});

describe('the pick of a target', () => {
  it('lists what the user is looking at first, with why, then the rest by path; never drops a candidate', () => {
    const files = ['/w/rgb/rgb.lens.json', '/w/efl/efl.lens.json', '/w/mnist/mnist.lens.json', '/w/other/model.json'];
    const hints = [
      { file: '/w/mnist/mnist.lens.json', why: 'shown in the panel' },
      { file: '/w/mnist/model/model.json', why: 'shown in the panel' },
      { file: '/w/efl/efl.lens.json', why: 'selected in the Models view' },
      { file: '/w/mnist/mnist.lens.json', why: 'shown in Top Activations' },
    ];
    assert.deepEqual(orderCandidates(files, hints), [
      { file: '/w/mnist/mnist.lens.json', why: 'shown in the panel, shown in Top Activations' },
      { file: '/w/efl/efl.lens.json', why: 'selected in the Models view' },
      { file: '/w/other/model.json' },
      { file: '/w/rgb/rgb.lens.json' },
    ]);
    assert.deepEqual(
      orderCandidates(files, []).map((c) => c.file),
      [...files].sort(),
    );
  });
});

describe('the samples the walkthrough creates', () => {
  it('are the repository samples without their $schema (which points into the checkout)', () => {
    for (const name of ['efl', 'mnist']) {
      const bundled = JSON.parse(fs.readFileSync(path.join('media', 'samples', `${name}.lens.json`), 'utf8'));
      const { $schema, ...sample } = JSON.parse(fs.readFileSync(path.join('samples', name, `${name}.lens.json`), 'utf8'));
      assert.ok($schema);
      assert.deepEqual(bundled, sample, `media/samples/${name}.lens.json matches samples/${name}/${name}.lens.json`);
    }
  });
});

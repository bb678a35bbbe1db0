// Keras files (Keras 2 .h5, Keras 2 JSON + weights .h5, Keras 3 .keras) written by scripts/make-keras.py in the
// published layouts from PyTorch-trained digit CNNs: every layer's output on real digits agrees with PyTorch's;
// bad files are one line naming the file and the problem.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import { type KerasModel, loadKeras3, loadKeras3Model, loadKerasH5, loadKerasH5Model, loadKerasJson, loadKerasJsonModel } from '../../src/engine/models/keras';
import { forward } from '../../src/engine/models/forward';
import { loadModel, unloadModels } from '../../src/engine/models/modelIO';
import type { Network } from '../../src/engine/models/network';
import { inlineNestedModels, keras3WeightPaths, normalizeLayer, toSnakeCase } from '../../src/engine/models/kerasConfig';
import * as tf from '../../src/engine/runtime/tf';
import { halfToNumber } from '../../src/engine/models/h5float16';
import { KERAS_DIR, kerasFixtures, kerasReference, PYTHON, rangeError } from './kerasFixtures';

const skip = kerasFixtures();

async function rejects(p: Promise<unknown>, code: string, pattern: RegExp, file: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

/** Every layer's output on the reference digits against PyTorch's; returns the largest error of the range. */
function compareLayers(loaded: KerasModel, prefix: string, layerNames: string[]): number {
  const ref = kerasReference();
  const input = ref.get('input')!;
  const model = loaded.model;
  const probe = tf.model({ inputs: model.inputs, outputs: layerNames.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
  const x = tf.tensor(input.data, input.shape);
  const outs = probe.predict(x) as tf.Tensor[];
  let worst = 0;
  layerNames.forEach((n, i) => {
    const want = ref.get(`${prefix}/${n.split('/').pop()}`)!; // an inlined nested layer `<outer>/<inner>`
    assert.deepEqual(outs[i].shape, want.shape, `${n}: shape`);
    const err = rangeError(outs[i].dataSync(), want.data);
    assert.ok(err <= 1e-4, `${n}: error ${err} of the range`);
    assert.ok(
      want.data.some((v) => v !== 0),
      `${n}: the reference is not all zeros`,
    );
    worst = Math.max(worst, err);
  });
  tf.dispose([x, ...outs]);
  return worst;
}

/** The same through the network representation: the output of the op of each Keras layer against PyTorch's. */
function compareNetwork(net: Network, prefix: string, layerNames: string[]): number {
  const ref = kerasReference();
  const input = ref.get('input')!;
  let worst = 0;
  // forward runs inside the caller's tidy (its intermediate tensors are freed with it)
  tf.tidy(() => {
    const x = tf.tensor(input.data, input.shape);
    const outs = forward(net, x);
    for (const n of layerNames) {
      const op = net.ops.findIndex((o) => o.name === n);
      assert.ok(op >= 0, `the network has an op for layer ${n}`);
      const want = ref.get(`${prefix}/${n.split('/').pop()}`)!; // an inlined nested layer `<outer>/<inner>`
      assert.deepEqual(outs[op].shape, want.shape, `${n}: shape`);
      const err = rangeError(outs[op].dataSync(), want.data);
      assert.ok(err <= 1e-4, `${n}: error ${err} of the range`);
      worst = Math.max(worst, err);
    }
  });
  return worst;
}

const CNN_LAYERS = ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'flatten', 'dense', 'dense_1'];
const NESTED_LAYERS = [...CNN_LAYERS.slice(0, 5).map((n) => `features/${n}`), 'dense', 'dense_1'];
const BLOCKS_LAYERS = ['conv_a', 'bn', 'relu', 'dw', 'pw', 'add', 'pool', 'pad', 'conv_b', 'conv_c', 'concat', 'gap', 'drop', 'dense'];

describe('Keras models', { skip }, () => {
  before(async () => {
    await initBackend('wasm');
  });

  type Case = [string, string, (f: string) => Promise<KerasModel>, (f: string) => Promise<Network>, string[]];
  const cases: Case[] = [
    ['Keras 2 .h5, Sequential', 'cnn.h5', loadKerasH5Model, loadKerasH5, CNN_LAYERS],
    ['Keras 2 .h5 with layer_names split into layer_names0..N', 'cnn-split.h5', loadKerasH5Model, loadKerasH5, CNN_LAYERS],
    ['Keras 2 architecture JSON + weights .h5 (opening the JSON)', 'pair/cnn.json', loadKerasJsonModel, loadKerasJson, CNN_LAYERS],
    ['Keras 2 architecture JSON + weights .h5 (opening the .h5)', 'pair/cnn.h5', loadKerasH5Model, loadKerasH5, CNN_LAYERS],
    ['Keras 3 .keras, Sequential', 'cnn.keras', loadKeras3Model, loadKeras3, CNN_LAYERS],
    ['Keras 2 .h5, functional: BatchNorm, depthwise, Add, padding, Concatenate', 'blocks.h5', loadKerasH5Model, loadKerasH5, BLOCKS_LAYERS],
    ['Keras 3 .keras, functional: BatchNorm, depthwise, Add, padding, Concatenate', 'blocks.keras', loadKeras3Model, loadKeras3, BLOCKS_LAYERS],
    ['Keras 2 .h5, a Sequential used as a layer of a functional model', 'nested.h5', loadKerasH5Model, loadKerasH5, NESTED_LAYERS],
    ['Keras 3 .keras, a Sequential used as a layer of a functional model', 'nested.keras', loadKeras3Model, loadKeras3, NESTED_LAYERS],
    ['.keras of Keras 2.13-2.15 (_layer_checkpoint_dependencies)', 'blocks-2.15.keras', loadKeras3Model, loadKeras3, BLOCKS_LAYERS],
    ['Keras 3 architecture JSON + .weights.h5 (opening the JSON)', 'pair3/blocks.json', loadKerasJsonModel, loadKerasJson, BLOCKS_LAYERS],
    ['Keras 3 architecture JSON + .weights.h5 (opening the .weights.h5)', 'pair3/blocks.weights.h5', loadKerasH5Model, loadKerasH5, BLOCKS_LAYERS],
  ];
  for (const [title, file, load, loadNetwork, layers] of cases) {
    const prefix = file.includes('blocks') ? 'blocks' : 'cnn';
    it(`${title}: every layer agrees with PyTorch (within 1e-4 of the range)`, async () => {
      const loaded = await load(path.join(KERAS_DIR, file));
      try {
        const worst = compareLayers(loaded, prefix, layers);
        console.log(`# ${file} (Layers model): ${layers.length} layers, largest error ${worst.toExponential(2)} of the range`);
        assert.ok(loaded.kerasVersion === undefined || /^[23]\./.test(loaded.kerasVersion));
      } finally {
        loaded.model.dispose();
      }
    });
    it(`${title}: the network representation's ops agree with PyTorch, and dispose frees every tensor`, async () => {
      const before = tf.memory().numTensors;
      const net = await loadNetwork(path.join(KERAS_DIR, file));
      try {
        assert.deepEqual(net.input.shape, [28, 28, 1]);
        assert.ok(net.layers.length >= layers.length - 3, `${net.layers.length} inspectable layers`);
        const worst = compareNetwork(
          net,
          prefix,
          layers.filter((n) => n !== 'drop'),
        );
        console.log(`# ${file} (network): largest error ${worst.toExponential(2)} of the range`);
      } finally {
        net.dispose();
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor left after dispose');
    });
  }

  it('loadModel (what info, scan and render use) opens every Keras form, with the same weights hash', async () => {
    const hashes = new Set<string>();
    for (const f of ['cnn.h5', 'cnn-split.h5', 'cnn.keras', 'pair/cnn.json', 'pair/cnn.h5']) {
      const { network, info } = await loadModel(path.join(KERAS_DIR, f));
      assert.deepEqual(info.inputShape, [28, 28, 1], f);
      assert.deepEqual(
        info.layers.map((l) => l.name),
        ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'dense', 'dense_1'],
        f,
      );
      assert.equal(info.totalParams, 8 * 9 + 8 + 16 * 72 + 16 + 576 * 32 + 32 + 32 * 10 + 10, f);
      assert.equal(network.format, f.endsWith('.keras') ? 'keras' : 'keras-h5');
      hashes.add(info.weightsHash);
    }
    assert.equal(hashes.size, 1, 'the same weights in every form');
    await rejects(loadModel(path.join(KERAS_DIR, 'lonely', 'weights.h5')), 'badInput', /holds only weights/, path.join(KERAS_DIR, 'lonely', 'weights.h5'));
    unloadModels();
  });

  it('float16 weights (layers of a float16 dtype policy, .h5 and .keras): read exactly, and the model agrees with the float32 one within float16 tolerance', async () => {
    // Independent reading of the float16 datasets: h5py widens them with numpy.
    const exact = JSON.parse(
      execFileSync(PYTHON, [
        '-c',
        `
import h5py, json, sys
import numpy as np
out = {}
with h5py.File(sys.argv[1], 'r') as f:
    g = f['model_weights']
    for layer in g:
        if layer not in g[layer]: continue  # a layer without weights
        for name, ds in g[layer][layer].items():
            assert ds.dtype == np.float16, ds.dtype
            out[layer + '/' + name] = np.asarray(ds).astype(np.float32).flatten().tolist()
print(json.dumps(out))
`,
        path.join(KERAS_DIR, 'cnn-f16.h5'),
      ]).toString(),
    ) as Record<string, number[]>;
    const input = kerasReference().get('input')!;
    for (const [file16, file32, load] of [
      ['cnn-f16.h5', 'cnn.h5', loadKerasH5],
      ['cnn-f16.keras', 'cnn.keras', loadKeras3],
    ] as const) {
      const before = tf.memory().numTensors;
      const [net16, net32] = [await load(path.join(KERAS_DIR, file16)), await load(path.join(KERAS_DIR, file32))];
      try {
        let weights = 0;
        for (const [key, want] of Object.entries(exact)) {
          const [layer, name] = key.split('/');
          const op = net16.ops.find((o) => o.name === layer);
          assert.ok(op, `${file16}: an op for layer ${layer}`);
          const role = name.startsWith('kernel') ? 'kernel' : 'bias';
          const t = (op.weights as Record<string, tf.Tensor | undefined>)[role];
          assert.ok(t, `${file16}: ${layer} has a ${role}`);
          assert.deepEqual([...t.dataSync()], want, `${file16}: ${key} is exactly the stored float16 values`);
          weights += want.length;
        }
        assert.ok(weights > 19_000, `${weights} float16 weights compared`);
        tf.tidy(() => {
          const x = tf.tensor(input.data, input.shape);
          const [o16, o32] = [forward(net16, x), forward(net32, x)];
          for (const n of CNN_LAYERS) {
            const i = net16.ops.findIndex((o) => o.name === n);
            const j = net32.ops.findIndex((o) => o.name === n);
            const err = rangeError(o16[i].dataSync(), o32[j].dataSync());
            // float16 keeps 11 significant bits (relative rounding ≤ 2^-11 ≈ 4.9e-4 per weight); a few layers compound it.
            assert.ok(err <= 5e-3, `${file16} ${n}: ${err.toExponential(2)} of the range from the float32 model`);
            assert.ok(err > 0 || n === 'flatten' || n.startsWith('max_pooling'), `${file16} ${n}: the float16 weights change something (${err})`);
          }
        });
      } finally {
        net16.dispose();
        net32.dispose();
      }
      assert.equal(tf.memory().numTensors, before);
    }
  });

  it('float16 bits widen to float32 exactly (zero, subnormals, the largest half, infinities, NaN)', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x7bff, 65504],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, want] of cases) assert.equal(halfToNumber(bits), want, `0x${bits.toString(16)}`);
    assert.ok(Object.is(halfToNumber(0x8000), -0));
    assert.ok(Number.isNaN(halfToNumber(0x7e00)));
  });

  describe('bad files: one line each', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-keras-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** cnn.keras with its entries changed by `edit`. */
    const editKeras = (name: string, edit: (entries: Record<string, Uint8Array>) => void): string => {
      const entries = unzipSync(fs.readFileSync(path.join(KERAS_DIR, 'cnn.keras')));
      edit(entries);
      const file = path.join(dir, name);
      fs.writeFileSync(file, zipSync(entries));
      return file;
    };

    it('an .h5 that holds only weights, with no architecture beside it', async () => {
      const file = path.join(KERAS_DIR, 'lonely', 'weights.h5');
      await rejects(loadKerasH5Model(file), 'badInput', /holds only weights .*no architecture JSON lies beside it/, file);
    });

    it('a .keras zip without config.json', async () => {
      const file = editKeras('noconfig.keras', (e) => delete e['config.json']);
      await rejects(loadKeras3Model(file), 'badInput', /zip without config\.json/, file);
    });

    it('a custom layer (QKeras QDense): names the class, the layer and what it wraps', async () => {
      const file = path.join(KERAS_DIR, 'custom.h5');
      await rejects(loadKerasH5Model(file), 'unsupported', /layer "dense" is of the custom or unknown class QDense, QKeras's quantized Dense/, file);
    });

    it('a Lambda layer in a Keras 3 file', async () => {
      const file = editKeras('lambda.keras', (e) => {
        const config = JSON.parse(strFromU8(e['config.json']));
        config.config.layers[5] = {
          module: 'keras.layers',
          class_name: 'Lambda',
          config: { name: 'lambda', function: { class_name: '__lambda__', config: { code: '4wEAAAAAAAAA' } } },
          registered_name: null,
        };
        e['config.json'] = strToU8(JSON.stringify(config));
      });
      await rejects(loadKeras3Model(file), 'unsupported', /class Lambda, a Lambda layer: Python code/, file);
    });

    it('weights that do not fit the architecture', async () => {
      const file = editKeras('mismatch.keras', (e) => {
        const config = JSON.parse(strFromU8(e['config.json']));
        config.config.layers[6].config.units = 33;
        e['config.json'] = strToU8(JSON.stringify(config));
      });
      await rejects(loadKeras3Model(file), 'badInput', /layer "dense"|shape/, file);
    });

    it('a zip bomb: a weights entry declaring 4 GB unpacked is refused before inflating', async () => {
      const zip = new Uint8Array(fs.readFileSync(path.join(KERAS_DIR, 'cnn.keras')));
      const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
      let patched = 0;
      for (let i = 0; i + 46 < zip.length; i++) {
        if (view.getUint32(i, true) !== 0x02014b50) continue; // a central directory entry
        const nameLength = view.getUint16(i + 28, true);
        if (strFromU8(zip.subarray(i + 46, i + 46 + nameLength)) !== 'model.weights.h5') continue;
        view.setUint32(i + 24, 0xfffffff0, true); // its uncompressed size
        patched++;
      }
      assert.equal(patched, 1);
      const file = path.join(dir, 'bomb.keras');
      fs.writeFileSync(file, zip);
      await rejects(loadKeras3Model(file), 'badInput', /model\.weights\.h5 of 4096 MB unpacked/, file);
    });

    it('a failed import leaves no tensor behind', async () => {
      const file = editKeras('mismatch2.keras', (e) => {
        const config = JSON.parse(strFromU8(e['config.json']));
        config.config.layers[3].config.filters = 17;
        e['config.json'] = strToU8(JSON.stringify(config));
      });
      const before = tf.memory().numTensors;
      await assert.rejects(loadKeras3(file));
      await assert.rejects(loadKerasH5(path.join(KERAS_DIR, 'custom.h5')));
      assert.equal(tf.memory().numTensors, before);
    });

    it('not HDF5, not a zip', async () => {
      const h5 = path.join(dir, 'text.h5');
      fs.writeFileSync(h5, 'not a model');
      await rejects(loadKerasH5Model(h5), 'badInput', /not an HDF5 file/, h5);
      const keras = path.join(dir, 'text.keras');
      fs.writeFileSync(keras, 'not a model');
      await rejects(loadKeras3Model(keras), 'badInput', /not a readable zip/, keras);
      const folder = path.join(dir, 'folder.h5');
      fs.mkdirSync(folder);
      await rejects(loadKerasH5Model(folder), 'badInput', /not a regular file/, folder);
    });
  });
});

describe('Keras configs', () => {
  it('names weight groups as Keras 3 does (naming.to_snake_case)', () => {
    const cases: Record<string, string> = {
      Conv2D: 'conv2d',
      DepthwiseConv2D: 'depthwise_conv2d',
      BatchNormalization: 'batch_normalization',
      GlobalAveragePooling2D: 'global_average_pooling2d',
      InputLayer: 'input_layer',
      ReLU: 're_lu',
      Dense: 'dense',
    };
    for (const [cls, want] of Object.entries(cases)) assert.equal(toSnakeCase(cls), want, cls);
  });

  it('counts repeated classes, leaves out a Sequential’s InputLayer and recurses into nested models', () => {
    const layer = (class_name: string, name: string, extra = {}) => ({ class_name, config: { name, ...extra } });
    const model = {
      class_name: 'Functional',
      config: {
        name: 'm',
        layers: [
          layer('InputLayer', 'in'),
          layer('Dense', 'a'),
          layer('Sequential', 'inner', { layers: [layer('InputLayer', 'i2'), layer('Dense', 'b'), layer('Dense', 'c')] }),
          layer('Dense', 'd'),
        ],
      },
    };
    assert.deepEqual(keras3WeightPaths(model), [
      { names: ['in'], path: 'layers/input_layer' },
      { names: ['a'], path: 'layers/dense' },
      { names: ['inner', 'b'], path: 'layers/sequential/layers/dense' },
      { names: ['inner', 'c'], path: 'layers/sequential/layers/dense_1' },
      { names: ['d'], path: 'layers/dense_1' },
    ]);
  });

  it('inlines a model used as the first layer of a Sequential (Sequential([base, pooling, dense])), computing what the nested model computes', async () => {
    const base = tf.sequential({
      name: 'base',
      layers: [tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' })],
    });
    const outer = tf.sequential({
      name: 'outer',
      layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 2, name: 'head' })],
    });
    const keras = JSON.parse(JSON.stringify(outer.toJSON(undefined, false))) as { class_name: string; config: unknown };
    const flat = inlineNestedModels(normalizeLayer(keras as never, 'f'), 'f');
    const inlined = await tf.models.modelFromJSON(flat as never);
    try {
      assert.deepEqual(inlined.layers.map((l) => l.name).slice(1), ['base/conv', 'gap', 'head']);
      for (const l of inlined.layers.slice(1)) {
        const src = l.name === 'base/conv' ? base.getLayer('conv') : outer.getLayer(l.name);
        l.setWeights(src.getWeights());
      }
      const x = tf.randomUniform([2, 6, 6, 2], 0, 1, 'float32', 1);
      const a = outer.predict(x) as tf.Tensor;
      const b = inlined.predict(x) as tf.Tensor;
      assert.ok(rangeError(b.dataSync(), a.dataSync()) <= 1e-6);
      tf.dispose([x, a, b]);
    } finally {
      inlined.dispose();
      outer.dispose();
    }
  });

  it('turns Keras 3 functional nodes and dtype policies into the Keras 2 form', () => {
    const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const add = normalizeLayer(
      {
        module: 'keras.layers',
        class_name: 'Add',
        config: {
          name: 'add',
          trainable: true,
          dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' }, registered_name: null },
        },
        registered_name: null,
        build_config: {
          input_shape: [
            [null, 4],
            [null, 4],
          ],
        },
        name: 'add',
        inbound_nodes: [{ args: [[tensor('a'), tensor('b')]], kwargs: {} }],
      },
      'f',
    );
    assert.deepEqual(add, {
      class_name: 'Add',
      config: { name: 'add', trainable: true, dtype: 'float32' },
      name: 'add',
      inbound_nodes: [
        [
          ['a', 0, 0, {}],
          ['b', 0, 0, {}],
        ],
      ],
    });
    const input = normalizeLayer(
      {
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: { batch_shape: [null, 28, 28, 1], dtype: 'float32', sparse: false, name: 'x' },
        registered_name: null,
      },
      'f',
    );
    assert.deepEqual(input.config, { batch_input_shape: [null, 28, 28, 1], dtype: 'float32', sparse: false, name: 'x' });
    const dense = normalizeLayer(
      {
        class_name: 'Dense',
        config: {
          name: 'd',
          activation: 'silu',
          kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null },
        },
      },
      'f',
    );
    assert.deepEqual(dense.config, { name: 'd', activation: 'swish', kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } } });
  });
});

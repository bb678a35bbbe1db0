// TF.js graph models (real ones, from @vladmandic/human's models/*.json, MIT) imported into the network
// representation: the layers listed with their shapes, every layer's feature maps and a saliency map agree with
// the graph model's own execute() on the same input; unsupported graphs are one line naming op, node and file.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { describeLayers } from '../../src/engine/models/describeLayers';
import { forward } from '../../src/engine/models/forward';
import type { Network } from '../../src/engine/models/network';
import { importerFor } from '../../src/engine/models/importers';
import { loadTfjsGraph } from '../../src/engine/models/tfjsGraph';
import { nodeTarget } from '../../src/engine/methods/nodeTarget';
import { saliency } from '../../src/engine/methods/saliency';
import * as tf from '../../src/engine/runtime/tf';
import { rangeError } from './kerasFixtures';

const HUMAN = path.resolve('node_modules/@vladmandic/human/models');

/** The reference: tfjs-converter's own GraphModel on the same files, and the names of the graph's nodes. */
async function reference(name: string): Promise<{ gm: GraphModel; nodes: Set<string> }> {
  const json = JSON.parse(fs.readFileSync(path.join(HUMAN, `${name}.json`), 'utf8'));
  const bin = fs.readFileSync(path.join(HUMAN, `${name}.bin`));
  const nodes = new Set<string>(json.modelTopology.node.map((n: { name: string }) => n.name));
  const gm = await loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) as ArrayBuffer,
    }),
  );
  return { gm, nodes };
}

/** A smooth image with texture (a face-sized blob and stripes), values in [0, 1], deterministic. */
function image(shape: number[], batch: number): tf.Tensor4D {
  const [h, w, c] = shape;
  const data = new Float32Array(batch * h * w * c);
  let i = 0;
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const r = Math.hypot(y / h - 0.5, x / w - 0.45 - 0.1 * b);
          data[i++] = 0.5 + 0.35 * Math.cos(12 * r + k) * Math.exp(-3 * r) + 0.15 * Math.sin((x + 2 * y + 7 * k + 13 * b) / 3);
        }
  return tf.tensor4d(data, [batch, h, w, c]);
}

async function rejects(p: Promise<unknown>, pattern: RegExp, file: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('TF.js graph models', () => {
  before(async () => {
    await initBackend('wasm');
  });

  // emotion: conv, depthwise, residual adds, max pools, global mean, softmax (batch free);
  // iris: fused conv + PReLU, pads, concat; blazeface: a fixed batch of 1, pads of channels, reshapes;
  // handlandmark-lite: unfused Conv2D + AddV2 bias, Relu6, AddN, a dense head on a global mean.
  for (const [name, batch] of [
    ['emotion', 2],
    ['iris', 2],
    ['blazeface', 1],
    ['handlandmark-lite', 1],
  ] as const) {
    describe(name, () => {
      let net: Network;
      let gm: GraphModel;
      let nodes: Set<string>;
      /** Layers that are graph nodes; the others are the conv half of a conv fused with PReLU (`<node>/conv`). */
      const inGraph = (): string[] => net.layers.map((l) => l.name).filter((n) => nodes.has(n));
      before(async () => {
        net = await loadTfjsGraph(path.join(HUMAN, `${name}.json`));
        ({ gm, nodes } = await reference(name));
      });
      after(() => {
        net?.dispose();
        gm?.dispose();
      });

      it('lists its layers with the shapes the graph model computes', () => {
        assert.equal(net.format, 'tfjs-graph');
        const placeholder = gm.inputs[0];
        assert.deepEqual(net.input.shape, placeholder.shape!.slice(1));
        assert.ok(net.layers.length >= 10, `${net.layers.length} layers`);
        const x = image(net.input.shape, batch);
        const names = inGraph();
        const outs = gm.execute(x, names) as tf.Tensor[];
        const info = describeLayers(net);
        assert.equal(info.length, net.layers.length);
        names.forEach((n, i) => {
          const layer = info.find((l) => l.name === n)!;
          assert.deepEqual(layer.outputShape, outs[i].shape.slice(1), n);
          assert.equal(layer.nodes, outs[i].shape[outs[i].shape.length - 1], n);
        });
        tf.dispose([x, ...outs]);
      });

      it('computes every layer’s feature maps as the graph model’s execute() does (within 1e-4 of the range)', () => {
        const names = inGraph();
        for (const l of net.layers)
          assert.ok(
            nodes.has(l.name) || (/\/(conv|matmul)$/.test(l.name) && nodes.has(l.name.replace(/\/(conv|matmul)$/, ''))),
            `layer ${l.name} is a graph node`,
          );
        let worst = 0;
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = image(net.input.shape, batch);
          const ours = forward(net, x);
          const theirs = gm.execute(x, names) as tf.Tensor[];
          names.forEach((n, i) => {
            const op = net.ops.findIndex((o) => o.name === n);
            const err = rangeError(ours[op].dataSync(), theirs[i].dataSync());
            worst = Math.max(worst, err);
            assert.ok(err <= 1e-4, `${n}: error ${err} of the range`);
          });
        });
        assert.equal(tf.memory().numTensors, before, 'no tensor left');
        console.log(`# ${name}: ${names.length} layers, largest error ${worst.toExponential(2)} of the range`);
      });

      it('featureMaps (the method) for one image equals execute(), on a dozen layers across the network', () => {
        const x = image(net.input.shape, 1);
        const img = { shape: net.input.shape, data: x.dataSync() as Float32Array };
        const all = net.layers.map((l, i) => [l, i] as const).filter(([l]) => nodes.has(l.name));
        const step = Math.max(1, Math.floor(all.length / 12));
        const layers = all.filter((_, k) => k % step === 0 || k === all.length - 1);
        const theirs = gm.execute(
          x,
          layers.map(([l]) => l.name),
        ) as tf.Tensor[];
        let worst = 0;
        layers.forEach(([l, i], k) => {
          const got = featureMaps(net, i, img);
          assert.deepEqual(got.maps.shape, theirs[k].shape.slice(1), l.name);
          worst = Math.max(worst, rangeError(got.maps.data, theirs[k].dataSync()));
        });
        console.log(`# ${name}: featureMaps of ${layers.length} layers, largest error ${worst.toExponential(2)} of the range`);
        assert.ok(worst <= 1e-4, `feature maps error ${worst} of the range`);
        tf.dispose([x, ...theirs]);
      });

      it('gives the saliency map (the method) the graph model gives', () => {
        // A conv layer in the middle of the network, its node 1's summed activation.
        const convs = net.layers.map((l, i) => [l, i] as const).filter(([l]) => l.kind === 'conv' && nodes.has(l.name));
        const [layer, index] = convs[Math.floor(convs.length / 2)];
        const x = image(net.input.shape, 1);
        const ours = saliency(net, index, 1, x, false);
        const theirs = tf.tidy(() => tf.grad((input: tf.Tensor) => nodeTarget(gm.execute(input, layer.name) as tf.Tensor, 1, false))(x));
        const err = rangeError(ours.dataSync(), theirs.dataSync());
        console.log(`# ${name}: saliency of ${layer.name} node 1, error ${err.toExponential(2)} of the range`);
        assert.ok(err <= 1e-4, `saliency error ${err} of the range`);
        assert.ok(tf.max(tf.abs(theirs)).dataSync()[0] > 0, 'the reference gradient is not zero');
        tf.dispose([x, ours, theirs]);
      });
    });
  }

  it('a detection model (centernet) stops before its post-processing (TopKV2): said in its info, and the network computes what the graph model computes up to there', async () => {
    const file = path.join(HUMAN, 'centernet.json');
    const before = tf.memory().numTensors;
    const { gm, nodes } = await reference('centernet');
    const net = await loadTfjsGraph(file);
    try {
      assert.match(net.note ?? '', /stops before the model's post-processing \(TopKV2: selecting detections, \d+ graph nodes\)/);
      assert.match(net.note ?? '', /"tower_0\/wh", "tower_0\/keypoints"/);
      assert.ok(!net.ops.some((o) => /TopKV2|BatchGather/.test(o.name)), 'no post-processing node in the network');
      const x = image(net.input.shape, 1);
      // The outputs the post-processing would read, and a dozen layers across the network, against execute().
      const all = net.layers.filter((l) => nodes.has(l.name)).map((l) => l.name);
      const step = Math.max(1, Math.floor(all.length / 12));
      const names = all.filter((_, k) => k % step === 0);
      const theirs = gm.execute(x, ['tower_0/wh', ...names]) as tf.Tensor[];
      let worst = 0;
      tf.tidy(() => {
        const ours = forward(net, x);
        // The network's output is the graph's output "tower_0/wh" (an identity of the op that computes it).
        const out = ours[net.ops.findIndex((o) => o.name === net.output)];
        assert.deepEqual(out.shape, theirs[0].shape);
        worst = rangeError(out.dataSync(), theirs[0].dataSync());
        assert.ok(worst <= 1e-4, `the output: error ${worst} of the range`);
        names.forEach((n, k) => {
          const i = k + 1;
          const op = net.ops.findIndex((o) => o.name === n);
          assert.ok(op >= 0, `${n} is in the network`);
          const err = rangeError(ours[op].dataSync(), theirs[i].dataSync());
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-4, `${n}: error ${err} of the range`);
        });
      });
      console.log(`# centernet: ${names.length} values before the post-processing, largest error ${worst.toExponential(2)} of the range`);
      // Saliency of a conv in the upsampling head, through the bilinear resizes. Millions of ReLUs: the few whose
      // input is within rounding of zero switch with the order of additions (the graph model fuses bias and ReLU
      // into its convs, the network does not), which moves the gradient near them: almost every pixel agrees.
      const heads = net.layers.map((l, i) => [l, i] as const).filter(([l]) => l.kind === 'conv' && nodes.has(l.name) && /CenternetHead/.test(l.name));
      const [head, index] = heads[Math.floor(heads.length / 2)];
      const sal = saliency(net, index, 1, x, false);
      const ref = tf.tidy(() => tf.grad((input: tf.Tensor) => nodeTarget(gm.execute(input, head.name) as tf.Tensor, 1, false))(x));
      const a = sal.dataSync();
      const b = ref.dataSync();
      const { min, max } = tf.tidy(() => ({ min: tf.min(ref).dataSync()[0], max: tf.max(ref).dataSync()[0] }));
      let close = 0;
      for (let i = 0; i < b.length; i++) if (Math.abs(a[i] - b[i]) <= 1e-4 * (max - min)) close++;
      let sa = 0;
      let sb = 0;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (let i = 0; i < b.length; i++) {
        sa += a[i];
        sb += b[i];
        sab += a[i] * b[i];
        saa += a[i] * a[i];
        sbb += b[i] * b[i];
      }
      const n = b.length;
      const corr = (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
      console.log(
        `# centernet: saliency of ${head.name} node 1: ${((100 * close) / n).toFixed(3)}% of the values within 1e-4 of the range, correlation ${corr.toFixed(6)}, largest error ${rangeError(a, b).toExponential(2)}`,
      );
      assert.ok(max > min, 'the reference gradient is not constant');
      assert.ok(close >= 0.98 * n && corr >= 0.999, `${n - close} of ${n} saliency values differ by more than 1e-4 of the range; correlation ${corr}`);
      tf.dispose([x, ...theirs, sal, ref]);
    } finally {
      net.dispose();
      gm.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left');
  });

  it('dispose frees every tensor the import made (weights, constants, folded shapes)', async () => {
    const before = tf.memory().numTensors;
    const net = await loadTfjsGraph(path.join(HUMAN, 'iris.json'));
    assert.ok(tf.memory().numTensors > before);
    net.dispose();
    assert.equal(tf.memory().numTensors, before);
    // handtrack's preprocessing is a TensorArray loop (TensorListReserve), which the engine lacks.
    await rejects(loadTfjsGraph(path.join(HUMAN, 'handtrack.json')), /TensorListReserve/, path.join(HUMAN, 'handtrack.json'));
    assert.equal(tf.memory().numTensors, before, 'a failed import leaves nothing behind');
  });

  describe('files it cannot import', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-graph-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const write = (name: string, nodes: unknown[], weights: unknown[] = [], bin = new Uint8Array(0)): string => {
      fs.writeFileSync(path.join(dir, `${name}.bin`), bin);
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          format: 'graph-model',
          modelTopology: { node: nodes, versions: { producer: 1 } },
          weightsManifest: [{ paths: [`${name}.bin`], weights }],
        }),
      );
      return file;
    };
    const placeholder = {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } },
    };

    it('an op the engine lacks: one line naming the op, the node and the file', async () => {
      const file = write('erf', [placeholder, { name: 'block/erf', op: 'Erf', input: ['x'] }]);
      await rejects(loadTfjsGraph(file), /node "block\/erf" uses the TensorFlow op Erf/, file);
    });

    it('an input of variable size', async () => {
      const file = write('dyn', [
        { ...placeholder, attr: { ...placeholder.attr, shape: { shape: { dim: [{ size: '1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } } } },
        { name: 'r', op: 'Relu', input: ['x'] },
      ]);
      await rejects(loadTfjsGraph(file), /fixed input size/, file);
    });

    it('a missing weights file', async () => {
      const file = write(
        'nobin',
        [placeholder, { name: 'w', op: 'Const' }, { name: 'm', op: 'Mul', input: ['x', 'w'] }],
        [{ name: 'w', shape: [3], dtype: 'float32' }],
        new Uint8Array(new Float32Array([1, 2, 3]).buffer),
      );
      fs.rmSync(path.join(dir, 'nobin.bin'));
      await rejects(loadTfjsGraph(file), /weights file nobin\.bin, which does not exist/, file);
    });

    it('a Layers model.json is not taken for a graph model', async () => {
      const file = path.join(dir, 'layers.json');
      fs.writeFileSync(file, JSON.stringify({ format: 'layers-model', modelTopology: {} }));
      await rejects(loadTfjsGraph(file), /not a TF\.js graph model/, file);
    });
  });
});

describe('shape arithmetic on constants', () => {
  it('a Flatten as tensorflowjs_converter writes it (Reshape to Pack(StridedSlice(Shape(x)), -1)) imports and runs as the graph model does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-fold-'));
    try {
      const kernel = Float32Array.from({ length: 32 * 3 }, (_, i) => Math.sin(i));
      const consts: [string, number[], 'int32' | 'float32', ArrayLike<number>][] = [
        ['begin', [1], 'int32', [0]],
        ['end', [1], 'int32', [1]],
        ['strides', [1], 'int32', [1]],
        ['minus1', [], 'int32', [-1]],
        ['kernel', [32, 3], 'float32', kernel],
      ];
      const bin = new Uint8Array(consts.reduce((n, c) => n + c[3].length * 4, 0));
      let at = 0;
      for (const [, , dtype, v] of consts) {
        const bytes = new Uint8Array((dtype === 'int32' ? Int32Array.from(v) : Float32Array.from(v)).buffer);
        bin.set(bytes, at);
        at += bytes.length;
      }
      fs.writeFileSync(path.join(dir, 'fold.bin'), bin);
      const i32 = { type: 'DT_INT32' };
      const nodes = [
        {
          name: 'x',
          op: 'Placeholder',
          attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '2' }] } } },
        },
        ...consts.map(([name, , dtype]) => ({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } })),
        { name: 'flatten/Shape', op: 'Shape', input: ['x'], attr: { out_type: i32 } },
        {
          name: 'flatten/strided_slice',
          op: 'StridedSlice',
          input: ['flatten/Shape', 'begin', 'end', 'strides'],
          attr: {
            Index: i32,
            T: i32,
            shrink_axis_mask: { i: '1' },
            begin_mask: { i: '0' },
            end_mask: { i: '0' },
            ellipsis_mask: { i: '0' },
            new_axis_mask: { i: '0' },
          },
        },
        { name: 'flatten/Reshape/shape', op: 'Pack', input: ['flatten/strided_slice', 'minus1'], attr: { T: i32, N: { i: '2' }, axis: { i: '0' } } },
        { name: 'flatten/Reshape', op: 'Reshape', input: ['x', 'flatten/Reshape/shape'], attr: { T: { type: 'DT_FLOAT' }, Tshape: i32 } },
        {
          name: 'dense/MatMul',
          op: 'MatMul',
          input: ['flatten/Reshape', 'kernel'],
          attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } },
        },
        { name: 'out', op: 'Relu', input: ['dense/MatMul'] },
      ];
      const weights = consts.map(([name, shape, dtype]) => ({ name, shape, dtype }));
      const file = path.join(dir, 'fold.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          format: 'graph-model',
          modelTopology: { node: nodes, versions: { producer: 1 } },
          weightsManifest: [{ paths: ['fold.bin'], weights }],
        }),
      );
      const net = await loadTfjsGraph(file);
      const gm = await loadGraphModel(
        tf.io.fromMemory({
          modelTopology: { node: nodes, versions: { producer: 1 } },
          weightSpecs: weights as tf.io.WeightsManifestEntry[],
          weightData: bin.buffer,
        }),
      );
      try {
        assert.deepEqual(
          net.ops.map((o) => o.kind),
          ['flatten', 'dense', 'activation'],
        );
        const x = tf.randomUniform([3, 4, 4, 2], -1, 1, 'float32', 5);
        const ours = tf.tidy(() => forward(net, x)[2].dataSync());
        const theirs = gm.execute(x, 'out') as tf.Tensor;
        assert.ok(rangeError(ours, theirs.dataSync()) <= 1e-6);
        tf.dispose([x, theirs]);
      } finally {
        net.dispose();
        gm.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('picking the importer by file', () => {
  it('by extension and by a model.json’s content', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-pick-'));
    try {
      const layers = path.join(dir, 'model.json');
      fs.writeFileSync(layers, JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: {} } }));
      const arch = path.join(dir, 'arch.json');
      fs.writeFileSync(arch, JSON.stringify({ class_name: 'Functional', config: { layers: [] }, keras_version: '2.12.0' }));
      assert.equal((await importerFor(path.join(HUMAN, 'emotion.json')))?.format, 'tfjs-graph');
      assert.equal(await importerFor(layers), undefined);
      assert.equal((await importerFor(arch))?.format, 'keras-h5');
      assert.equal((await importerFor('/x/m.h5'))?.format, 'keras-h5');
      assert.equal((await importerFor('/x/m.keras'))?.format, 'keras');
      assert.equal((await importerFor('/x/m.onnx'))?.format, 'onnx');
      // a PyTorch checkpoint goes to the ONNX reader, which says how to export one
      assert.equal((await importerFor('/x/m.pth'))?.format, 'onnx');
      assert.equal(await importerFor('/x/notes.txt'), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

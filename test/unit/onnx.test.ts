// The ONNX importer against independent references:
// - PyTorch: every inspectable layer of ResNet-18, MobileNetV2, SqueezeNet 1.1, VGG-11 and AlexNet (BatchNorm
//   folded and kept) and of a digits CNN trained on real MNIST, within 1e-4 of the output's range, by module
//   name (test/fixtures/zoo, made by scripts/make-zoo.py: `npm test` makes it when missing).
// - ONNX's own single-op test cases (Debian's libonnx-testdata) for the op set.
// - Bad files: one line each, naming the file, and the next good model still loads.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../src/engine/runtime/backend';
import { forward } from '../../src/engine/models/forward';
import { UserError } from '../../src/engine/runtime/errors';
import type { Network } from '../../src/engine/models/network';
import { importOnnx, loadOnnx } from '../../src/engine/models/onnx';
import { moduleNames, parseNodeName } from '../../src/engine/models/onnx/names';
import { decodeTensor } from '../../src/engine/models/onnx/tensors';
import { saliency } from '../../src/engine/methods/saliency';
import * as tf from '../../src/engine/runtime/tf';

const ZOO = path.resolve(__dirname, '../fixtures/zoo');
const TESTDATA = '/usr/share/libonnx-testdata/data/node';

type Forward = typeof forward;

before(async () => {
  await initBackend('wasm');
});

/** Max |a − b| over the reference's range (max − min), the acceptance measure. */
function relError(actual: Float32Array | Int32Array | Uint8Array, expected: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    lo = Math.min(lo, expected[i]);
    hi = Math.max(hi, expected[i]);
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return worst / Math.max(hi - lo, 1e-6);
}

/** NCHW (as PyTorch and ONNX give it) → the network's NHWC, for rank 4. */
const toNhwc = (t: tf.Tensor) => (t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t);

interface RefEntry {
  name: string;
  call: number;
  type: string;
  shape: number[];
  offset: number;
}

function readRef(model: string) {
  const json = JSON.parse(fs.readFileSync(path.join(ZOO, `${model}.ref.json`), 'utf8')) as { values: RefEntry[] };
  const bin = fs.readFileSync(path.join(ZOO, `${model}.ref.bin`));
  const data = (e: RefEntry) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    return new Float32Array(bin.buffer.slice(bin.byteOffset + e.offset, bin.byteOffset + e.offset + 4 * n));
  };
  return { values: json.values, data };
}

/**
 * The PyTorch reference of a network op, by module name: `relu_1` is the second call of `relu`; a conv whose
 * BatchNorm the export folded in is compared with that BatchNorm's output (the next module PyTorch ran).
 */
function referenceOf(values: RefEntry[], name: string, kind: string, opNames: Set<string>): RefEntry | undefined {
  let i = values.findIndex((v) => v.name === name && v.call === 1);
  const m = /^(.*)_(\d+)$/.exec(name);
  if (i < 0 && m) i = values.findIndex((v) => v.name === m[1] && v.call === Number(m[2]) + 1);
  if (i < 0) return undefined;
  const next = values[i + 1];
  if ((kind === 'conv2d' || kind === 'depthwiseConv2d') && next?.type.startsWith('BatchNorm') && !opNames.has(next.name)) return next;
  return values[i];
}

const ZOO_MODELS = [
  'digits',
  'ops9',
  'ops13',
  'ops17',
  'upsample11',
  'upsample17',
  'resnet18',
  'resnet18.bn',
  'mobilenet_v2',
  'mobilenet_v2.bn',
  'squeezenet1_1',
  'alexnet',
  'vgg11',
];
const haveZoo = fs.existsSync(path.join(ZOO, 'digits.onnx'));

describe(
  'ONNX zoo against PyTorch (every inspectable layer within 1e-4 of its range)',
  { skip: haveZoo ? false : 'test/fixtures/zoo is missing: run python3 scripts/make-zoo.py (npm test does)' },
  () => {
    for (const model of ZOO_MODELS) {
      it(model, { timeout: 300_000 }, async (t) => {
        const run = forward;
        const net = await loadOnnx(path.join(ZOO, `${model}.onnx`));
        try {
          const { values, data } = readRef(model);
          const input = values[0];
          const errors: string[] = [];
          let checked = 0;
          let worst = 0;
          const unmatched: string[] = [];
          tf.tidy(() => {
            const x = toNhwc(tf.tensor(data(input), input.shape));
            const outs = run(net, x);
            const compare = (opIndex: number, ref: RefEntry, label: string) => {
              const y = outs[opIndex];
              assert.equal(
                y.size,
                ref.shape.reduce((a, b) => a * b, 1),
                `${model} ${label}: ${y.shape} vs PyTorch ${ref.shape}`,
              );
              const expected = toNhwc(tf.tensor(data(ref), ref.shape)).dataSync() as Float32Array;
              const err = relError(y.dataSync() as Float32Array, expected);
              worst = Math.max(worst, err);
              checked++;
              if (!(err <= 1e-4)) errors.push(`${label} vs ${ref.name}#${ref.call}: ${err.toExponential(2)}`);
            };
            const opNames = new Set(net.ops.map((o) => o.name));
            for (const layer of net.layers) {
              const op = net.ops[layer.op];
              const ref = referenceOf(values, layer.name, op.kind, opNames);
              if (ref) compare(layer.op, ref, layer.name);
              else unmatched.push(layer.name);
            }
            const final = values.find((v) => v.name === '(model)');
            assert.ok(final, 'the reference has the model output');
            compare(
              net.ops.findIndex((o) => o.name === net.output),
              final,
              `output ${net.output}`,
            );
          });
          // Layers without a module of their own are functional ops of a forward(): `layer1.0.Add`, `features.3.Concat`.
          assert.deepEqual(
            unmatched.filter((n) => !/(^|\.)[A-Z][A-Za-z]*(_\d+)?$/.test(n)),
            [],
            `${model}: layers with no PyTorch reference`,
          );
          assert.ok(checked >= net.layers.length / 2, `${model}: only ${checked} of ${net.layers.length} layers checked`);
          assert.deepEqual(errors, [], `${model}: layers off PyTorch by more than 1e-4 of their range`);
          t.diagnostic(`${model}: ${checked} values checked, worst ${worst.toExponential(2)} of the range`);
        } finally {
          net.dispose();
        }
      });
    }

    it('names ops by PyTorch module path', async () => {
      const net = await loadOnnx(path.join(ZOO, 'resnet18.onnx'));
      try {
        const names = net.layers.map((l) => l.name);
        for (const n of ['conv1', 'layer2.0.conv1', 'layer2.0.downsample.0', 'layer1.0.relu', 'layer1.0.relu_1', 'layer1.0.Add', 'fc'])
          assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
        assert.equal(new Set(net.ops.map((o) => o.name)).size, net.ops.length, 'op names are unique');
        const conv = net.ops.find((o) => o.name === 'layer2.0.conv1');
        assert.equal(conv?.kind, 'conv2d');
        assert.deepEqual(conv?.kind === 'conv2d' && conv.weights.kernel.shape, [3, 3, 64, 128], 'conv kernel as [kh, kw, cin, cout]');
        assert.deepEqual(conv?.shape, [8, 8, 128], 'NHWC shape without the batch');
        assert.deepEqual(net.input.shape, [64, 64, 3]);
        const mob = await loadOnnx(path.join(ZOO, 'mobilenet_v2.onnx'));
        try {
          const dw = mob.ops.find((o) => o.name === 'features.2.conv.1.0');
          assert.equal(dw?.kind, 'depthwiseConv2d');
          assert.deepEqual(dw?.kind === 'depthwiseConv2d' && dw.weights.kernel.shape, [3, 3, 96, 1], 'depthwise kernel as [kh, kw, cin, multiplier]');
          assert.deepEqual(dw?.kind === 'depthwiseConv2d' && dw.pads, [1, 1, 1, 1]);
          const relu6 = mob.ops.find((o) => o.name === 'features.0.2');
          assert.deepEqual(relu6?.kind === 'activation' && relu6.activation, { fn: 'clip', min: 0, max: 6 });
        } finally {
          mob.dispose();
        }
      } finally {
        net.dispose();
      }
    });
  },
);

describe('op names from PyTorch node names', () => {
  it('joins scopes into module paths', () => {
    assert.deepEqual(parseNodeName('/layer2/layer2.0/downsample/downsample.0/Conv'), { scope: 'layer2.0.downsample.0', op: 'Conv' });
    assert.deepEqual(parseNodeName('/features/features.1/conv/conv.0/conv.0.0/Conv'), { scope: 'features.1.conv.0.0', op: 'Conv' });
    assert.deepEqual(parseNodeName('/Flatten'), { scope: '', op: 'Flatten' });
    assert.equal(parseNodeName('Conv_0'), undefined);
  });
  it('names leaf modules by path, container ops by container and type, and keeps names unique', () => {
    const o = (node: string, opType: string, role?: string) => ({ node, opType, ...(role ? { role } : {}) });
    const names = moduleNames(
      [
        o('/layer1/layer1.0/conv1/Conv', 'Conv'),
        o('/layer1/layer1.0/relu/Relu', 'Relu'),
        o('/layer1/layer1.0/Add', 'Add'),
        o('/layer1/layer1.0/relu_1/Relu', 'Relu'),
        o('/fc/MatMul', 'MatMul'),
        o('/fc/Add', 'Add'),
        o('/view/Reshape', 'Reshape', 'nchw'),
        o('/view/Reshape', 'Reshape'),
        o('Conv_7', 'Conv'),
        o('/Flatten', 'Flatten'),
      ],
      new Set(['input', 'Flatten']),
    );
    assert.deepEqual(names, [
      'layer1.0.conv1',
      'layer1.0.relu',
      'layer1.0.Add',
      'layer1.0.relu_1',
      'fc.MatMul',
      'fc',
      'view.nchw',
      'view',
      'Conv_7',
      'Flatten_2',
    ]);
  });
});

// ---- Bad files ----

/** A small ONNX model, written with onnx-proto: Conv(3×3, 2 filters) → `extra` op, on a 1×1×4×4 input. */
function smallModel(opts: { extraOp?: string; external?: string }): Uint8Array {
  const w = new Float32Array(2 * 1 * 3 * 3).map((_, i) => (i % 5) - 2);
  const weight: onnx.ITensorProto = { name: 'w', dims: [2, 1, 3, 3], dataType: onnx.TensorProto.DataType.FLOAT };
  if (opts.external) {
    weight.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    weight.externalData = [
      { key: 'location', value: opts.external },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(w.byteLength) },
    ];
  } else weight.rawData = new Uint8Array(w.buffer);
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const value = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map(dim) } } } });
  const nodes: onnx.INodeProto[] = [
    {
      opType: 'Conv',
      name: '/conv/Conv',
      input: ['x', 'w'],
      output: ['c'],
      attribute: [{ name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [3, 3] }],
    },
  ];
  nodes.push({ opType: opts.extraOp ?? 'Relu', name: '/act/Op', input: ['c'], output: ['y'] });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'feature-lens-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'small', node: nodes, initializer: [weight], input: [value('x', ['batch', 1, 4, 4])], output: [value('y', ['batch', 2, 2, 2])] },
  }).finish();
}

describe('bad ONNX files: one line each, and the engine goes on', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-onnx-'));
  });

  /** Asserts `file` is refused with one line naming it and matching `pattern`, then that a good model loads. */
  async function refused(file: string, pattern: RegExp): Promise<string> {
    const err = await loadOnnx(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof UserError, `${path.basename(file)} is refused with a UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(err.message.includes(file), `names the file: ${err.message}`);
    assert.match(err.message, pattern);
    const good = path.join(dir, 'good.onnx');
    fs.writeFileSync(good, smallModel({}));
    (await loadOnnx(good)).dispose();
    return err.message;
  }

  it('a truncated protobuf', async () => {
    const bytes = smallModel({});
    const file = path.join(dir, 'truncated.onnx');
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await refused(file, /truncated/);
  });

  it('an op outside the set names the op type, the node and the file', async () => {
    const file = path.join(dir, 'unknown.onnx');
    fs.writeFileSync(file, smallModel({ extraOp: 'FancyNorm' }));
    await refused(file, /ONNX op FancyNorm \(node "\/act\/Op"\)/);
  });

  it('a missing external data file; read when present beside the model', async () => {
    const file = path.join(dir, 'external.onnx');
    fs.writeFileSync(file, smallModel({ external: 'external.weights' }));
    await refused(file, /external data file "external\.weights", which is missing/);
    const w = new Float32Array(18).map((_, i) => (i % 5) - 2);
    fs.writeFileSync(path.join(dir, 'external.weights'), Buffer.from(w.buffer));
    const net = await loadOnnx(file);
    try {
      const conv = net.ops[0];
      assert.equal(conv.kind, 'conv2d');
      // ONNX [cout, cin, kh, kw] → [kh, kw, cin, cout]: kernel[i][j][0][o] = w[o*9 + i*3 + j].
      const k = conv.kind === 'conv2d' ? (conv.weights.kernel.arraySync() as number[][][][]) : [];
      for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.equal(k[i][j][0][o], w[o * 9 + i * 3 + j]);
    } finally {
      net.dispose();
    }
    fs.writeFileSync(path.join(dir, 'escape.onnx'), smallModel({ external: '../elsewhere.bin' }));
    await refused(path.join(dir, 'escape.onnx'), /outside the model's folder/);
  });

  it('a PyTorch pickle (.pt/.pth) says Feature Lens reads ONNX and how to export', async () => {
    const legacy = path.join(dir, 'legacy.pth');
    fs.writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    const msg = await refused(legacy, /reads ONNX/);
    assert.match(msg, /torch\.onnx\.export\(model, /);
    const zipped = path.join(ZOO, 'digits.pt');
    if (fs.existsSync(zipped)) {
      // A real torch.save() file (a zip with data.pkl), renamed so the extension does not give it away.
      const renamed = path.join(dir, 'checkpoint.onnx');
      fs.copyFileSync(zipped, renamed);
      await refused(renamed, /PyTorch checkpoint \(pickle\)/);
    }
  });

  it('an input of unknown size asks for a fixed-size export', async () => {
    const bytes = onnx.ModelProto.decode(smallModel({}));
    const dims = bytes.graph?.input?.[0].type?.tensorType?.shape?.dim ?? [];
    dims[2] = { dimParam: 'height' };
    const file = path.join(dir, 'dynamic.onnx');
    fs.writeFileSync(file, onnx.ModelProto.encode(bytes).finish());
    await refused(file, /fixed/);
  });
});

// ---- ONNX's single-op test cases ----

/** Op types of the set with their test-case folder prefixes in libonnx-testdata. */
const OP_CASES: Record<string, string[]> = {
  Conv: ['test_basic_conv_', 'test_conv_with_'],
  ConvTranspose: ['test_convtranspose'],
  Gemm: ['test_gemm_'],
  MatMul: ['test_matmul_'],
  Relu: ['test_relu'],
  LeakyRelu: ['test_leakyrelu'],
  PRelu: ['test_prelu_'],
  Sigmoid: ['test_sigmoid'],
  Tanh: ['test_tanh'],
  Clip: ['test_clip'],
  HardSigmoid: ['test_hardsigmoid'],
  HardSwish: ['test_hardswish'],
  MaxPool: ['test_maxpool_2d'],
  AveragePool: ['test_averagepool_2d'],
  GlobalAveragePool: ['test_globalaveragepool'],
  GlobalMaxPool: ['test_globalmaxpool'],
  BatchNormalization: ['test_batchnorm_'],
  Add: ['test_add'],
  Sub: ['test_sub'],
  Mul: ['test_mul'],
  Div: ['test_div'],
  // Concat: ONNX's cases concatenate two graph inputs, and a network has one; SqueezeNet's Fire modules check
  // it against PyTorch above.
  Flatten: ['test_flatten_'],
  Reshape: ['test_reshape_'],
  Transpose: ['test_transpose_'],
  Squeeze: ['test_squeeze'],
  Unsqueeze: ['test_unsqueeze'],
  Pad: ['test_constant_pad', 'test_edge_pad', 'test_reflect_pad'],
  Softmax: ['test_softmax_'],
  LogSoftmax: ['test_logsoftmax_'],
  Dropout: ['test_dropout_default'],
  Identity: ['test_identity'],
  ReduceMean: ['test_reduce_mean_'],
  Resize: ['test_resize_'],
};

/**
 * Runs one test case: the model's first input is the network input; its other inputs take the case's values
 * as initializers (constants, as in an exported model). Returns the relative error, or the importer's
 * one-line reason when it does not take the case (a shape or attribute outside what it supports).
 */
function runCase(dir: string, run: Forward): { error?: number; refused?: string } {
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const graph = model.graph as onnx.GraphProto;
  // HardSigmoid (version 6) and the global pools (version 1) are unchanged up to opset 21: the cases written
  // at their first opset are the same ops at opset 9, the oldest the importer reads.
  const opset = model.opsetImport.find((o) => !o.domain);
  if (opset && Number(opset.version) < 9 && graph.node.every((n) => ['HardSigmoid', 'GlobalAveragePool', 'GlobalMaxPool'].includes(n.opType ?? '')))
    opset.version = 9;
  const set = path.join(dir, 'test_data_set_0');
  const read = (f: string) => onnx.TensorProto.decode(fs.readFileSync(path.join(set, f)));
  const inputs = graph.input.filter((i) => !graph.initializer.some((t) => t.name === i.name));
  inputs.slice(1).forEach((inp, k) => {
    const p = path.join(set, `input_${k + 1}.pb`);
    if (fs.existsSync(p)) graph.initializer.push(Object.assign(read(`input_${k + 1}.pb`), { name: inp.name }));
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  let net: Network;
  try {
    net = importOnnx(bytes, path.join(dir, 'model.onnx'));
  } catch (e) {
    if (e instanceof UserError && (e.code === 'unsupported' || e.code === 'badInput')) return { refused: e.message };
    throw e;
  }
  try {
    const x = decodeTensor(read('input_0.pb'), set, 'input_0.pb');
    const want = decodeTensor(read('output_0.pb'), set, 'output_0.pb');
    const got = tf.tidy(() => {
      const outs = run(net, toNhwc(tf.tensor(Float32Array.from(x.data), x.dims)));
      const y = outs[net.ops.findIndex((o) => o.name === net.output)];
      return (want.dims.length === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y).dataSync() as Float32Array;
    });
    assert.equal(got.length, want.data.length, `${path.basename(dir)}: ${got.length} values, expected ${want.data.length}`);
    return { error: relError(got, Float32Array.from(want.data)) };
  } finally {
    net.dispose();
  }
}

describe(
  "ONNX's single-op test cases (libonnx-testdata)",
  { skip: fs.existsSync(TESTDATA) ? false : `${TESTDATA} is missing (Debian package libonnx-testdata)` },
  () => {
    const folders = fs.existsSync(TESTDATA) ? fs.readdirSync(TESTDATA) : [];
    for (const [op, prefixes] of Object.entries(OP_CASES)) {
      it(op, async (t) => {
        const cases = folders.filter(
          (f) => prefixes.some((p) => f.startsWith(p)) && !f.endsWith('_expanded') && fs.existsSync(path.join(TESTDATA, f, 'test_data_set_0', 'output_0.pb')),
        );
        assert.ok(cases.length > 0, `test cases for ${op}`);
        const passed: string[] = [];
        const refused: string[] = [];
        const failed: string[] = [];
        for (const c of cases) {
          const r = runCase(path.join(TESTDATA, c), forward);
          if (r.refused !== undefined) refused.push(`${c}: ${r.refused.replace(/^.*?model\.onnx: /, '')}`);
          else if ((r.error ?? Infinity) <= 1e-4) passed.push(c);
          else failed.push(`${c}: ${r.error?.toExponential(2)}`);
        }
        t.diagnostic(`${op}: ${passed.length} passed, ${refused.length} not importable${refused.length ? ` (${refused.join('; ')})` : ''}`);
        assert.deepEqual(failed, [], `${op}: cases off ONNX's outputs by more than 1e-4 of their range`);
        assert.ok(passed.length > 0, `${op}: at least one case imports and matches`);
      });
    }
  },
);

// ---- Gradients: the digits CNN's input gradient against torch.autograd ----

describe('digits CNN input gradient against torch.autograd', { skip: haveZoo ? false : 'test/fixtures/zoo is missing' }, () => {
  it('d(logit of the predicted class)/d(input) through the forward pass, within 1e-4 of its range', async (t) => {
    const run = forward;
    const meta = JSON.parse(fs.readFileSync(path.join(ZOO, 'digits.saliency.json'), 'utf8')) as { shape: number[]; classes: number[] };
    const bin = fs.readFileSync(path.join(ZOO, 'digits.saliency.bin'));
    const want = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    const { values, data } = readRef('digits');
    const net = await loadOnnx(path.join(ZOO, 'digits.onnx'));
    try {
      const got = tf.tidy(() => {
        const x = toNhwc(tf.tensor(data(values[0]), values[0].shape));
        const out = net.ops.findIndex((o) => o.name === net.output);
        const mask = tf.oneHot(meta.classes, 10);
        const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(run(net, xi)[out], mask)))(x);
        return tf.transpose(g, [0, 3, 1, 2]).dataSync() as Float32Array;
      });
      const err = relError(got, want);
      t.diagnostic(`input gradient: ${err.toExponential(2)} of the range`);
      assert.ok(err <= 1e-4, `input gradient off torch.autograd by ${err.toExponential(2)} of its range`);
    } finally {
      net.dispose();
    }
  });

  it('the saliency method (src/engine/methods/saliency.ts) on the digits CNN matches torch.autograd, per image and class', async (t) => {
    const meta = JSON.parse(fs.readFileSync(path.join(ZOO, 'digits.saliency.json'), 'utf8')) as { shape: number[]; classes: number[] };
    const bin = fs.readFileSync(path.join(ZOO, 'digits.saliency.bin'));
    const want = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    const { values, data } = readRef('digits');
    const net = await loadOnnx(path.join(ZOO, 'digits.onnx'));
    try {
      const layer = net.layers.findIndex((l) => l.name === net.output);
      assert.equal(net.layers[layer]?.name, 'fc', 'the logits are the layer fc');
      const per = 28 * 28;
      const got = new Float32Array(want.length);
      tf.tidy(() => {
        const x = toNhwc(tf.tensor(data(values[0]), values[0].shape));
        meta.classes.forEach((cls, i) => {
          const map = saliency(net, layer, cls, tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), false);
          got.set(map.dataSync(), i * per); // one channel: NHWC and NCHW agree
        });
      });
      const err = relError(got, want);
      t.diagnostic(`saliency: ${err.toExponential(2)} of the range`);
      assert.ok(err <= 1e-4, `saliency off torch.autograd by ${err.toExponential(2)} of its range`);
    } finally {
      net.dispose();
    }
  });
});

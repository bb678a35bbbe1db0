// `feature-lens render`: scans when there is no index, then writes the weights, top-images and class × layer
// PNGs; each decodes with pngjs and shows what it should (not blank, the colours where they belong).
// `feature-lens top`: a node's top images by each score, against the layer's feature maps computed here.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/runtime/backend';
import { UserError } from '../../src/engine/runtime/errors';
import { makeJob } from '../../src/engine/runtime/job';
import { loadModel, saveModel } from '../../src/engine/models/modelIO';
import { renderNode } from '../../src/engine/cli/figures';
import * as tf from '../../src/engine/runtime/tf';
import { DIGIT_CLASSES, mnistDigits, smallCnn, writeMnistLens } from './scanFixtures';

function decode(file: string): PNG {
  return PNG.sync.read(fs.readFileSync(file));
}

/** Number of distinct colours in the image, and the share of pixels that are not white. */
function stats(png: PNG): { colours: number; inked: number } {
  const set = new Set<number>();
  let inked = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const [r, g, b] = [png.data[i * 4], png.data[i * 4 + 1], png.data[i * 4 + 2]];
    set.add((r << 16) | (g << 8) | b);
    if (r !== 255 || g !== 255 || b !== 255) inked++;
  }
  return { colours: set.size, inked: inked / (png.width * png.height) };
}

describe('render', () => {
  let dir: string;
  let lens: string;
  before(async () => {
    await initBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-render-'));
    lens = writeMnistLens(dir, 120);
    const model = smallCnn(4);
    await saveModel(model, path.join(dir, 'model', 'model.json'));
    model.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes non-blank PNGs for a conv node, scanning first', async () => {
    const out = path.join(dir, 'out');
    await loadModel(path.join(dir, 'model', 'model.json')); // the model's own weights stay cached
    const before = tf.memory().numTensors;
    const messages: string[] = [];
    const r = await renderNode(
      { lens, layer: '0', node: 3, out, storageDir: path.join(dir, 'index'), k: 5 },
      makeJob((p) => p.message && messages.push(p.message)),
    );
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.ok(
      fs.readdirSync(path.join(dir, 'index')).some((f) => f.endsWith('.flix')),
      'the scan wrote an index',
    );
    const scanMessage = /\d+ of \d+ images/;
    assert.ok(
      messages.some((m) => scanMessage.test(m)),
      `the first render scanned: ${messages.join(' | ')}`,
    );
    const pngs = r.files.filter((f) => f.endsWith('.png'));
    assert.equal(pngs.length, 3, r.files.join(', '));
    for (const f of pngs) {
      const s = stats(decode(f));
      assert.ok(s.colours > 8 && s.inked > 0.2, `${path.basename(f)}: ${s.colours} colours, ${(s.inked * 100).toFixed(0)}% inked`);
    }
    const summary = JSON.parse(
      fs.readFileSync(
        r.files.find((f) => f.endsWith('.json'))!,
        'utf8',
      ),
    );
    assert.equal(summary.top.length, 5);
    // The top figure: 5 columns; in the input row, each column shows its digit (grey, dark background, bright strokes).
    const top = decode(pngs.find((f) => f.endsWith('-top.png'))!);
    const cell = Math.floor(84 / 28) * 28;
    assert.equal(top.width, 5 * (cell + 8) + 8);
    assert.equal(top.height, 16 + 3 * (cell + 8) + 8);
    let bright = 0;
    for (let y = 16; y < 16 + cell; y++) {
      for (let x = 8; x < 8 + cell; x++) {
        const o = (y * top.width + x) * 4;
        assert.ok(top.data[o] === top.data[o + 1] && top.data[o + 1] === top.data[o + 2], 'the input row is grey');
        if (top.data[o] > 200) bright++;
      }
    }
    assert.ok(bright > 0.05 * cell * cell, 'the first digit has strokes');
    // A second render reuses the index (no scan message, the index folder byte-identical) and a pooling layer
    // has no weights figure.
    const indexDir = path.join(dir, 'index');
    const indexFiles = () => new Map(fs.readdirSync(indexDir).map((f) => [f, fs.readFileSync(path.join(indexDir, f))]));
    const indexBefore = indexFiles();
    const messages2: string[] = [];
    const again = await renderNode(
      { lens, layer: '1', node: 2, out: path.join(dir, 'out2'), storageDir: indexDir, k: 3 },
      makeJob((p) => p.message && messages2.push(p.message)),
    );
    assert.ok(messages2.length > 0 && !messages2.some((m) => scanMessage.test(m)), `the second render did not scan: ${messages2.join(' | ')}`);
    assert.deepEqual(indexFiles(), indexBefore, 'the index folder is unchanged');
    assert.ok(!again.files.some((f) => f.endsWith('-weights.png')));
    assert.equal(again.files.filter((f) => f.endsWith('.png')).length, 2);
  });

  it('--method: every projection of the node page, and activation maximization, as non-blank PNGs', async () => {
    const indexDir = path.join(dir, 'index');
    const before = tf.memory().numTensors;
    for (const method of ['deconv-noswitch', 'guided', 'saliency', 'gradcam', 'maximize']) {
      const r = await renderNode({ lens, layer: '2', node: 1, out: path.join(dir, `m-${method}`), storageDir: indexDir, k: 3, method }, makeJob());
      const summary = JSON.parse(
        fs.readFileSync(
          r.files.find((f) => f.endsWith('.json'))!,
          'utf8',
        ),
      );
      assert.equal(summary.method, method);
      assert.equal(summary.projectionError, undefined, method);
      const pngs = r.files.filter((f) => f.endsWith('.png'));
      assert.equal(pngs.length, method === 'maximize' ? 4 : 3, `${method}: ${r.files.join(', ')}`);
      for (const f of pngs) {
        const st = stats(decode(f));
        assert.ok(st.colours > 8 && st.inked > 0.2, `${method} ${path.basename(f)}: ${st.colours} colours, ${(st.inked * 100).toFixed(0)}% inked`);
      }
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    await assert.rejects(
      renderNode({ lens, layer: '2', node: 1, out: path.join(dir, 'm-x'), storageDir: indexDir, k: 3, method: 'nope' }, makeJob()),
      /--method must be one of deconv, deconv-noswitch, guided, saliency, gradcam, maximize/,
    );
  });

  it('feature-lens top lists the top images by each score, as the feature maps rank them', async () => {
    // The reference: node 3 of the first conv layer on the 120 test images, each map reduced three ways.
    const model = smallCnn(4);
    const { images, labels } = mnistDigits(120, 0);
    const maps = tf.tidy(() => {
      const out = model.layers[0].apply(tf.tensor4d(images, [120, 28, 28, 1])) as tf.Tensor4D;
      return tf.reshape(tf.slice(out, [0, 0, 0, 3], [120, 26, 26, 1]), [120, 26 * 26]).arraySync() as number[][];
    });
    model.dispose();
    const reduce = {
      frobenius: (m: number[]) => Math.sqrt(m.reduce((a, v) => a + v * v, 0)),
      max: (m: number[]) => Math.max(...m),
      mean: (m: number[]) => m.reduce((a, v) => a + v, 0) / m.length,
    };
    const cli = path.resolve(__dirname, '../../dist/engine.js');
    /** `feature-lens top` on node 3 of layer 0, with the index folder of the test above; its stdout. */
    const top = (...args: string[]) => {
      const r = spawnSync(process.execPath, [cli, 'top', lens, '--layer', '0', '--node', '3', '--storage', path.join(dir, 'index'), ...args], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
    for (const metric of ['frobenius', 'max', 'mean'] as const) {
      const scores = maps.map(reduce[metric]);
      const want = [...scores].sort((a, b) => b - a).slice(0, 5);
      const got = JSON.parse(top('--metric', metric, '--k', '5', '--json')).result as {
        metric: string;
        layer: number;
        node: number;
        top: { index: number; score: number; label: number; className: string }[];
      };
      assert.equal(got.metric, metric);
      assert.equal(got.top.length, 5);
      got.top.forEach((t, i) => {
        assert.ok(close(t.score, want[i]), `${metric} #${i + 1}: score ${t.score}, the feature maps rank #${i + 1} at ${want[i]}`);
        assert.ok(close(t.score, scores[t.index]), `${metric} #${i + 1}: image ${t.index} listed at ${t.score}, its feature map scores ${scores[t.index]}`);
        assert.equal(t.label, labels[t.index]);
        assert.equal(t.className, DIGIT_CLASSES[labels[t.index]]);
      });
    }
    // More images than the stored index holds per node (9): a new scan for 12, not a list cut short.
    const twelve = (JSON.parse(top('--metric', 'max', '--k', '12', '--json')).result.top as { score: number }[]).map((t) => t.score);
    const maxScores = maps
      .map(reduce.max)
      .sort((a, b) => b - a)
      .slice(0, 12);
    assert.equal(twelve.length, 12);
    twelve.forEach((v, i) => assert.ok(close(v, maxScores[i]), `k = 12, #${i + 1}: ${v} vs ${maxScores[i]}`));
    // Without --json: a heading naming the layer, node and score, then one line per image, best first.
    const lines = top('--metric', 'max', '--k', '3').trim().split('\n');
    assert.match(lines[0], /\(layer 0\) node 3, by maximum activation:$/);
    assert.equal(lines.length, 4);
    lines.slice(1).forEach((l, i) => assert.match(l, new RegExp(`^\\s*${i + 1}\\. #\\d+ \\d  \\d`)));
  });

  it('accepts layer names, draws dense nodes, and refuses unknown layers', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1], name: 'flat' }),
        tf.layers.dense({ units: 4, activation: 'relu', name: 'hidden' }),
        tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' }),
      ],
    });
    const sub = path.join(dir, 'dense');
    fs.mkdirSync(sub);
    const lens2 = writeMnistLens(sub, 60);
    await saveModel(model, path.join(sub, 'model', 'model.json'));
    model.dispose();
    const r = await renderNode({ lens: lens2, layer: 'hidden', node: 1, out: path.join(sub, 'out'), storageDir: path.join(sub, 'index'), k: 4 }, makeJob());
    const weights = r.files.find((f) => f.endsWith('hidden-1-weights.png'));
    assert.ok(weights, r.files.join(', '));
    const w = decode(weights);
    // The weights tile is the unit's 784 weights as a 28×28 image in a diverging map: reds and blues both present.
    let red = 0;
    let blue = 0;
    for (let i = 0; i < w.width * w.height; i++) {
      const [rr, , bb] = [w.data[i * 4], w.data[i * 4 + 1], w.data[i * 4 + 2]];
      if (rr > bb + 40) red++;
      if (bb > rr + 40) blue++;
    }
    assert.ok(red > 500 && blue > 500, `red ${red}, blue ${blue}`);
    await assert.rejects(
      renderNode({ lens: lens2, layer: 'nope', node: 0, out: path.join(sub, 'x'), storageDir: path.join(sub, 'index'), k: 3 }, makeJob()),
      (e: unknown) => e instanceof UserError && /No layer "nope"/.test(e.message) && e.message.includes(lens2),
    );
  });
});

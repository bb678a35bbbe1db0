// The `feature-lens` command line (the built engine bundle run from a shell): `info` on good and bad models,
// `--json`, and usage errors. Errors are one line on stderr with a non-zero exit.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/backend';
import { saveModel } from '../../src/engine/modelIO';
import * as tf from '../../src/engine/tf';

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
    assert.deepEqual(out.result.layers.map((l: { name: string; params: number }) => [l.name, l.params]), [['hidden', 1568], ['logits', 9]]);
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

// Checkpoint series without training (issue 14): the recipe's `checkpoints` field, the epochs it keeps, a lens's
// own pattern (natural order, the folder it reads among the paths the workspace guard checks).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { lensFilePaths, parseLens } from '../../src/engine/lens/lens';
import { checkpointEpochs, checkpointSeries, globFiles } from '../../src/engine/training/checkpoints';

const recipe = (checkpoints: unknown) => ({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }], epochs: 10, checkpoints });
const lensOf = (extra: Record<string, unknown>, file = '/w/a.lens.json') =>
  parseLens({ name: 'a', model: 'model/model.json', dataset: { format: 'efl' }, ...extra }, file);

test('training.checkpoints: every N-th epoch or a list; a wrong value is one line naming the field', () => {
  assert.deepEqual([...checkpointEpochs(lensOf({ training: recipe({ every: 3 }) }).training!)], [3, 6, 9]);
  assert.deepEqual([...checkpointEpochs(lensOf({ training: recipe([1, 5, 12]) }).training!)], [1, 5], 'epochs beyond the run are not kept');
  assert.equal(lensOf({ training: recipe(undefined) }).training!.checkpoints, undefined);
  assert.throws(() => lensOf({ training: recipe([0]) }), /training\.checkpoints/);
  assert.throws(() => lensOf({ training: recipe({ every: 0 }) }), /training\.checkpoints\.every/);
  assert.throws(() => lensOf({ training: recipe({ every: 1, often: true }) }), /often/);
});

test("a lens's checkpoint pattern: natural order, epochs from the paths, its folder among the lens's paths", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-ckpt-'));
  try {
    fs.mkdirSync(path.join(dir, 'ckpt'));
    for (const e of [10, 2, 1]) fs.writeFileSync(path.join(dir, 'ckpt', `epoch-${e}.onnx`), '');
    fs.writeFileSync(path.join(dir, 'ckpt', 'notes.txt'), '');
    assert.deepEqual(
      (await globFiles(path.join(dir, 'ckpt/epoch-*.onnx'))).map((f) => path.basename(f)),
      ['epoch-1.onnx', 'epoch-2.onnx', 'epoch-10.onnx'],
    );
    const lens = lensOf({ checkpoints: 'ckpt/epoch-*.onnx' }, path.join(dir, 'a.lens.json'));
    assert.ok(lensFilePaths(lens).includes(path.join(dir, 'ckpt')));
    assert.deepEqual(
      (await checkpointSeries(lens)).map((c) => c.epoch),
      [1, 2, 10],
    );
    const none = lensOf({ checkpoints: 'other/*.onnx' }, path.join(dir, 'a.lens.json'));
    await assert.rejects(checkpointSeries(none), (e: Error) => e.message.startsWith(path.join(dir, 'a.lens.json')) && /no file matches/.test(e.message));
    await assert.rejects(checkpointSeries(lensOf({}, path.join(dir, 'a.lens.json'))), /has no checkpoints: add "checkpoints"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

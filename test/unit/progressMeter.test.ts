// A long job's notification: throughput and time left from the engine's counts, restarts measured afresh,
// and a training's attempts explained.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, ProgressMeter } from '../../src/extension/progressMeter';

describe('ProgressMeter', () => {
  it('adds images/s and the time left once the job ran long enough, measured from its first report', () => {
    let t = 0;
    const m = new ProgressMeter(() => t);
    const train = { epoch: 1, epochs: 2, batch: 10, batches: 100, loss: 0.5, accuracy: 0.9 };
    assert.equal(m.message({ train, count: { done: 1000, total: 20000, unit: 'images' } }), 'epoch 1/2, batch 10/100, loss 0.5000, accuracy 90.0%');
    t = 1000;
    assert.equal(m.message({ count: { done: 3000, total: 20000, unit: 'images' } }), undefined, 'too early to say');
    t = 3000;
    // 4000 images in 3 s since the first report: 1333 images/s, 16000 left: 12 s.
    assert.equal(
      m.message({ train, count: { done: 5000, total: 20000, unit: 'images' } }),
      'epoch 1/2, batch 10/100, loss 0.5000, accuracy 90.0% · 1,333 images/s, about 11 s left',
    );
  });

  it('starts measuring again when a training restarts its count, and explains the attempts', () => {
    let t = 0;
    const m = new ProgressMeter(() => t);
    m.message({ count: { done: 0, total: 100, unit: 'steps' } });
    t = 10_000;
    assert.match(m.message({ count: { done: 50, total: 100, unit: 'steps' } })!, /^5\.0 steps\/s, about 10 s left$/);
    t = 11_000;
    const train = { epoch: 1, epochs: 8, batch: 1, batches: 10, loss: 1, accuracy: 0.1, attempt: 12, attempts: 20 };
    const text = m.message({ train, count: { done: 5, total: 100, unit: 'steps' } })!;
    assert.match(text, /^attempt 12 of at most 20 \(earlier seeds fell short of the recipe's minimum training accuracy, "training\.restarts"\), epoch 1\/8/);
    assert.doesNotMatch(text, /steps\/s/, 'a new run has no speed yet');
  });

  it('writes durations as a person would', () => {
    assert.equal(formatDuration(0.2), '1 s');
    assert.equal(formatDuration(45), '45 s');
    assert.equal(formatDuration(200), '3 min 20 s');
    assert.equal(formatDuration(3900), '1 h 05 min');
  });
});

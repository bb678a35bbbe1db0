// The node page's time-lapse (issue 14), without a DOM or an engine: the chart's geometry worked out by hand
// (score line broken at checkpoints not computed, overlap bars of consecutive top-k lists, the cursor), the
// overlap against a brute-force count, the host's frame cache (kept per node and view, dropped when the series
// changes, least recently used first), the frame message built from an engine frame, and the webview's request
// checked at the boundary.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { timelapseChartLayout, timelapsePoints, topOverlap, type FrameScores } from '../../src/webview/timelapseChartLayout';
import { TimelapseCache, timelapseFrameMessage } from '../../src/extension/pages/nodeTimelapse';
import { parseWebviewMessage } from '../../src/shared/webviewChecks';
import type { TimelapseFrame } from '../../src/shared/protocol';
import type { TimelapseFrameMessage } from '../../src/shared/webviewProtocol';

test('top-k overlap: the share of k both lists hold, against a brute-force count', () => {
  assert.equal(topOverlap([1, 2, 3, 4], [4, 3, 9, 8], 4), 0.5);
  assert.equal(topOverlap([], [1], 4), 0);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % 40);
  for (let trial = 0; trial < 50; trial++) {
    const a = [...new Set(Array.from({ length: 9 }, rnd))];
    const b = [...new Set(Array.from({ length: 9 }, rnd))];
    let shared = 0;
    for (const x of a) for (const y of b) if (x === y) shared++;
    assert.equal(topOverlap(a, b, 9), shared / 9);
  }
});

test('chart points: scores where computed, overlaps only between two computed neighbours', () => {
  const f = (topScore: number, topIndices: number[]): FrameScores => ({ topScore, topIndices, k: 4 });
  const frames = new Map([
    [0, f(1, [1, 2, 3, 4])],
    [1, f(2, [1, 2, 5, 6])],
    [3, f(4, [1, 7, 8, 9])],
  ]);
  assert.deepEqual(timelapsePoints([1, 2, 3, 4], frames), [{ epoch: 1, score: 1 }, { epoch: 2, score: 2, overlap: 0.5 }, { epoch: 3 }, { epoch: 4, score: 4 }]);
});

test('chart geometry, worked by hand: x by position, score from 0 to its max on the left, overlap 0..1 on the right', () => {
  // 420 × 140: plot from x 52 to 380 (328 wide), y 10 to 110 (100 high); 5 checkpoints 82 apart.
  const points = [{ epoch: 1, score: 2 }, { epoch: 2, score: 4, overlap: 0.25 }, { epoch: 3 }, { epoch: 5, score: 1, overlap: 1 }, { epoch: 10, score: 3 }];
  const L = timelapseChartLayout(points, 1);
  assert.deepEqual([L.width, L.height], [420, 140]);
  assert.deepEqual(
    L.scoreTicks.map((t) => [t.py, t.label]),
    [
      [110, '0'],
      [60, '2'],
      [10, '4'],
    ],
  );
  assert.deepEqual(
    L.overlapTicks.map((t) => [t.py, t.label]),
    [
      [110, '0%'],
      [60, '50%'],
      [10, '100%'],
    ],
  );
  assert.deepEqual(L.scoreSegments, [
    [
      [52, 60],
      [134, 10],
    ],
    [
      [298, 85],
      [380, 35],
    ],
  ]);
  // bars half a step wide (41, capped at 24), centred on their checkpoint
  assert.deepEqual(L.bars, [
    { x: 122, y: 85, w: 24, h: 25, overlap: 0.25 },
    { x: 286, y: 10, w: 24, h: 100, overlap: 1 },
  ]);
  assert.equal(L.cursor, 134);
  assert.deepEqual(
    L.xLabels.map((l) => [l.px, l.label]),
    [
      [52, '1'],
      [134, '2'],
      [216, '3'],
      [298, '5'],
      [380, '10'],
    ],
  );
});

test('chart geometry: one checkpoint sits in the middle; many label only the ends; nothing computed draws no line', () => {
  const one = timelapseChartLayout([{ epoch: 3, score: 1 }], 0);
  assert.deepEqual(one.scoreSegments, [[[216, 10]]]);
  const many = timelapseChartLayout(
    Array.from({ length: 60 }, (_, i) => ({ epoch: i + 1 })),
    undefined,
  );
  assert.deepEqual(
    many.xLabels.map((l) => l.label),
    ['1', '60'],
  );
  assert.deepEqual(many.scoreSegments, []);
  assert.equal(many.cursor, undefined);
  assert.deepEqual(
    many.scoreTicks.map((t) => t.label),
    ['0', '0.5', '1'],
    'no score yet: the axis runs 0 to 1',
  );
});

const frameMsg = (index: number, epoch: number): TimelapseFrameMessage => ({
  type: 'timelapseFrame',
  layer: 0,
  node: 1,
  index,
  epoch,
  method: 'deconv',
  metric: 'frobenius',
  items: [],
  topIndices: [],
  k: 9,
  topScore: 1,
  meanTopScore: 1,
});

test('frame cache: kept per series, in order; refused for another epoch; dropped when the series changes', () => {
  const c = new TimelapseCache();
  const key = TimelapseCache.key({ lens: 'a.lens.json', model: 'm.json', layer: 0, node: 1, method: 'deconv', metric: 'frobenius' });
  const other = TimelapseCache.key({ lens: 'a.lens.json', model: 'm.json', layer: 0, node: 1, method: 'saliency', metric: 'frobenius' });
  assert.equal(c.set(key, frameMsg(0, 1)), false, 'no series yet');
  assert.deepEqual(c.setEpochs(key, [1, 2, 3]), []);
  assert.equal(c.set(key, frameMsg(2, 3)), true);
  assert.equal(c.set(key, frameMsg(0, 1)), true);
  assert.equal(c.set(key, frameMsg(1, 5)), false, 'position 1 is epoch 2');
  assert.deepEqual(c.missing(key), [1]);
  assert.equal(c.get(other, 0), undefined, 'another projection method is another series');
  assert.deepEqual(
    c.setEpochs(key, [1, 2, 3]).map((f) => f.index),
    [0, 2],
    'the same series: frames kept, in series order',
  );
  assert.deepEqual(c.setEpochs(key, [1, 2, 3, 4]), [], 'retrained with another series: frames dropped');
  assert.deepEqual(c.missing(key), [0, 1, 2, 3]);
  c.clear();
  assert.equal(c.epochs(key), undefined);
});

test('frame cache: at most maxSeries series, the least recently used dropped', () => {
  const c = new TimelapseCache(2);
  const k = (node: number) => TimelapseCache.key({ lens: 'l', model: 'm', layer: 0, node, method: 'deconv', metric: 'max' });
  c.setEpochs(k(0), [1]);
  c.setEpochs(k(1), [1]);
  c.setEpochs(k(0), [1]);
  c.setEpochs(k(2), [1]);
  assert.deepEqual(c.epochs(k(0)), [1]);
  assert.equal(c.epochs(k(1)), undefined);
  assert.deepEqual(c.epochs(k(2)), [1]);
});

test("frame message from an engine frame: exact-size pixels, the top list's indices, the node's weights", () => {
  const big = new Float32Array(8).fill(0.5);
  const f: TimelapseFrame = {
    epoch: 4,
    model: '/m/epoch-4.json',
    weightsHash: 'h',
    layer: 2,
    weights: { layer: 2, nodes: [1], tiles: [[{ shape: [2, 2], data: new Float32Array([1, -1, 0.5, 0]) }]], rgb: false, min: -1, max: 1 } as never,
    top: [
      { index: 7, score: 3, label: 1 },
      { index: 5, score: 2, label: 0 },
    ],
    topScore: 3,
    meanTopScore: 2.5,
    items: [
      {
        entry: { index: 7, score: 3, label: 1 },
        className: 'one',
        image: { shape: [2, 2, 1], data: big.subarray(4) },
        featureMap: { shape: [1], data: new Float32Array([3]) },
      },
    ],
  };
  const m = timelapseFrameMessage(f, 3, 1, 'guided', 'frobenius', 9);
  assert.deepEqual([m.type, m.layer, m.node, m.index, m.epoch, m.method, m.k, m.topScore], ['timelapseFrame', 2, 1, 3, 4, 'guided', 9, 3]);
  assert.deepEqual(m.topIndices, [7, 5]);
  assert.equal(m.items[0].image.data.byteLength, 16, 'a view of a larger buffer is sent as its own bytes');
  assert.deepEqual([...new Float32Array(m.weights!.tiles[0][0].data)], [1, -1, 0.5, 0]);
});

test("the webview's time-lapse request is checked: an index or none", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'timelapse', index: 2 }), { type: 'timelapse', index: 2 });
  assert.deepEqual(parseWebviewMessage({ type: 'timelapse' }), { type: 'timelapse' });
  for (const index of [-1, 1.5, '2', Number.NaN]) assert.equal(parseWebviewMessage({ type: 'timelapse', index }), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'exportTimelapse', file: '/etc/passwd' }), { type: 'exportTimelapse' }, 'only the type is kept');
});

test('the GIF export proposes a name no file has', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { freeName } = await import('../../src/extension/pages/nodeTimelapse');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-free-'));
  try {
    assert.equal(freeName(dir, 'a', '.gif'), path.join(dir, 'a.gif'));
    fs.writeFileSync(path.join(dir, 'a.gif'), 'x');
    fs.writeFileSync(path.join(dir, 'a-2.gif'), 'x');
    assert.equal(freeName(dir, 'a', '.gif'), path.join(dir, 'a-3.gif'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

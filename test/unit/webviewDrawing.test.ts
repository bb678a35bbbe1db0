// The webview's drawing as pure functions (src/webview/raster.ts, chartLayout.ts), in plain Node (no DOM):
// values to pixels checked against hand-worked colours and decoded back to the values (scale and zero
// included), legends, and chart geometry worked out by hand.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { heatMapLayout, lineChartLayout } from '../../src/webview/chartLayout';
import { dims, legendBar, range, rasterize, type Rgba } from '../../src/webview/raster';

const px = (img: Rgba, i: number) => [...img.data.subarray(4 * i, 4 * i + 4)];
const WHITE = [255, 255, 255, 255];
const RED = [178, 24, 43, 255]; // ColorBrewer RdBu #b2182b at +lim
const BLUE = [33, 102, 172, 255]; // #2166ac at -lim

/** A signed pixel back to its value: green falls linearly from 255 at 0 to 24 at +lim and to 102 at -lim. */
function decode(img: Rgba, i: number, lim: number): number {
  const [r, g, b] = px(img, i);
  return r >= b ? ((255 - g) / 231) * lim : -((255 - g) / 153) * lim;
}

test('signed values: white at zero, the ends of the map at ±lim, clamped beyond; hand-worked halfway colours', () => {
  const img = rasterize([1, 7], [0, 2, -2, 1, -1, 5, Number.NaN], 'signed', { lim: 2 });
  assert.deepEqual([img.width, img.height], [7, 1]);
  assert.deepEqual(px(img, 0), WHITE);
  assert.deepEqual(px(img, 1), RED);
  assert.deepEqual(px(img, 2), BLUE);
  // +1 of 2: each channel halfway from 255 to the red end: 216.5, 139.5, 149 (rounded half up).
  assert.deepEqual(px(img, 3), [217, 140, 149, 255]);
  // -1 of 2: halfway to the blue end: 144, 178.5, 213.5.
  assert.deepEqual(px(img, 4), [144, 179, 214, 255]);
  assert.deepEqual(px(img, 5), RED, 'beyond +lim: clamped to the end');
  assert.deepEqual(px(img, 6), WHITE, 'NaN: white');
});

test('a weight tile decodes back to its values, scale and zero included, with the limit the legend shows', () => {
  // Weights with a positive bias (a zero point other than the middle of the range) and unequal ends.
  const w = Array.from({ length: 20 * 20 }, (_, i) => 0.3 + 0.9 * Math.sin(i * 0.37) - 0.2 * Math.cos(i * 0.11));
  // and values within a colour step of zero, where the colour hardly tells the sign (a trained layer has many).
  w.splice(0, 6, 0, -0.0061, 0.0054, -0.0046, 0.003, -0.009);
  const r = range(w);
  const { lo, hi } = legendBar('signed', r.min, r.max);
  assert.equal(hi, Math.max(Math.abs(r.min), Math.abs(r.max)));
  assert.equal(lo, -hi);
  const img = rasterize([20, 20], w, 'signed'); // the limit defaults to the data's largest magnitude, as the legend's
  let err = 0;
  for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(decode(img, i, hi) - w[i]));
  // One colour step is at most lim / 153; within a step of zero the colour does not tell the sign (the e2e
  // harness's SIGNED_TOLERANCE allows 1/50 of lim for that and the legend's rounding).
  assert.ok(err <= (2.5 * hi) / 153, `decoded weights within the colours' rounding (max error ${err}, limit ${hi})`);
  // A tile drawn with a wrong scale or around a wrong zero does not decode to the weights.
  const scaled = rasterize(
    [20, 20],
    w.map((v) => v * 0.8),
    'signed',
    { lim: hi },
  );
  const shifted = rasterize(
    [20, 20],
    w.map((v) => v - 0.1),
    'signed',
    { lim: hi },
  );
  for (const [name, bad] of [
    ['scaled', scaled],
    ['shifted', shifted],
  ] as const) {
    let e = 0;
    for (let i = 0; i < w.length; i++) e = Math.max(e, Math.abs(decode(bad, i, hi) - w[i]));
    assert.ok(e > (2.5 * hi) / 153, `${name}: the error shows (${e})`);
  }
});

test('images: gray in [0, 1] clamped, RGB for 3 channels unless one channel is asked, stretch to a range', () => {
  const gray = rasterize([1, 5, 1], [0, 0.5, 1, 1.5, -1], 'image');
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => px(gray, i)),
    [
      [0, 0, 0, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 255],
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ],
  );
  const rgb = [1, 0, 0.25, 0, 1, 0.75];
  assert.deepEqual(
    [px(rasterize([1, 2, 3], rgb, 'image'), 0), px(rasterize([1, 2, 3], rgb, 'image'), 1)],
    [
      [255, 0, 64, 255],
      [0, 255, 191, 255],
    ],
  );
  assert.deepEqual(px(rasterize([1, 2, 3], rgb, 'image', { channel: 2 }), 1), [191, 191, 191, 255]);
  assert.deepEqual(px(rasterize([1, 2, 3], rgb, 'image', { rgb: false }), 0), [255, 255, 255, 255], 'rgb: false draws channel 0');
  const stretched = rasterize([3], [10, 15, 20], 'image', { stretch: { min: 10, max: 20 } });
  assert.deepEqual(
    [0, 1, 2].map((i) => px(stretched, i)[0]),
    [0, 128, 255],
  );
  // Signed RGB (a first conv layer's filter): each channel (v/lim + 1)/2.
  assert.deepEqual(px(rasterize([1, 1, 3], [-1, 0, 1], 'signed', { lim: 1 }), 0), [0, 128, 255, 255]);
});

test('shapes: [h, w, c], [h, w] and a vector as one row; an empty image is 1×1', () => {
  assert.deepEqual(dims([4, 5, 3]), { h: 4, w: 5, c: 3 });
  assert.deepEqual(dims([4, 5]), { h: 4, w: 5, c: 1 });
  assert.deepEqual(dims([6]), { h: 1, w: 6, c: 1 });
  const empty = rasterize([0, 0], [], 'signed');
  assert.deepEqual([empty.width, empty.height, empty.data.length], [1, 1, 4]);
  assert.deepEqual(range([]), { min: 0, max: 0 });
  assert.deepEqual(range([3, Number.NaN, -1]), { min: -1, max: 3 });
});

test('legend bars: signed from -lim to +lim with white at the centre, image from black to white', () => {
  const s = legendBar('signed', -0.5, 2, 4);
  assert.deepEqual([s.lo, s.hi], [-2, 2]);
  // Pixel centres at -1.5, -0.5, 0.5, 1.5 of 2.
  const img = rasterize([4], [-1.5, -0.5, 0.5, 1.5], 'signed', { lim: 2 });
  assert.deepEqual([...s.bar.data], [...img.data]);
  const g = legendBar('image', 0, 1, 2);
  assert.deepEqual([g.lo, g.hi], [0, 1]);
  assert.deepEqual([...g.bar.data], [64, 64, 64, 255, 191, 191, 191, 255]);
});

test('line chart: the data range on four labelled steps, points placed in the plot area', () => {
  const L = lineChartLayout([{ name: 'loss', values: [1, 3] }]);
  assert.deepEqual([L.width, L.height], [420, 220]);
  assert.deepEqual(L.pad, { l: 58, r: 12, t: 12, b: 34 });
  // x 1 → left edge (58), x 2 → right edge (420 - 12); y 1 → bottom (220 - 34), y 3 → top (12).
  assert.deepEqual(L.lines[0].points, [
    [58, 186],
    [408, 12],
  ]);
  assert.deepEqual(
    L.yTicks.map((t) => t.label),
    ['1.00', '1.50', '2.00', '2.50', '3.00'],
  );
  assert.deepEqual(
    L.yTicks.map((t) => t.py),
    [186, 142.5, 99, 55.5, 12],
  );
  assert.deepEqual(
    L.xLabels.map((l) => l.label),
    ['1', '2'],
  );
  // Ticks close together get the decimals that tell them apart.
  const close = lineChartLayout([{ name: 'loss', values: [1.1046, 1.0986] }], { xLabel: 'epoch' });
  assert.equal(new Set(close.yTicks.map((t) => t.label)).size, 5, JSON.stringify(close.yTicks));
  assert.equal(close.xLabels[2].label, 'epoch');
});

test('line chart: fixed bounds, one value, no finite value', () => {
  const fixed = lineChartLayout([{ name: 'acc', values: [0.95, 0.97], x: [2, 4] }], { yMin: 0.9, yMax: 1, width: 200, height: 100 });
  assert.deepEqual([fixed.y.min, fixed.y.max, fixed.x.min, fixed.x.max], [0.9, 1, 2, 4]);
  const one = lineChartLayout([{ name: 'objective', values: [5] }]);
  assert.deepEqual([one.y.min, one.y.max], [5, 6]);
  assert.equal(one.lines[0].points.length, 1);
  const none = lineChartLayout([{ name: 'loss', values: [Number.NaN] }]);
  assert.deepEqual([none.y.min, none.y.max], [0, 1]);
});

test('heat map: cells coloured per column or overall, values written in cells that fit, a highlighted column', () => {
  const measure = (t: string) => 6 * t.length;
  const values = [
    [0, 2],
    [1, 4],
  ];
  const L = heatMapLayout(values, ['a', 'b'], ['conv1', 'dense'], measure, { normalize: 'column', highlightCol: 1 });
  assert.equal(L.cell, 44); // 520 / 2 columns, at most 44
  assert.equal(L.labelWidth, 30); // the narrowest label column
  assert.equal(L.headHeight, 5 * 6 * 0.75 + 10);
  assert.deepEqual([L.width, L.height], [30 + 2 * 44 + 4, L.headHeight + 2 * 44 + 4]);
  // Per column: white at the column's smallest value, full red at its largest.
  assert.deepEqual(
    L.cells.map((c) => c.rgb),
    [
      [255, 255, 255],
      [255, 255, 255],
      [178, 24, 43],
      [178, 24, 43],
    ],
  );
  assert.deepEqual(
    L.cells.map((c) => [c.x, c.y]),
    [
      [30, L.headHeight],
      [74, L.headHeight],
      [30, L.headHeight + 44],
      [74, L.headHeight + 44],
    ],
  );
  assert.deepEqual(
    L.cells.map((c) => c.text),
    ['0', '2', '1', '4'],
  );
  assert.deepEqual(
    L.cells.map((c) => c.dark),
    [false, false, true, true],
  );
  assert.deepEqual(L.highlight, { x: 30 + 44 - 1, y: L.headHeight - 1, w: 45, h: 89 });
  assert.deepEqual(
    L.colLabels.map((c) => c.highlight),
    [false, true],
  );
  const all = heatMapLayout(values, ['a', 'b'], ['x', 'y'], measure, { normalize: 'all', cell: 20 });
  // Overall: v / max|v| = 0, 0.5, 0.25, 1; no text in 20-pixel cells.
  assert.deepEqual(
    all.cells.map((c) => c.rgb),
    [
      [255, 255, 255],
      [217, 140, 149],
      [236, 197, 202],
      [178, 24, 43],
    ],
  );
  assert.ok(all.cells.every((c) => c.text === undefined));
  assert.equal(all.highlight, undefined);
});

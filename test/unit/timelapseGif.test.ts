// The node time-lapse as an animated GIF (issue 14): encoded with gifenc and read back with an independent
// decoder (gifDecode.ts): one frame per canvas at the largest size, padded with white, looping, each frame's
// pixels within the 16-bit palette's rounding of the original colours. Skipped, saying why, where gifenc is not
// installed (it is the dependency the export needs).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { encodeGif } from '../../src/engine/png/gifAnimation';
import { Canvas } from '../../src/engine/png/pngCanvas';
import { decodeGif } from './gifDecode';

const installed = (() => {
  try {
    require.resolve('gifenc');
    return true;
  } catch {
    return false;
  }
})();

test('frames in, the same frames out of an independent decoder', { skip: !installed && 'the npm package gifenc is not installed' }, () => {
  const a = new Canvas(30, 20, [255, 255, 255]);
  a.fill(0, 0, 10, 10, [178, 24, 43]);
  a.fill(10, 10, 20, 10, [33, 102, 172]);
  const b = new Canvas(24, 24, [0, 0, 0]);
  b.fill(4, 4, 8, 8, [240, 240, 240]);
  b.text(0, 14, '3', 2, [255, 200, 0]);
  const gif = decodeGif(encodeGif([a, b], 700));
  assert.deepEqual([gif.width, gif.height], [30, 24], 'the largest width and height');
  assert.equal(gif.loops, 0, 'loops forever');
  assert.deepEqual(
    gif.frames.map((f) => f.delayMs),
    [700, 700],
  );
  // Expected pixels: each canvas at the top left of a white frame.
  const expect = (cv: Canvas) => {
    const e = new Uint8Array(30 * 24 * 3).fill(255);
    for (let y = 0; y < cv.height; y++) e.set(cv.data.subarray(y * cv.width * 3, (y + 1) * cv.width * 3), y * 30 * 3);
    return e;
  };
  [a, b].forEach((cv, i) => {
    const want = expect(cv);
    let worst = 0;
    gif.frames[i].rgb.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - want[j]))));
    // rgb565: 5 bits of red and blue, 6 of green (steps of 8 and 4), and the palette's averaging within a bin.
    assert.ok(worst <= 8, `frame ${i}: largest channel error ${worst}`);
  });
});

test(
  'a long series: the palette from a sample of the pixels still holds every frame colour',
  { skip: !installed && 'the npm package gifenc is not installed' },
  () => {
    // 5 frames of 1000×1000 (more pixels than the palette is quantized from), each its own colour.
    const colours: [number, number, number][] = [
      [178, 24, 43],
      [33, 102, 172],
      [255, 255, 255],
      [0, 0, 0],
      [90, 180, 60],
    ];
    const gif = decodeGif(
      encodeGif(
        colours.map((c) => new Canvas(1000, 1000, c)),
        100,
      ),
    );
    assert.equal(gif.frames.length, 5);
    gif.frames.forEach((f, i) => {
      const [r, g, b] = f.rgb;
      assert.ok(Math.max(Math.abs(r - colours[i][0]), Math.abs(g - colours[i][1]), Math.abs(b - colours[i][2])) <= 8, `frame ${i}: ${[r, g, b]}`);
    });
  },
);

import type { Random } from './random';

/**
 * Random flips and rotations of a batch, in place: `images` is `[n, h, w, c]` float32.
 * Each image is flipped left–right with probability 1/2 when `flip`, and rotated about its centre by an
 * angle uniform in [-rotate, rotate] degrees (bilinear; pixels from outside take the nearest edge pixel,
 * so a uniform background stays uniform).
 */
export function augmentBatch(
  images: Float32Array,
  n: number,
  shape: readonly [number, number, number],
  opts: { flip: boolean; rotate: number },
  rnd: Random,
): void {
  const [h, w, c] = shape;
  const size = h * w * c;
  const tmp = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * size, (i + 1) * size);
    if (opts.flip && rnd.next() < 0.5) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w >> 1; x++) {
          for (let ch = 0; ch < c; ch++) {
            const a = (y * w + x) * c + ch;
            const b = (y * w + (w - 1 - x)) * c + ch;
            const t = img[a];
            img[a] = img[b];
            img[b] = t;
          }
        }
      }
    }
    if (opts.rotate > 0) {
      const angle = ((rnd.next() * 2 - 1) * opts.rotate * Math.PI) / 180;
      rotate(img, tmp, h, w, c, angle);
      img.set(tmp);
    }
  }
}

/** `out` = `img` rotated by `angle` radians about the centre (bilinear, edge-clamped). */
export function rotate(img: Float32Array, out: Float32Array, h: number, w: number, c: number, angle: number): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Inverse mapping: where in the source does output pixel (y, x) come from.
      const sx = Math.min(w - 1, Math.max(0, cos * (x - cx) + sin * (y - cy) + cx));
      const sy = Math.min(h - 1, Math.max(0, -sin * (x - cx) + cos * (y - cy) + cy));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(w - 1, x0 + 1);
      const y1 = Math.min(h - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let ch = 0; ch < c; ch++) {
        const v00 = img[(y0 * w + x0) * c + ch];
        const v01 = img[(y0 * w + x1) * c + ch];
        const v10 = img[(y1 * w + x0) * c + ch];
        const v11 = img[(y1 * w + x1) * c + ch];
        out[(y * w + x) * c + ch] = (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
      }
    }
  }
}

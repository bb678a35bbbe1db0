/**
 * Image parameterizations and transformations for activation maximization (Olah et al. 2017, "Feature
 * Visualization", Distill), written with ops that have gradients on every backend (wasm has no FFT, no
 * gather gradient and no `Transform` gradient):
 *
 * - Fourier basis: a learnable half spectrum A + iB (`[C, H, W/2+1]` each), scaled by 1 / max(frequency,
 *   1 / max(H, W)) · sqrt(HW), mapped to pixels by the inverse real 2-D DFT written as matrix products with
 *   precomputed cos/sin bases (equal to numpy's `irfft2`), then divided by 4, decorrelated in colour for RGB,
 *   and squashed into [0, 1] by a sigmoid.
 * - Pixel basis: sigmoid of a learnable `[H, W, C]` tensor.
 * - Robustness transforms: pad (constant 0.5), random scale (bilinear resize), random rotation (three
 *   shears, each a weighted sum of whole-pixel shifts), random crop back to H×W.
 */
import * as tf from '../runtime/tf';

/** A learnable image: `variables` to optimise and `image()` giving `[H, W, C]` float32 in [0, 1]. */
export interface ImageParam {
  variables: tf.Variable[];
  image(): tf.Tensor3D;
  dispose(): void;
}

/** Lucid's colour correlation square root (ImageNet statistics), for RGB decorrelation. */
const COLOR_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/**
 * Inverse real 2-D DFT bases for an `[H, W]` image from a half spectrum `[H, Wf]`, Wf = floor(W/2) + 1:
 * `y` = [cosY | -sinY; sinY | cosY] (`[2H, 2H]`, acting on [A; B]) and `x` = [CX; -SX] (`[2Wf, W]`) with the
 * Hermitian weights and the 1/(HW) normalization folded in.
 */
export function irfft2Bases(H: number, W: number): { y: Float32Array; x: Float32Array; Wf: number } {
  const Wf = Math.floor(W / 2) + 1;
  const y = new Float32Array(2 * H * 2 * H);
  for (let r = 0; r < H; r++) {
    for (let f = 0; f < H; f++) {
      const a = (2 * Math.PI * f * r) / H;
      const c = Math.cos(a);
      const s = Math.sin(a);
      // Real part rows 0..H-1: cos·A − sin·B; imaginary part rows H..2H-1: sin·A + cos·B.
      y[r * 2 * H + f] = c;
      y[r * 2 * H + H + f] = -s;
      y[(H + r) * 2 * H + f] = s;
      y[(H + r) * 2 * H + H + f] = c;
    }
  }
  const x = new Float32Array(2 * Wf * W);
  for (let f = 0; f < Wf; f++) {
    const w = f === 0 || (W % 2 === 0 && f === W / 2) ? 1 : 2;
    for (let col = 0; col < W; col++) {
      const a = (2 * Math.PI * f * col) / W;
      x[f * W + col] = (w * Math.cos(a)) / (H * W);
      x[(Wf + f) * W + col] = (-w * Math.sin(a)) / (H * W);
    }
  }
  return { y, x, Wf };
}

/**
 * The inverse real 2-D DFT of `[C, H, Wf]` spectra A + iB as `[H, W, C]`, by matrix products
 * (`bases` from `irfft2Bases`). Differentiable on every backend.
 */
export function irfft2(A: tf.Tensor3D, B: tf.Tensor3D, W: number, bases: { y: tf.Tensor2D; x: tf.Tensor2D }): tf.Tensor3D {
  return tf.tidy(() => {
    const [C, H, Wf] = A.shape;
    // [A; B] as [2H, C·Wf] (frequency y first).
    const ab = tf.concat([tf.reshape(tf.transpose(A, [1, 0, 2]), [H, C * Wf]), tf.reshape(tf.transpose(B, [1, 0, 2]), [H, C * Wf])], 0);
    const z = tf.matMul(bases.y, ab); // [2H, C·Wf]: real part then imaginary part
    const zr = tf.reshape(tf.slice(z, [0, 0], [H, C * Wf]), [H * C, Wf]);
    const zi = tf.reshape(tf.slice(z, [H, 0], [H, C * Wf]), [H * C, Wf]);
    const img = tf.matMul(tf.concat([zr, zi], 1), bases.x); // [H·C, W]
    return tf.transpose(tf.reshape(img, [H, C, W]), [0, 2, 1]) as tf.Tensor3D;
  });
}

/** The spectrum scale 1 / max(f, 1/max(H, W)) · sqrt(HW), `[H, Wf]`, f in cycles per pixel. */
function spectrumScale(H: number, W: number, Wf: number): Float32Array {
  const s = new Float32Array(H * Wf);
  for (let r = 0; r < H; r++) {
    const fy = (r <= H / 2 ? r : r - H) / H;
    for (let c = 0; c < Wf; c++) {
      const fx = c / W;
      s[r * Wf + c] = Math.sqrt(H * W) / Math.max(Math.sqrt(fy * fy + fx * fx), 1 / Math.max(H, W));
    }
  }
  return s;
}

/** A Fourier-basis image `[H, W, C]`; initial spectrum N(0, 0.01²) from `seed`. */
export function fourierImage(H: number, W: number, C: number, seed: number): ImageParam {
  const { y, x, Wf } = irfft2Bases(H, W);
  const bases = { y: tf.tensor2d(y, [2 * H, 2 * H]), x: tf.tensor2d(x, [2 * Wf, W]) };
  const scale = tf.tensor3d(spectrumScale(H, W, Wf), [1, H, Wf]);
  const a = randomVariable([C, H, Wf], seed);
  const b = randomVariable([C, H, Wf], seed + 1);
  const colour = C === 3 ? colourMatrix() : null;
  return {
    variables: [a, b],
    image: () =>
      tf.tidy(() => {
        let img: tf.Tensor = tf.div(irfft2(tf.mul(a, scale) as tf.Tensor3D, tf.mul(b, scale) as tf.Tensor3D, W, bases), 4);
        if (colour) img = tf.reshape(tf.matMul(tf.reshape(img, [H * W, 3]), colour), [H, W, 3]);
        return tf.sigmoid(img) as tf.Tensor3D;
      }),
    dispose: () => {
      tf.dispose([bases.y, bases.x, scale, a, b]);
      colour?.dispose();
    },
  };
}

function colourMatrix(): tf.Tensor2D {
  const maxNorm = Math.max(...[0, 1, 2].map((c) => Math.hypot(COLOR_SQRT[0][c], COLOR_SQRT[1][c], COLOR_SQRT[2][c])));
  // pixel (row) × Mᵀ / maxNorm
  const t = new Float32Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) t[i * 3 + j] = COLOR_SQRT[j][i] / maxNorm;
  return tf.tensor2d(t, [3, 3]);
}

/** A pixel-basis image: sigmoid of a learnable `[H, W, C]` tensor, initially N(0, 0.01²). */
export function pixelImage(H: number, W: number, C: number, seed: number): ImageParam {
  const p = randomVariable([H, W, C], seed);
  return { variables: [p], image: () => tf.tidy(() => tf.sigmoid(p) as tf.Tensor3D), dispose: () => p.dispose() };
}

/** A variable initialised from N(0, 0.01²) (the initial tensor is released: a variable keeps its own). */
function randomVariable(shape: number[], seed: number): tf.Variable {
  const init = tf.randomNormal(shape, 0, 0.01, 'float32', seed);
  const v = tf.variable(init);
  init.dispose();
  return v;
}

/**
 * Shifts `t` `[n, rows, c]` along its first axis by `shift(row)` pixels for each index of its second axis
 * (linear interpolation, zeros shifted in): one depthwise convolution whose channels are the (row, channel)
 * pairs, each with a kernel holding its two interpolation weights. Its input gradient exists on every
 * backend (wasm's is registered by kernels/), and it is much faster than a sum of pad/slice shifts.
 */
function shiftLines(t: tf.Tensor3D, shift: (row: number) => number): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, rows, c] = t.shape;
    const ch = rows * c;
    let reach = 1;
    for (let r = 0; r < rows; r++) reach = Math.max(reach, Math.ceil(Math.abs(shift(r))) + 1);
    reach = Math.min(reach, n);
    const K = 2 * reach + 1;
    const filter = new Float32Array(K * ch);
    for (let r = 0; r < rows; r++) {
      const d = shift(r);
      const i0 = Math.floor(d);
      const f = d - i0;
      // Cross-correlation with 'same' padding: out[x] = Σ_j filter[j] · in[x + j − reach]; we want
      // (1 − f) · in[x − i0] + f · in[x − i0 − 1].
      for (const [j, v] of [
        [reach - i0, 1 - f],
        [reach - i0 - 1, f],
      ] as const) {
        if (j >= 0 && j < K && v !== 0) for (let cc = 0; cc < c; cc++) filter[j * ch + r * c + cc] += v;
      }
    }
    const y = tf.depthwiseConv2d(tf.reshape(t, [1, 1, n, ch]) as tf.Tensor4D, tf.tensor4d(filter, [1, K, ch, 1]), 1, 'same');
    return tf.reshape(y, [n, rows, c]) as tf.Tensor3D;
  });
}

/**
 * Rotates `[H, W, C]` by `angle` radians about its centre with three shears (Paeth): along x by
 * −tan(angle/2), along y by sin(angle), along x again, on a canvas padded so that nothing is cut off
 * in between; zeros fill the corners.
 */
export function rotate(img: tf.Tensor3D, angle: number): tf.Tensor3D {
  if (angle === 0) return img;
  return tf.tidy(() => {
    const [h0, w0, c] = img.shape;
    const a = -Math.tan(angle / 2);
    const b = Math.sin(angle);
    // Room for the intermediate shears, so no content is cut off before the last one brings it back.
    const mx = Math.ceil((Math.abs(a) * (h0 - 1)) / 2) + 1;
    const my = Math.ceil((Math.abs(b) * (w0 + 2 * mx - 1)) / 2) + 1;
    const padded = tf.pad(img, [
      [my, my],
      [mx, mx],
      [0, 0],
    ]) as tf.Tensor3D;
    const [H, W] = padded.shape;
    const swap = (t: tf.Tensor3D) => tf.transpose(t, [1, 0, 2]) as tf.Tensor3D;
    // [W, H, C]: shift along x for each row y; [H, W, C]: shift along y for each column x.
    let t = shiftLines(swap(padded), (y) => a * (y - (H - 1) / 2));
    t = shiftLines(swap(t), (x) => b * (x - (W - 1) / 2));
    t = shiftLines(swap(t), (y) => a * (y - (H - 1) / 2));
    return tf.slice(swap(t), [my, mx, 0], [h0, w0, c]);
  });
}

export interface TransformRanges {
  /** Padding in pixels (constant 0.5) before scale and rotation. */
  pad: number;
  /** Scale factors are drawn from [1 - scale, 1 + scale]. */
  scale: number;
  /** Rotations are drawn from [-rotate, rotate] degrees. */
  rotate: number;
  /** Crop offsets jitter by up to this many pixels around the centre. */
  jitter: number;
}

/** Ranges for an `[H, W]` input, after Lucid's standard transforms scaled to the image size. */
export function defaultTransforms(H: number, W: number): TransformRanges {
  const size = Math.min(H, W);
  return { pad: Math.max(2, Math.ceil(size / 12)), scale: 0.1, rotate: 10, jitter: Math.max(1, Math.round(size / 14)) };
}

/**
 * A random robust view of `img` `[H, W, C]`, same size: pad, scale, rotate, crop with jitter.
 * Differentiable (pad, resizeBilinear, matMul, slice).
 */
export function randomView(img: tf.Tensor3D, r: TransformRanges, rand: () => number): tf.Tensor3D {
  return tf.tidy(() => {
    const [H, W] = img.shape;
    let t = tf.pad(
      img,
      [
        [r.pad, r.pad],
        [r.pad, r.pad],
        [0, 0],
      ],
      0.5,
    ) as tf.Tensor3D;
    const s = 1 + (2 * rand() - 1) * r.scale;
    const [ph, pw] = t.shape;
    const sh = Math.max(H, Math.round(ph * s));
    const sw = Math.max(W, Math.round(pw * s));
    if (sh !== ph || sw !== pw) t = tf.image.resizeBilinear(t, [sh, sw], true);
    const angle = (((2 * rand() - 1) * r.rotate) / 180) * Math.PI;
    t = rotate(t, angle);
    const cy = (sh - H) / 2;
    const cx = (sw - W) / 2;
    const oy = clampInt(Math.round(cy + (2 * rand() - 1) * r.jitter), 0, sh - H);
    const ox = clampInt(Math.round(cx + (2 * rand() - 1) * r.jitter), 0, sw - W);
    return tf.slice(t, [oy, ox, 0], [H, W, img.shape[2]]);
  });
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

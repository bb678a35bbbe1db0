/**
 * How alike two projections of the same image are, for the sanity check of projections (Adebayo et al.,
 * "Sanity Checks for Saliency Maps", NeurIPS 2018): a projection recomputed with randomized weights that stays
 * alike the trained one does not depend on what the network learned.
 *
 * - `spearman`: Spearman's rank correlation of the two maps' values (ties get their average rank); Adebayo et
 *   al. report it on absolute values too (`abs: true`).
 * - `ssim`: the structural similarity index (Wang et al. 2004) as scikit-image computes it by default: each
 *   map scaled to [0, 1] by its own min and max, a 7×7 uniform window (smaller for small maps), sample
 *   covariances, K1 = 0.01, K2 = 0.03, averaged over every window that fits inside the map, and over channels.
 */

/** Spearman's rank correlation of two equally long arrays; NaN when either is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>, abs = false): number {
  if (x.length !== y.length) throw new RangeError(`the two maps have ${x.length} and ${y.length} values`);
  const f = abs ? Math.abs : (v: number) => v;
  return pearson(ranks(Array.from(x, f)), ranks(Array.from(y, f)));
}

/** Ranks 1..n, tied values sharing their average rank. */
export function ranks(values: readonly number[]): Float64Array {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(values.length);
  for (let s = 0; s < order.length;) {
    let e = s;
    while (e + 1 < order.length && values[order[e + 1]] === values[order[s]]) e++;
    const rank = (s + e) / 2 + 1;
    for (let k = s; k <= e; k++) out[order[k]] = rank;
    s = e + 1;
  }
  return out;
}

/** Pearson's correlation; NaN when either array is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** SSIM of two maps of shape `[h, w, c]` (row-major, channels last); 1 for identical maps. */
export function ssim(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): number {
  const [h, w, c = 1] = shape;
  if (x.length !== h * w * c || y.length !== h * w * c)
    throw new RangeError(`maps of shape [${shape.join(', ')}] need ${h * w * c} values (got ${x.length} and ${y.length})`);
  const a = unitScaled(x);
  const b = unitScaled(y);
  let win = Math.min(7, h, w);
  if (win % 2 === 0) win--;
  const np = win * win;
  const covNorm = np > 1 ? np / (np - 1) : 1;
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  let total = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let top = 0; top + win <= h; top++) {
      for (let left = 0; left + win <= w; left++) {
        let sa = 0;
        let sb = 0;
        let saa = 0;
        let sbb = 0;
        let sab = 0;
        for (let r = top; r < top + win; r++) {
          for (let q = left; q < left + win; q++) {
            const i = (r * w + q) * c + ch;
            sa += a[i];
            sb += b[i];
            saa += a[i] * a[i];
            sbb += b[i] * b[i];
            sab += a[i] * b[i];
          }
        }
        const ua = sa / np;
        const ub = sb / np;
        const va = covNorm * (saa / np - ua * ua);
        const vb = covNorm * (sbb / np - ub * ub);
        const vab = covNorm * (sab / np - ua * ub);
        total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2));
        count++;
      }
    }
  }
  return total / count;
}

/** The values scaled to [0, 1] by their own min and max (all zeros when constant). */
function unitScaled(x: ArrayLike<number>): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const span = hi - lo;
  return Float64Array.from(x as ArrayLike<number>, (v) => (span > 0 ? (v - lo) / span : 0));
}

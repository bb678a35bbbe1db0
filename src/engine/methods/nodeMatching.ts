/**
 * Node matching between two networks (Li, Yosinski, Clune, Lipson & Hopcroft, "Convergent Learning: Do
 * different neural networks learn the same representations?", ICLR 2016): the Pearson correlation of every
 * node of a layer of network A with every node of a layer of network B, over the same images.
 *
 * One streaming pass: each batch adds sums and cross-products (no feature map is stored). A sample is one
 * image's value of every node: for a conv layer, the caller passes either each image's spatial mean per
 * channel (layers of different sizes) or one row per image and position (same spatial size, as Li et al.).
 *
 * corr(a, b) = cov(a, b) / (sd(a) · sd(b)); a node that is constant over the samples has no correlation (NaN).
 */

/** Accumulates Σa, Σb, Σa², Σb², Σab over samples, shifted by the first batch's means (no cancellation). */
export class CorrelationAccumulator {
  private readonly sumA: Float64Array;
  private readonly sumB: Float64Array;
  private readonly sqA: Float64Array;
  private readonly sqB: Float64Array;
  private readonly cross: Float64Array;
  private shiftA: Float64Array | null = null;
  private shiftB: Float64Array | null = null;
  private count = 0;

  constructor(
    readonly nodesA: number,
    readonly nodesB: number,
  ) {
    if (!(Number.isInteger(nodesA) && nodesA > 0 && Number.isInteger(nodesB) && nodesB > 0))
      throw new RangeError(`node counts must be positive integers (got ${nodesA}, ${nodesB})`);
    this.sumA = new Float64Array(nodesA);
    this.sqA = new Float64Array(nodesA);
    this.sumB = new Float64Array(nodesB);
    this.sqB = new Float64Array(nodesB);
    this.cross = new Float64Array(nodesA * nodesB);
  }

  /** Samples seen so far. */
  get samples(): number {
    return this.count;
  }

  /** Adds `n` samples: `a` is `[n, nodesA]`, `b` is `[n, nodesB]`, row-major, the same samples in the same order. */
  add(a: ArrayLike<number>, b: ArrayLike<number>, n: number): void {
    const na = this.nodesA;
    const nb = this.nodesB;
    if (a.length !== n * na || b.length !== n * nb)
      throw new RangeError(`a batch of ${n} samples needs ${n * na} and ${n * nb} values (got ${a.length} and ${b.length})`);
    if (n === 0) return;
    if (!this.shiftA || !this.shiftB) {
      this.shiftA = columnMeans(a, n, na);
      this.shiftB = columnMeans(b, n, nb);
    }
    const sa = this.shiftA;
    const sb = this.shiftB;
    const rowA = new Float64Array(na);
    const rowB = new Float64Array(nb);
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < na; i++) {
        const v = a[s * na + i] - sa[i];
        rowA[i] = v;
        this.sumA[i] += v;
        this.sqA[i] += v * v;
      }
      for (let j = 0; j < nb; j++) {
        const v = b[s * nb + j] - sb[j];
        rowB[j] = v;
        this.sumB[j] += v;
        this.sqB[j] += v * v;
      }
      for (let i = 0; i < na; i++) {
        const v = rowA[i];
        if (v === 0) continue;
        const base = i * nb;
        for (let j = 0; j < nb; j++) this.cross[base + j] += v * rowB[j];
      }
    }
    this.count += n;
  }

  /** `[nodesA * nodesB]`: corr of node i of A with node j of B at `i * nodesB + j`; NaN where either node is constant. */
  correlations(): Float64Array {
    const na = this.nodesA;
    const nb = this.nodesB;
    const n = this.count;
    const out = new Float64Array(na * nb).fill(NaN);
    if (n < 2) return out;
    const sdA = Float64Array.from(this.sqA, (q, i) => Math.sqrt(Math.max(0, q - (this.sumA[i] * this.sumA[i]) / n)));
    const sdB = Float64Array.from(this.sqB, (q, j) => Math.sqrt(Math.max(0, q - (this.sumB[j] * this.sumB[j]) / n)));
    for (let i = 0; i < na; i++) {
      for (let j = 0; j < nb; j++) {
        const d = sdA[i] * sdB[j];
        if (!(d > 0)) continue;
        const cov = this.cross[i * nb + j] - (this.sumA[i] * this.sumB[j]) / n;
        out[i * nb + j] = Math.max(-1, Math.min(1, cov / d));
      }
    }
    return out;
  }
}

function columnMeans(x: ArrayLike<number>, n: number, cols: number): Float64Array {
  const m = new Float64Array(cols);
  for (let s = 0; s < n; s++) for (let c = 0; c < cols; c++) m[c] += x[s * cols + c];
  for (let c = 0; c < cols; c++) m[c] /= n;
  return m;
}

/** A node of A and the node of B it is matched with. */
export interface NodeMatch {
  a: number;
  b: number;
  /** Their correlation (NaN when either is constant over the samples). */
  correlation: number;
}

/** Semi-matching (one-to-many): every node of A with its best-correlated node of B (ties: the lowest index). */
export function bestMatches(corr: ArrayLike<number>, nodesA: number, nodesB: number): NodeMatch[] {
  const out: NodeMatch[] = [];
  for (let i = 0; i < nodesA; i++) {
    let best = -1;
    let value = -Infinity;
    for (let j = 0; j < nodesB; j++) {
      const v = corr[i * nodesB + j];
      if (v > value) {
        value = v;
        best = j;
      }
    }
    out.push(best < 0 ? { a: i, b: 0, correlation: NaN } : { a: i, b: best, correlation: value });
  }
  return out;
}

/**
 * One-to-one matching maximizing the summed correlation (Li et al.'s bipartite matching), by the Hungarian
 * method (O(n²m)). With layers of different sizes, the larger one keeps some nodes unmatched. NaN counts as 0.
 */
export function oneToOneMatches(corr: ArrayLike<number>, nodesA: number, nodesB: number): NodeMatch[] {
  const transpose = nodesA > nodesB;
  const rows = transpose ? nodesB : nodesA;
  const cols = transpose ? nodesA : nodesB;
  const at = (r: number, c: number) => {
    const v = transpose ? corr[c * nodesB + r] : corr[r * nodesB + c];
    return Number.isNaN(v) ? 0 : v;
  };
  // Minimizes Σ cost with cost = -corr; 1-based arrays as in the classic potentials formulation.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const match = new Int32Array(cols + 1); // match[col] = row
  const way = new Int32Array(cols + 1);
  for (let r = 1; r <= rows; r++) {
    match[0] = r;
    let c0 = 0;
    const minv = new Float64Array(cols + 1).fill(Infinity);
    const used = new Uint8Array(cols + 1);
    do {
      used[c0] = 1;
      const r0 = match[c0];
      let delta = Infinity;
      let c1 = 0;
      for (let c = 1; c <= cols; c++) {
        if (used[c]) continue;
        const cur = -at(r0 - 1, c - 1) - u[r0] - v[c];
        if (cur < minv[c]) {
          minv[c] = cur;
          way[c] = c0;
        }
        if (minv[c] < delta) {
          delta = minv[c];
          c1 = c;
        }
      }
      for (let c = 0; c <= cols; c++) {
        if (used[c]) {
          u[match[c]] += delta;
          v[c] -= delta;
        } else minv[c] -= delta;
      }
      c0 = c1;
    } while (match[c0] !== 0);
    do {
      const c1 = way[c0];
      match[c0] = match[c1];
      c0 = c1;
    } while (c0);
  }
  const out: NodeMatch[] = [];
  for (let c = 1; c <= cols; c++) {
    if (!match[c]) continue;
    const r = match[c] - 1;
    const [a, b] = transpose ? [c - 1, r] : [r, c - 1];
    out.push({ a, b, correlation: corr[a * nodesB + b] });
  }
  return out.sort((x, y) => x.a - y.a);
}

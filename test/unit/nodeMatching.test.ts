// Node matching (Li et al. 2016) and the projection similarities of the sanity check (Adebayo et al. 2018),
// each against an independent computation: two-pass correlations, an exhaustive search over assignments,
// hand-worked ranks, and SSIM written out window by window from Wang et al.'s definition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestMatches, CorrelationAccumulator, oneToOneMatches } from '../../src/engine/methods/nodeMatching';
import { pearson, ranks, spearman, ssim } from '../../src/engine/methods/similarity';
import { values } from './numbers';

/** Two-pass Pearson correlation of column i of a with column j of b. */
function bruteCorr(a: Float32Array, b: Float32Array, n: number, na: number, nb: number, i: number, j: number): number {
  let ma = 0;
  let mb = 0;
  for (let s = 0; s < n; s++) {
    ma += a[s * na + i];
    mb += b[s * nb + j];
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let s = 0; s < n; s++) {
    const x = a[s * na + i] - ma;
    const y = b[s * nb + j] - mb;
    cov += x * y;
    va += x * x;
    vb += y * y;
  }
  return cov / Math.sqrt(va * vb);
}

test('streaming correlations over uneven batches equal two-pass correlations', () => {
  const n = 203;
  const na = 5;
  const nb = 7;
  // large offsets make a naive Σab − ΣaΣb/n lose digits; the shifted sums must not
  const a = Float32Array.from(values(n * na, 1), (v, k) => 1000 + v + (k % na));
  const b = Float32Array.from(values(n * nb, 2), (v, k) => -500 + v * 3 + 0.5 * a[Math.floor(k / nb) * na + (k % na)] * (k % nb < na ? 1 : 0));
  const acc = new CorrelationAccumulator(na, nb);
  for (const [s, e] of [
    [0, 1],
    [1, 50],
    [50, 50],
    [50, 203],
  ])
    acc.add(a.subarray(s * na, e * na), b.subarray(s * nb, e * nb), e - s);
  assert.equal(acc.samples, n);
  const corr = acc.correlations();
  let worst = 0;
  for (let i = 0; i < na; i++) for (let j = 0; j < nb; j++) worst = Math.max(worst, Math.abs(corr[i * nb + j] - bruteCorr(a, b, n, na, nb, i, j)));
  assert.ok(worst < 1e-9, `max difference ${worst}`);
  assert.ok(
    corr.some((c) => c > 0.1),
    'the constructed dependence shows',
  );
});

test('a node that never changes has no correlation (NaN), and is matched to nothing better than NaN', () => {
  const acc = new CorrelationAccumulator(2, 2);
  acc.add([0, 1, 0, 2, 0, 3], [1, 5, 2, 5, 3, 5], 3);
  const corr = acc.correlations();
  assert.ok(Number.isNaN(corr[0]) && Number.isNaN(corr[1]) && Number.isNaN(corr[3]));
  assert.ok(Math.abs(corr[2] - 1) < 1e-12);
  const best = bestMatches(corr, 2, 2);
  assert.deepEqual([best[1].a, best[1].b], [1, 0]);
  assert.ok(Number.isNaN(best[0].correlation));
});

test('a permuted, rescaled copy of a layer is matched back node for node with correlation 1', () => {
  const n = 64;
  const na = 6;
  const perm = [3, 0, 5, 1, 4, 2]; // node i of A is node perm[i] of B
  const a = values(n * na, 7);
  const b = new Float32Array(n * na);
  for (let s = 0; s < n; s++) for (let i = 0; i < na; i++) b[s * na + perm[i]] = 2.5 * a[s * na + i] + 1;
  const acc = new CorrelationAccumulator(na, na);
  acc.add(a, b, n);
  const corr = acc.correlations();
  for (const m of [...bestMatches(corr, na, na), ...oneToOneMatches(corr, na, na)]) {
    assert.equal(m.b, perm[m.a]);
    assert.ok(Math.abs(m.correlation - 1) < 1e-9);
  }
});

/** The best total over every injective assignment of the smaller side (exhaustive). */
function bruteBestTotal(corr: ArrayLike<number>, na: number, nb: number): number {
  let best = -Infinity;
  const rows = Math.min(na, nb);
  const cols = Math.max(na, nb);
  const at = (r: number, c: number) => (na <= nb ? corr[r * nb + c] : corr[c * nb + r]);
  const used = new Array(cols).fill(false);
  const walk = (r: number, total: number) => {
    if (r === rows) return void (best = Math.max(best, total));
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue;
      used[c] = true;
      walk(r + 1, total + at(r, c));
      used[c] = false;
    }
  };
  walk(0, 0);
  return best;
}

test('one-to-one matching reaches the best total of an exhaustive search, on square and rectangular layers', () => {
  for (const [na, nb, seed] of [
    [5, 5, 11],
    [4, 6, 12],
    [6, 3, 13],
    [1, 4, 14],
  ]) {
    const corr = Float64Array.from(values(na * nb, seed));
    const matches = oneToOneMatches(corr, na, nb);
    assert.equal(matches.length, Math.min(na, nb));
    assert.equal(new Set(matches.map((m) => m.a)).size, matches.length);
    assert.equal(new Set(matches.map((m) => m.b)).size, matches.length);
    const total = matches.reduce((s, m) => s + m.correlation, 0);
    assert.ok(Math.abs(total - bruteBestTotal(corr, na, nb)) < 1e-9, `${na}x${nb}: ${total} vs ${bruteBestTotal(corr, na, nb)}`);
  }
});

test('Spearman: hand-worked ranks with ties, and the absolute-value variant', () => {
  assert.deepEqual(Array.from(ranks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  // x ranks 1..5; y is a monotone but non-linear function of x: rho = 1 while Pearson is below 1
  const x = [1, 2, 3, 4, 5];
  const y = [1, 4, 9, 16, 100];
  assert.equal(spearman(x, y), 1);
  assert.ok(pearson(x, y) < 0.95);
  // reversed order: -1; with abs on a sign flip: 1
  assert.equal(spearman(x, [5, 4, 3, 2, 1]), -1);
  assert.equal(spearman([-1, -2, -3], [1, 2, 3], true), 1);
  // d = rank differences (0, 0, -1, 1, 0): rho = 1 - 6·Σd²/(n(n²-1)) = 1 - 12/120
  assert.ok(Math.abs(spearman(x, [1, 2, 4, 3, 5]) - 0.9) < 1e-12);
});

/** SSIM from the definition, window by window, two-pass statistics (no shared code with the module). */
function bruteSsim(x: number[], y: number[], h: number, w: number): number {
  const scale = (v: number[]) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return v.map((t) => (t - lo) / (hi - lo));
  };
  const a = scale(x);
  const b = scale(y);
  const win = 7;
  const scores: number[] = [];
  for (let t = 0; t + win <= h; t++) {
    for (let l = 0; l + win <= w; l++) {
      const pa: number[] = [];
      const pb: number[] = [];
      for (let r = t; r < t + win; r++) for (let q = l; q < l + win; q++) (pa.push(a[r * w + q]), pb.push(b[r * w + q]));
      const mean = (v: number[]) => v.reduce((s, u) => s + u, 0) / v.length;
      const ua = mean(pa);
      const ub = mean(pb);
      const cov = (p: number[], up: number, q: number[], uq: number) => p.reduce((s, _, k) => s + (p[k] - up) * (q[k] - uq), 0) / (p.length - 1);
      const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
      scores.push(((2 * ua * ub + c1) * (2 * cov(pa, ua, pb, ub) + c2)) / ((ua ** 2 + ub ** 2 + c1) * (cov(pa, ua, pa, ua) + cov(pb, ub, pb, ub) + c2)));
    }
  }
  return scores.reduce((s, v) => s + v, 0) / scores.length;
}

test('SSIM: 1 for the same map (any scale), the definition computed window by window otherwise', () => {
  const h = 12;
  const w = 9;
  const x = Array.from(values(h * w, 21));
  assert.ok(Math.abs(ssim(x, x, [h, w, 1]) - 1) < 1e-12);
  assert.ok(
    Math.abs(
      ssim(
        x,
        x.map((v) => 3 * v + 2),
        [h, w],
      ) - 1,
    ) < 1e-12,
    'scaled to [0, 1] first',
  );
  const y = x.map((v, i) => v + 0.8 * Math.sin(i));
  const want = bruteSsim(x, y, h, w);
  assert.ok(want < 0.95 && want > -1, `a different map scores ${want}`);
  assert.ok(Math.abs(ssim(x, y, [h, w, 1]) - want) < 1e-12);
  // channels are averaged: two identical channels give the single-channel value
  const x2 = x.flatMap((v) => [v, v]);
  const y2 = y.flatMap((v) => [v, v]);
  assert.ok(Math.abs(ssim(x2, y2, [h, w, 2]) - want) < 1e-12);
});

// Spearman's rank correlation and SSIM written out plainly, the references of the sanity check's similarities
// (sanity.test.ts, sanityMaps.test.ts).

/** Ranks 1..n with ties sharing their average rank, written out by sorting. */
export function rank(v: number[]): number[] {
  const sorted = [...v].sort((a, b) => a - b);
  return v.map((x) => {
    const first = sorted.indexOf(x);
    const last = sorted.lastIndexOf(x);
    return (first + last) / 2 + 1;
  });
}

export function pearson(x: number[], y: number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  x.forEach((_, i) => {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

/** SSIM of two `[n, n]` maps (Wang et al. 2004, scikit-image's defaults: min-max scaled, 7×7 windows inside the map, sample variances). */
export function ssimRef(a0: number[], b0: number[], n: number): number {
  const scale = (v: number[]) => {
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    return v.map((x) => (x - lo) / (hi - lo));
  };
  const a = scale(a0);
  const b = scale(b0);
  const win = 7;
  let total = 0;
  let count = 0;
  for (let r = 0; r + win <= n; r++) {
    for (let c = 0; c + win <= n; c++) {
      const wa: number[] = [];
      const wb: number[] = [];
      for (let i = r; i < r + win; i++) for (let j = c; j < c + win; j++) (wa.push(a[i * n + j]), wb.push(b[i * n + j]));
      const ma = wa.reduce((s, v) => s + v, 0) / wa.length;
      const mb = wb.reduce((s, v) => s + v, 0) / wb.length;
      let va = 0;
      let vb = 0;
      let cov = 0;
      wa.forEach((_, k) => {
        va += (wa[k] - ma) ** 2;
        vb += (wb[k] - mb) ** 2;
        cov += (wa[k] - ma) * (wb[k] - mb);
      });
      va /= wa.length - 1;
      vb /= wa.length - 1;
      cov /= wa.length - 1;
      const c1 = 0.01 ** 2;
      const c2 = 0.03 ** 2;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

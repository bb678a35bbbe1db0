/**
 * The smallest and largest value of an array: the one definition for the engine, the host and the webview
 * (legends, charts, page data). `{0, 0}` when it has no value but NaN; NaN is passed over.
 */
export function range(data: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

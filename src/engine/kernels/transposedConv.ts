/**
 * The input gradient of a convolution as a stride-1 convolution (shared by `Conv2DBackpropInput` and
 * `DepthwiseConv2dNativeBackpropInput`):
 *
 *   dx[n, h, w, :] = Σ_{kh, kw} dyd[n, h + kh·d − P, w + kw·d − Q, :] · W[KH−1−kh, KW−1−kw]
 *
 * where `dyd` is `dy` with `s − 1` zeros inserted between rows/columns (the stride) and
 * `P = (KH−1)·d − padTop`. So: dilate `dy`, pad it (or crop, for large explicit pads) to
 * `H + (KH−1)·d` rows, and run a valid stride-1 convolution with the filter rotated by 180°.
 */
import { dilateSpatial, free, type Info, padSpatial, type WasmBackend } from './wasmOps';

export interface TransposedGeometry {
  inHeight: number;
  inWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** `dy` `[N, OH, OW, C]` dilated and padded so a valid stride-1 conv gives `[N, H, W, ·]`. */
export function spreadForTransposedConv(b: WasmBackend, dy: Info, g: TransposedGeometry): Info {
  const dyd = dilateSpatial(b, dy, g.strideHeight, g.strideWidth);
  const effH = (g.filterHeight - 1) * g.dilationHeight;
  const effW = (g.filterWidth - 1) * g.dilationWidth;
  const top = effH - g.padTop;
  const left = effW - g.padLeft;
  const bottom = g.inHeight + effH - top - dyd.shape[1];
  const right = g.inWidth + effW - left - dyd.shape[2];
  const out = padSpatial(b, dyd, top, bottom, left, right);
  free(b, dyd);
  return out;
}

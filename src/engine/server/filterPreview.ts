/**
 * The first filters of a layer as one small PNG, for the editor's hover over a layer (extension/codeInsight.ts
 * puts it in the hover's Markdown as a `data:` URI, which VS Code truncates beyond 100,000 characters: the image is
 * kept far below that).
 */
import { checkLayer, nodeCount } from '../models/layerAccess';
import { WEIGHT_KINDS } from '../models/describeLayers';
import type { Network } from '../models/network';
import { Canvas } from '../png/pngCanvas';
import { diverging } from '../png/figureColors';
import { layerWeights } from '../methods/weights';

/** At most this many nodes, and this many tiles (input channels) of each. */
export const PREVIEW_NODES = 8;
export const PREVIEW_TILES = 8;
/** Tiles are magnified to about this many pixels across (never shrunk below one pixel per value). */
const TILE_TARGET = 40;
/** Distinct values drawn at most (one per pixel before magnification): bounds the PNG's size. */
const MAX_VALUES = 8_192;
const GAP = 2;
/** Kernels larger than this many values get no preview. */
const MAX_KERNEL = 4_000_000;
const BACKGROUND: [number, number, number] = [128, 128, 128];

/** The layout of a preview: what to draw of each of the first `nodes` nodes, and the PNG's size. */
export interface PreviewLayout {
  nodes: number;
  /** Tiles drawn per node (in a row), or 1 when each node is one tile (nodes then wrap, `perRow` to a row). */
  tiles: number;
  perRow: number;
  /** Every `step`-th value of a tile, when its tiles are too large to draw whole. */
  step: number;
  scale: number;
  width: number;
  height: number;
}

/** Where each tile goes: node rows of their tiles, or (one tile per node) nodes wrapping in rows of `perRow`. */
export function previewLayout(nodeCount: number, tilesPerNode: number, h: number, w: number): PreviewLayout {
  const nodes = Math.min(nodeCount, tilesPerNode > 1 ? PREVIEW_NODES : 2 * PREVIEW_NODES);
  const tiles = Math.min(tilesPerNode, PREVIEW_TILES);
  const count = nodes * tiles;
  let step = 1;
  while (count * Math.ceil(h / step) * Math.ceil(w / step) > MAX_VALUES) step++;
  const [th, tw] = [Math.ceil(h / step), Math.ceil(w / step)];
  const scale = Math.max(1, Math.min(8, Math.floor(TILE_TARGET / Math.max(th, tw))));
  const perRow = tiles > 1 ? tiles : Math.min(nodes, PREVIEW_NODES);
  const rows = tiles > 1 ? nodes : Math.ceil(nodes / perRow);
  return { nodes, tiles, perRow, step, scale, width: GAP + perRow * (tw * scale + GAP), height: GAP + rows * (th * scale + GAP) };
}

/**
 * The first filters of layer `layer` as a PNG: the weights of its first nodes in the panel's colours (a diverging
 * blue–white–red map around 0 with the layer's largest magnitude at full colour; a 3-channel filter as RGB, each
 * channel (v / lim + 1) / 2), a node per row of its first input channels, or the nodes in rows when each is one
 * tile. Null for a layer whose weights are not images (no weights, or a dense layer on a flat input).
 */
export function filterPreview(net: Network, layer: number): Uint8Array | null {
  const l = checkLayer(net, layer);
  const op = net.ops[l.op];
  if (!WEIGHT_KINDS.has(op.kind) || (op.kind === 'conv2d' && op.groups !== 1)) return null;
  const kernel = (op.weights as { kernel?: { size: number } }).kernel;
  // A hover is not worth reading a huge kernel (VGG's first dense layer has 100 M weights): no preview.
  if (!kernel || kernel.size > MAX_KERNEL) return null;
  const first = layerWeights(net, layer, 0);
  const [h, w] = first.tiles[0][0].shape;
  if (h < 2 || w < 2) return null;
  const lim = Math.max(Math.abs(first.min), Math.abs(first.max));
  const layout = previewLayout(nodeCount(net, layer), first.tiles[0].length, h, w);
  const { nodes, tiles, perRow, step, scale } = layout;
  const all = { rgb: first.rgb, tiles: [first.tiles[0], ...Array.from({ length: nodes - 1 }, (_, i) => layerWeights(net, layer, i + 1).tiles[0])] };
  const [th, tw] = [Math.ceil(h / step), Math.ceil(w / step)];
  const cv = new Canvas(layout.width, layout.height, BACKGROUND);
  const unit = (v: number) => Math.round(255 * Math.max(0, Math.min(1, lim > 0 ? (v / lim + 1) / 2 : 0.5)));
  for (let n = 0; n < nodes; n++) {
    for (let t = 0; t < tiles; t++) {
      const tile = all.tiles[n][t];
      const c = tile.shape[2] ?? 1;
      const k = tiles > 1 ? t : n % perRow;
      const row = tiles > 1 ? n : Math.floor(n / perRow);
      const x0 = GAP + k * (tw * scale + GAP);
      const y0 = GAP + row * (th * scale + GAP);
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const i = (y * step * w + x * step) * c;
          const colour: [number, number, number] =
            c === 3 && all.rgb ? [unit(tile.data[i]), unit(tile.data[i + 1]), unit(tile.data[i + 2])] : diverging(tile.data[i], lim);
          cv.fill(x0 + x * scale, y0 + y * scale, scale, scale, colour);
        }
      }
    }
  }
  return new Uint8Array(cv.toPng());
}

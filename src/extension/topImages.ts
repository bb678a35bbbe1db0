/** The Top Activations tree as plain data: one entry per top image of the node shown, and how it looks. No vscode import. */
import { formatNumber } from '../shared/colorScale';
import type { LensInfo, TopActivationsResult } from '../shared/protocol';
import type { ItemView } from './treeModel';

/** One top-activating image of the selected node. */
export interface ImageEntry {
  kind: 'image';
  id: string;
  lens: string;
  model: string;
  layer: number;
  node: number;
  rank: number;
  index: number;
  score: number;
  className: string;
  /** A small PNG of the image (written by the engine), shown as the icon when present. */
  thumbnail?: string;
}

/** The Top Activations view's entries for one node. */
export function imageEntries(result: TopActivationsResult, lens: LensInfo, model: string): ImageEntry[] {
  return result.top.map((t, rank) => ({
    kind: 'image',
    id: `top:${lens.path}:${result.layer}:${result.node}:${rank}:${t.index}`,
    lens: lens.path,
    model,
    layer: result.layer,
    node: result.node,
    rank,
    index: t.index,
    score: t.score,
    className: lens.classes[t.label] ?? String(t.label),
  }));
}

/** A score in the tree: 4 significant digits with trailing zeros, so a column of scores lines up. */
function formatScore(score: number): string {
  return formatNumber(score, 4, true);
}

export function imageItemView(e: ImageEntry): ItemView {
  return {
    label: `#${e.index} ${e.className}`,
    description: formatScore(e.score),
    tooltip: `Rank ${e.rank + 1}: test image #${e.index} (${e.className}), score ${e.score}`,
    contextValue: 'image',
    collapsible: 'none',
    icon: 'file-media',
    iconFile: e.thumbnail,
    command: { id: 'featureLens.showDeconvolution', args: [{ lens: e.lens, model: e.model, layer: e.layer, node: e.node, image: e.index }] },
  };
}

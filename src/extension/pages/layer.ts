/** The layer page: every node's weights and the layer's feature maps for one test image, then the class chart. */
import type { LayerInspection, LensInfo } from '../../shared/protocol';
import { toPixels } from '../../shared/messagePacking';
import type { LayerPageMessage, PanelState } from '../../shared/webviewProtocol';
import { modelSummary, weightsView } from '../pageData';
import { baseTitle, layerTitle, sendByClass, type HostPage } from './page';

export const layerPage: HostPage<'layer'> = {
  kind: 'layer',
  title: (s, { model }) => `${baseTitle(s)} / ${layerTitle(s, model)}`,
  load: async (ctx, s) => {
    // Feature maps need test images: a lens whose dataset is missing still shows the weights.
    const lens = ctx.lens && ctx.lens.splits.test > 0 ? ctx.lens.path : undefined;
    // Without a lens file, the image the user picked on a node page (if any).
    const file = ctx.lens ? undefined : ctx.picked?.file;
    const r = await ctx.call('inspectLayer', { model: s.model, lens, layer: s.layer!, image: s.image, ...(file ? { file } : {}) });
    return layerPageMessage(r, s, ctx.lens, ctx.title, ctx.picked?.name);
  },
  after: async (ctx, s) => {
    if (ctx.lens) await sendByClass(ctx, s);
  },
};

export function layerPageMessage(r: LayerInspection, state: PanelState, lens: LensInfo | undefined, title: string, pickedName?: string): LayerPageMessage {
  const f = r.featureMaps;
  const picked = !lens && f && pickedName ? { picked: pickedName } : {};
  return {
    type: 'layer',
    title,
    state,
    model: modelSummary(r.model, lens),
    layer: r.layer,
    nodes: r.model.layers[r.layer].nodes,
    weights: r.weights ? weightsView(r.weights) : undefined,
    featureMaps: f
      ? {
          index: f.index,
          className: f.className,
          images: f.images,
          image: toPixels(f.image.shape, f.image.data),
          maps: toPixels(f.maps.shape, f.maps.data),
          min: f.min,
          max: f.max,
          ...picked,
        }
      : undefined,
    note: lens
      ? undefined
      : (r.pickedError ?? (f ? undefined : 'Feature maps need an image: pick one on a node page (Pick Image…), or open this model through a lens file.')),
  };
}

/**
 * The node page: one node's weights and its top images, each with the node's feature map and its projection to
 * pixel space (by the view options' method, ranked by their metric); then its dead-node and selectivity figures
 * and the last activation maximization of the node.
 */
import { PROJECTION_METHOD_LABELS, type LensInfo, type NodeInspection } from '../../shared/protocol';
import type { NodePageMessage, PanelState } from '../../shared/webviewProtocol';
import { UserFacingError } from '../errorText';
import { modelSummary, topItem, weightsView } from '../pageData';
import { baseTitle, layerTitle, type HostPage, type PageContext } from './page';
import { pickedImageView } from './pickedImage';
import { sendTimelapse } from './nodeTimelapse';

const NO_LENS = 'This model has no lens file, so there is no dataset to rank images from.';

export const nodePage: HostPage<'node'> = {
  kind: 'node',
  title: (s, { view, model }) => {
    const method = view.method !== 'deconv' ? ` (${PROJECTION_METHOD_LABELS[view.method]})` : '';
    return `${baseTitle(s)} / ${layerTitle(s, model)} / node ${s.node}${method}`;
  },
  load: async (ctx, s) => {
    const layer = s.layer!;
    const node = s.node!;
    const info = ctx.model.layers[layer];
    if (node >= info.nodes) throw new UserFacingError(`Layer ${info.name} has no node ${node} (it has ${info.nodes}).`);
    if (ctx.lens) {
      const r = await ctx.call('inspectNode', {
        lens: ctx.lens.path,
        storageDir: await ctx.storageDir(),
        layer,
        node,
        method: ctx.view.method,
        metric: ctx.view.metric,
      });
      return { ...nodePageMessage(r, s, ctx.lens, ctx.title), ...(ctx.view.randomize ? { randomize: ctx.view.randomize } : {}) };
    }
    // Without a lens file there are no dataset images: the weights, and the image the user picked, if any.
    const w = info.hasWeights ? await ctx.call('weights', { model: s.model, layer, node }) : undefined;
    const picked = await pickedImageView(ctx, s.model, layer, node);
    return {
      ...nodePageMessage({ model: ctx.model, layer, node, method: ctx.view.method, ...(w ? { weights: w } : {}) }, s, undefined, ctx.title),
      ...(picked ? { picked } : {}),
    };
  },
  after: async (ctx, s, page) => {
    const done = ctx.maximized(s);
    if (done) ctx.post(done);
    // The Top Activations view follows once the page is posted, so its requests queue behind the page's.
    if (ctx.primary && ctx.current()) ctx.onNode?.({ lens: s.lens, model: s.model, layer: page.layer, node: page.node });
    if (page.top && ctx.lens) await sendNodeStats(ctx, page.layer, page.node);
    await sendTimelapse(ctx, s, page.layer, page.node);
  },
};

/** Dead-node and selectivity figures of the node on the page, from the stored layer-by-class table. */
async function sendNodeStats(ctx: PageContext, layer: number, node: number): Promise<void> {
  try {
    const r = await ctx.byClass();
    const col = r ? r.layers.indexOf(layer) : -1;
    if (!r || !ctx.current() || col < 0) return;
    const tc = r.topClass[col]?.[node];
    ctx.post({
      type: 'nodeStats',
      layer,
      node,
      deadFraction: r.deadFraction[col][node],
      selectivity: r.selectivity[col][node],
      topClass: r.classes[tc] ?? String(tc),
      classes: r.classes.length,
    });
  } catch (e) {
    ctx.log.warn(`Node statistics: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function nodePageMessage(r: NodeInspection, state: PanelState, lens: LensInfo | undefined, title: string): NodePageMessage {
  const layer = r.model.layers[r.layer];
  let pmin = Infinity;
  let pmax = -Infinity;
  const items = (r.top?.items ?? []).map((it) => {
    if (it.projection) {
      for (const v of it.projection.data) {
        if (v < pmin) pmin = v;
        if (v > pmax) pmax = v;
      }
    }
    return topItem(it);
  });
  return {
    type: 'node',
    title,
    state,
    model: modelSummary(r.model, lens),
    layer: r.layer,
    node: r.node,
    nodes: layer?.nodes ?? 0,
    method: r.method,
    weights: r.weights ? weightsView(r.weights) : undefined,
    top: r.top ? { metric: r.top.metric, items } : undefined,
    projectionError: r.projectionError,
    topNote: r.top ? undefined : lens ? 'No top-activation index yet: run "Feature Lens: Compute Top Activations".' : NO_LENS,
    projectionRange: Number.isFinite(pmin) ? { min: pmin, max: pmax } : undefined,
  };
}

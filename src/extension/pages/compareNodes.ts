/**
 * Node pages of two models side by side (issue 14): node `node` of A's layer `layer` beside node `otherNode` of
 * B's layer `otherLayer` (by default the same layer and node: models of one architecture), each as its own node
 * page has it (weights, top images with feature maps and projections), from one `inspectNode` request each.
 */
import { architectureDifference } from '../../shared/architecture';
import type { ModelInfo } from '../../shared/protocol';
import type { CompareNodesPageMessage, NodePageMessage, PanelState } from '../../shared/webviewProtocol';
import { readPair } from '../compareResults';
import { UserFacingError } from '../errorText';
import { layerTitle, type HostPage } from './page';
import { pairTitle } from './compare';
import { nodePageMessage } from './node';

/** The state of the side-by-side page of node `node` of A's `layer` and node `otherNode` of B's `otherLayer`. */
export function compareNodesState(s: PanelState, m: { layer: number; node: number; otherLayer: number; otherNode: number }): PanelState {
  return { ...s, page: 'compareNodes', layer: m.layer, node: m.node, otherLayer: m.otherLayer, otherNode: m.otherNode, focusImage: undefined };
}

/** B's layer and node in `s` (defaults: A's), checked against B's model: one line naming what is missing. */
export function otherNodeOf(s: PanelState, b: ModelInfo): { layer: number; node: number } {
  const layer = s.otherLayer ?? s.layer!;
  const node = s.otherNode ?? s.node!;
  const info = b.layers[layer];
  if (!info) throw new UserFacingError(`Model B (${b.name}) has no layer ${layer} (it has ${b.layers.length}).`);
  if (node >= info.nodes) throw new UserFacingError(`Layer ${info.name} of model B (${b.name}) has no node ${node} (it has ${info.nodes}).`);
  return { layer, node };
}

/**
 * The two node pages with their weights on one colour scale, and their projections on one: the joint range of
 * both (a model whose weights are smaller looks paler, as it is). A page without weights or projections keeps its own.
 */
export function onOneScale(a: NodePageMessage, b: NodePageMessage): [NodePageMessage, NodePageMessage] {
  const joint = (x?: { min: number; max: number }, y?: { min: number; max: number }) =>
    x && y ? { min: Math.min(x.min, y.min), max: Math.max(x.max, y.max) } : undefined;
  const w = joint(a.weights, b.weights);
  const p = joint(a.projectionRange, b.projectionRange);
  const scaled = (m: NodePageMessage): NodePageMessage => ({
    ...m,
    ...(w && m.weights ? { weights: { ...m.weights, ...w } } : {}),
    ...(p ? { projectionRange: p } : {}),
  });
  return [scaled(a), scaled(b)];
}

export const compareNodesPage: HostPage<'compareNodes'> = {
  kind: 'compareNodes',
  title: (s, { model }) => `${pairTitle(s)} / ${layerTitle(s, model)} / node ${s.node}`,
  load: async (ctx, s) => {
    if (!ctx.lens || !s.other) throw new Error('Node pages side by side need two lens files: run "Feature Lens: Compare With…" on a lens file.');
    const pair = await readPair(ctx.call, ctx.lens, ctx.model, s.other);
    const layer = s.layer!;
    const node = s.node!;
    const a = ctx.model.layers[layer];
    if (node >= a.nodes) throw new UserFacingError(`Layer ${a.name} has no node ${node} (it has ${a.nodes}).`);
    const other = otherNodeOf(s, pair.infoB);
    const storageDir = await ctx.storageDir();
    const how = { storageDir, method: ctx.view.method, metric: ctx.view.metric };
    // One after the other: the engine computes one request at a time anyway.
    const ra = await ctx.call('inspectNode', { lens: ctx.lens.path, layer, node, ...how });
    const rb = await ctx.call('inspectNode', { lens: pair.lensB.path, layer: other.layer, node: other.node, ...how });
    const [pa, pb] = onOneScale(
      nodePageMessage(ra, { page: 'node', lens: ctx.lens.path, model: ctx.model.path, layer, node }, ctx.lens, ctx.title),
      nodePageMessage(rb, { page: 'node', lens: pair.lensB.path, model: rb.model.path, ...other }, pair.lensB, ctx.title),
    );
    const difference = architectureDifference(pa.model.layers, pb.model.layers);
    const msg: CompareNodesPageMessage = {
      type: 'compareNodes',
      title: ctx.title,
      state: { ...s, otherLayer: other.layer, otherNode: other.node },
      model: pa.model,
      other: pb.model,
      ...(difference ? { architectureDifference: difference } : {}),
      a: pa,
      b: pb,
    };
    return msg;
  },
};

/**
 * The comparison page of two models (issue 14): the cross test (each model on each lens file's test split), node
 * matching by activation correlation, and both models' layer activation by class. The panel's lens file is A,
 * the state's `other` is B. The cross test runs once per pair of models (compareResults.ts): another pair of
 * layers re-runs node matching only. The engine's progress shows on the loading page.
 */
import * as path from 'node:path';
import { architectureDifference } from '../../shared/architecture';
import type { CompareResult, Progress } from '../../shared/protocol';
import type { ComparePageMessage, ModelSummary, PanelState } from '../../shared/webviewProtocol';
import { compareResults, readPair } from '../compareResults';
import { modelSummary } from '../pageData';
import { baseTitle, sendByClass, type HostPage, type PageContext } from './page';

const NEEDS_TWO = 'A comparison needs two lens files: run "Feature Lens: Compare With…" on a lens file.';

/** "A vs B" from the state's lens files (the start of the comparison pages' titles). */
export function pairTitle(s: PanelState): string {
  return `${baseTitle(s)} vs ${s.other ? path.basename(s.other).replace(/\.lens\.json$/, '') : '?'}`;
}

export const comparePage: HostPage<'compare'> = {
  kind: 'compare',
  title: (s) => pairTitle(s),
  load: async (ctx, s) => {
    if (!ctx.lens || !s.other) throw new Error(NEEDS_TWO);
    const pair = await readPair(ctx.call, ctx.lens, ctx.model, s.other);
    const r = await compareResults.result(ctx.call, pair, { layerA: s.layer, layerB: s.otherLayer }, { onProgress: (p) => showProgress(ctx, p) });
    return comparePageMessage(r, s, modelSummary(ctx.model, ctx.lens), modelSummary(pair.infoB, pair.lensB), ctx.title);
  },
  after: async (ctx, s, page) => {
    // Both charts from stored indexes only (as on the layer page), each highlighting its matched layer.
    const storageDir = await ctx.storageDir();
    const { a, b, matching } = page.result;
    const missing = (lens: string) => `Run "Compute Top Activations" on ${path.basename(lens)} to see this chart.`;
    await sendByClass(ctx, s, { side: 'a', table: () => ctx.byClass(), layer: matching.layerA.index, missing: missing(a.lens) });
    await sendByClass(ctx, s, {
      side: 'b',
      table: () => ctx.call('layerByClass', { lens: b.lens, storageDir, indexOnly: true }),
      layer: matching.layerB.index,
      missing: missing(b.lens),
    });
  },
};

/** The engine's progress (cross test, then node matching) as the loading page's line. */
export function showProgress(ctx: PageContext, p: Progress): void {
  const pct = p.fraction !== undefined && Number.isFinite(p.fraction) ? ` (${Math.round(100 * p.fraction)}%)` : '';
  if (p.message || pct) ctx.post({ type: 'loading', title: ctx.title.replace(/^Feature Lens: /, ''), wait: `Comparing: ${p.message ?? ''}${pct}` });
}

export function comparePageMessage(r: CompareResult, state: PanelState, model: ModelSummary, other: ModelSummary, title: string): ComparePageMessage {
  const difference = architectureDifference(model.layers, other.layers);
  // The state records the layers matched, so a redraw (or a reload) keeps them.
  return {
    type: 'compare',
    title,
    state: { ...state, layer: r.matching.layerA.index, otherLayer: r.matching.layerB.index },
    model,
    other,
    ...(difference ? { architectureDifference: difference } : {}),
    result: r,
  };
}

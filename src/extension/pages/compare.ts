/**
 * The comparison page of two models (issue 14): the cross test (each model on each lens file's test split) and
 * node matching by activation correlation, from one `compare` engine request with the panel's lens file (A) and
 * the state's `other` (B). The engine's progress shows on the loading page.
 */
import * as path from 'node:path';
import type { CompareResult, Progress } from '../../shared/protocol';
import type { ComparePageMessage, ModelSummary, PanelState } from '../../shared/webviewProtocol';
import { modelSummary } from '../pageData';
import { baseTitle, type HostPage, type PageContext } from './page';

export const comparePage: HostPage<'compare'> = {
  kind: 'compare',
  title: (s) => `${baseTitle(s)} vs ${s.other ? path.basename(s.other).replace(/\.lens\.json$/, '') : '?'}`,
  load: async (ctx, s) => {
    if (!ctx.lens || !s.other) throw new Error('A comparison needs two lens files: run "Feature Lens: Compare With…" on a lens file.');
    const r = await ctx.call(
      'compare',
      { lens: ctx.lens.path, other: s.other, layerA: s.layer, layerB: s.otherLayer },
      { onProgress: (p) => showProgress(ctx, p) },
    );
    return comparePageMessage(r, s, modelSummary(ctx.model, ctx.lens), ctx.title);
  },
};

/** The engine's progress (cross test, then node matching) as the loading page's line. */
function showProgress(ctx: PageContext, p: Progress): void {
  const pct = p.fraction !== undefined && Number.isFinite(p.fraction) ? ` (${Math.round(100 * p.fraction)}%)` : '';
  if (p.message || pct) ctx.post({ type: 'loading', title: ctx.title.replace(/^Feature Lens: /, ''), wait: `Comparing: ${p.message ?? ''}${pct}` });
}

export function comparePageMessage(r: CompareResult, state: PanelState, model: ModelSummary, title: string): ComparePageMessage {
  // The state records the layers matched, so a redraw (or a reload) keeps them.
  return { type: 'compare', title, state: { ...state, layer: r.matching.layerA.index, otherLayer: r.matching.layerB.index }, model, result: r };
}

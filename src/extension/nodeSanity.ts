/**
 * The node page's "Randomize weights" row (issue 14): the engine's `sanity` request with `maps` for the node on
 * screen, in the jobs engine (pages keep answering), with progress and Cancel on the page. The toggle and its
 * depth are a view option (`ViewOptions.randomize`); the webview asks for the row when it draws a node page with
 * the toggle on, so a redraw of the same page is served from the last result.
 */
import { toPixels } from '../shared/messagePacking';
import type { PanelState, SanityRowMessage, WebviewMessage } from '../shared/webviewProtocol';
import type { SanityResult } from '../shared/protocol';
import { EngineRequestError, type CancelToken, type EngineClient } from './engineClient';
import type { ViewOptions } from './viewOptions';

/** What the row needs from the panel. */
export interface SanityDeps {
  jobs: Pick<EngineClient, 'call'>;
  storageDir(): Promise<string>;
  view: Pick<ViewOptions, 'values' | 'setRandomize'>;
  state(): PanelState;
  post(m: SanityRowMessage | { type: 'sanityProgress'; layer: number; node: number; fraction: number; message?: string }): void;
  log: { warn(m: string): void };
}

/** A cancellation token the row cancels itself (no vscode import: this module runs in plain Node tests). */
function cancelSource(): { token: CancelToken; cancel(): void } {
  const listeners = new Set<() => void>();
  let cancelled = false;
  return {
    token: {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested(l: () => void) {
        listeners.add(l);
        return { dispose: () => listeners.delete(l) };
      },
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      for (const l of listeners) l();
    },
  };
}

/** The second row from a `sanity` reply with `maps` (one method). */
export function sanityRowMessage(r: SanityResult, layer: number, node: number): SanityRowMessage {
  const m = r.methods[0];
  const base = { type: 'sanityRow' as const, layer, node, method: m.method, images: r.images };
  if (!m.maps) return { ...base, depth: 0, cascade: [], projections: [], spearmanAbs: [], ssim: [], error: m.error ?? 'No projections came back.' };
  const { shape, randomized, step, cascade } = m.maps;
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  const projections = r.images.map((_, i) => toPixels(shape.slice(1), randomized.slice(i * size, (i + 1) * size)));
  const s = m.steps[step - 1];
  const none = r.images.map(() => null);
  return { ...base, depth: step, cascade, projections, spearmanAbs: s?.perImage.spearmanAbs ?? none, ssim: s?.perImage.ssim ?? none };
}

export class NodeSanity {
  private running: { key: string; cancel(): void } | undefined;
  private last: { key: string; msg: SanityRowMessage } | undefined;

  /** What the row of the panel's page is of (undefined: no row there); only the node page sends `randomize`. */
  private keyOf(d: SanityDeps): string | undefined {
    const s = d.state();
    const v = d.view.values();
    if (!s.lens || s.layer === undefined || s.node === undefined || !v.randomize?.on) return undefined;
    return JSON.stringify([s.lens, s.model, s.layer, s.node, v.method, v.metric, v.randomize.depth ?? 'all']);
  }

  forget(): void {
    this.last = undefined;
  }

  /** The webview's toggle: remembered, then the row computed (or the running one cancelled). */
  async toggle(m: Extract<WebviewMessage, { type: 'randomize' }>, d: SanityDeps): Promise<void> {
    d.view.setRandomize({ on: m.on, ...(m.depth !== undefined ? { depth: m.depth } : {}) });
    if (!m.on) {
      this.running?.cancel();
      return;
    }
    await this.run(d);
  }

  /** Computes the row of the page on screen and posts it while that page is still shown. */
  async run(d: SanityDeps): Promise<void> {
    const key = this.keyOf(d);
    if (!key) return;
    if (this.last?.key === key) return d.post(this.last.msg);
    if (this.running?.key === key) return;
    this.running?.cancel();
    const src = cancelSource();
    const mine = { key, cancel: () => src.cancel() };
    this.running = mine;
    const s = d.state();
    const v = d.view.values();
    const [layer, node] = [s.layer!, s.node!];
    // The same page (a state object per navigation) and still the same row asked for.
    const onScreen = () => d.state() === s && this.keyOf(d) === key;
    const depth = v.randomize?.depth;
    try {
      const r = await d.jobs.call(
        'sanity',
        {
          lens: s.lens!,
          storageDir: await d.storageDir(),
          layer,
          node,
          metric: v.metric,
          methods: [v.method],
          maps: depth === undefined ? {} : { step: depth },
        },
        {
          token: src.token,
          onProgress: (p) =>
            onScreen() && d.post({ type: 'sanityProgress', layer, node, fraction: p.fraction ?? 0, ...(p.message ? { message: p.message } : {}) }),
        },
      );
      const msg = sanityRowMessage(r, layer, node);
      this.last = { key, msg };
      if (onScreen()) d.post(msg);
    } catch (e) {
      const cancelled = e instanceof EngineRequestError && e.error.code === 'cancelled';
      if (!cancelled) d.log.warn(`Randomize weights: ${e instanceof Error ? e.message : String(e)}`);
      if (onScreen())
        d.post({
          type: 'sanityRow',
          layer,
          node,
          method: v.method,
          images: [],
          depth: 0,
          cascade: [],
          projections: [],
          spearmanAbs: [],
          ssim: [],
          ...(cancelled ? { cancelled } : { error: e instanceof Error ? e.message : String(e) }),
        });
    } finally {
      if (this.running === mine) this.running = undefined;
    }
  }
}

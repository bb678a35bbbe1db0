/**
 * What a page of the inspector panel is on the host's side: its title and how its message is loaded (one engine
 * request). One module per page kind in this folder, registered in `index.ts` under its `PAGE_KINDS` entry
 * (src/shared/webviewProtocol.ts); the webview draws it with the module of the same name in src/webview/pages/.
 * No vscode import here or in the page modules, so they run in plain Node tests.
 */
import * as path from 'node:path';
import type { LayerByClassResult, LensInfo, MethodName, ModelInfo, ParamsOf, Progress, ReplyOf } from '../../shared/protocol';
import type { HostMessage, PageKind, PageMessageOf, PanelState } from '../../shared/webviewProtocol';
import type { ViewOptionValues } from '../viewOptions';
import type { TimelapseCache } from './nodeTimelapse';

/** What a page may use while it loads: the engine, the model and lens the panel read first, the view options. */
export interface PageContext {
  /** One engine request (the interactive engine process). */
  call<M extends MethodName>(method: M, params: ParamsOf<M>, opts?: { onProgress?: (p: Progress) => void }): Promise<ReplyOf<M>>;
  storageDir(): Promise<string>;
  /** How pages are drawn (projection method, ranking): read here, never from the panel state. */
  view: ViewOptionValues;
  /** The model on the page and its lens file, read by the panel before the page (also for the message checks). */
  model: ModelInfo;
  lens?: LensInfo;
  /** The page's title with the model's names (`title(state, {view, model})`). */
  title: string;
  /** Posts a message that follows the page (a chart, statistics); dropped once another page is asked for. */
  post(m: HostMessage): void;
  /** Whether this page is still the one asked for. */
  current(): boolean;
  /** The layer activation by class from a stored index (cached per weights); null until there is an index. */
  byClass(): Promise<LayerByClassResult | null>;
  log: { info(m: string): void; warn(m: string): void };
  /** The one inspector panel (not a model file's editor): the views follow the node it shows. */
  primary: boolean;
  /** The panel moved to this node: the Top Activations view follows (called once the page is posted). */
  onNode?(t: { lens?: string; model: string; layer: number; node: number }): void;
  /** A model without a lens file: the image file the user picked for it (`name`: as the user knows it). */
  picked?: { file: string; name: string };
  /** The last activation maximization of the node in `state`, if there is one. */
  maximized(state: PanelState): HostMessage | undefined;
  /** The node time-lapse frames the panel keeps (absent: no time-lapse, e.g. in a test). */
  timelapse?: TimelapseCache;
}

/** One page kind on the host's side. */
export interface HostPage<K extends PageKind> {
  kind: K;
  /** The panel's title for `state` (`model`: once it is read, for layer names). */
  title(state: PanelState, about: { view: ViewOptionValues; model?: ModelInfo }): string;
  /** The page, from the context and one engine request. */
  load(ctx: PageContext, state: PanelState): Promise<PageMessageOf<K>>;
  /** Runs once the page is posted: messages that follow it (the class chart, node statistics). */
  after?(ctx: PageContext, state: PanelState, page: PageMessageOf<K>): Promise<void>;
}

/** The lens file's name (or the model's folder): the start of every title. */
export function baseTitle(s: PanelState): string {
  return path.basename(s.lens ?? path.dirname(s.model)).replace(/\.lens\.json$/, '');
}

/** The name of the layer in `state`, from the model once read. */
export function layerTitle(s: PanelState, model?: ModelInfo): string {
  return s.layer !== undefined ? (model?.layers[s.layer]?.name ?? `layer ${s.layer}`) : '';
}

/**
 * The class × layer chart after a page (from a stored index only: a page never starts a scan, which would run
 * with no progress or Cancel and hold up every later request). `from`: one model of a comparison, its table and
 * the layer to highlight (else the page's model and layer).
 */
export async function sendByClass(
  ctx: PageContext,
  s: PanelState,
  from?: { side: 'a' | 'b'; table(): Promise<LayerByClassResult | null>; layer?: number; missing?: string },
): Promise<void> {
  const side = from ? { side: from.side } : {};
  const layer = from ? from.layer : s.layer;
  try {
    const r = await (from ? from.table() : ctx.byClass());
    if (!ctx.current()) return;
    if (!r) ctx.post({ type: 'byClass', note: from?.missing ?? 'Compute Top Activations to see this chart.', ...side });
    else
      ctx.post({
        type: 'byClass',
        chart: { classes: r.classes, layerNames: r.layerNames, norms: r.norms, highlight: layer === undefined ? -1 : r.layers.indexOf(layer) },
        ...side,
      });
  } catch (e) {
    ctx.log.warn(`Layer activation by class: ${e instanceof Error ? e.message : String(e)}`);
    if (ctx.current()) ctx.post({ type: 'byClass', note: 'This chart could not be computed; see the Feature Lens log.', ...side });
  }
}

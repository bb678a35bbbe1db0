/**
 * What a page of the inspector is on the webview's side: it draws its page message into an element. One module
 * per page kind in this folder, registered in `index.ts` under its `PAGE_KINDS` entry
 * (src/shared/webviewProtocol.ts); the host loads the same kind with src/extension/pages/<kind>.ts.
 */
import type { PageKind, PageMessageOf, PageUpdateMessage, WebviewMessage } from '../../shared/webviewProtocol';
import { el } from '../dom';

export type Send = (m: WebviewMessage) => void;

/** One page kind on the webview's side. */
export interface WebviewPage<K extends PageKind> {
  kind: K;
  /** The toolbar button that opens this page from the others (`openPage`). */
  link: { label: string; icon: string; title: string };
  /** The page (its header has a `.toolbar`, where the links to the other pages are added). */
  draw(m: PageMessageOf<K>, send: Send): HTMLElement;
  /** Which layer and node the page shows (for the body's `data-layer`/`data-node`, and to tell a redraw). */
  where(m: PageMessageOf<K>): { layer?: number; node?: number };
  /** ←/→ (`dir` ±1): the message that moves to the next node or image, if the page has one. */
  step?(m: PageMessageOf<K>, dir: 1 | -1): WebviewMessage | undefined;
  /** What arrives after the page `m` on screen (a chart, statistics, maximization): drawn into it, or ignored. */
  update?(u: PageUpdateMessage, m: PageMessageOf<K>): void;
}

/** At most this many weight tiles / feature maps are drawn on a page. */
export const MAX_CANVASES = 1024;

/** A page's header: title, subtitle, and its tools. */
export function header(title: string, sub: string, tools: HTMLElement[]): HTMLElement {
  const h = el('header', 'page-header');
  const t = el('div', 'titles');
  t.append(el('h1', undefined, title), el('div', 'subtitle', sub));
  const bar = el('div', 'toolbar');
  bar.append(...tools);
  h.append(t, bar);
  return h;
}

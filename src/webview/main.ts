/**
 * The inspector panel's script (DOM only, no tfjs). Says `ready`, then draws whatever page the host sends, with
 * the page module of its kind (`pages/index.ts`). The body's `data-state` (loading|ready|error) and `data-page`
 * (the page kind) let tests wait for a page.
 */
import '@vscode-elements/elements';
import { unpackMessage, type PackedMessage } from '../shared/messagePacking';
import { isPageKind, PAGE_KINDS, type HostMessage, type PageMessage, type WebviewMessage } from '../shared/webviewProtocol';
import { button, el } from './dom';
import { exportPng } from './exportPng';
import { ALL_PAGES, webviewPage } from './pages/index';
import type { WebviewPage } from './pages/page';

interface VsCodeApi {
  postMessage(m: unknown): void;
  setState(s: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let page: PageMessage | undefined;

function send(m: WebviewMessage): void {
  vscode.postMessage(m);
}

function setBody(state: 'loading' | 'ready' | 'error', pageName?: string): void {
  document.body.dataset.state = state;
  if (pageName) document.body.dataset.page = pageName;
  // Only a page being fetched is dimmed: a page or an error drawn in its place is shown at full strength.
  if (state !== 'loading') {
    document.body.classList.remove('busy');
    document.getElementById('waiting')?.remove();
  }
}

let shownKey: string | undefined;

/** Charts arrive at different times (the by-class chart and maximization come after the page): number them in page order. */
function indexCharts(): void {
  document.querySelectorAll<HTMLCanvasElement>('canvas[data-role="chart"]').forEach((c, i) => (c.dataset.index = String(i)));
}

/** Buttons to the other pages that this page's state can open (a page that needs a layer, only with one). */
function pageLinks(m: PageMessage): HTMLElement[] {
  const can = (p: WebviewPage<PageMessage['type']>) => PAGE_KINDS[p.kind].needs.every((f) => f === 'node' || m.state[f] !== undefined);
  return ALL_PAGES.filter((p) => p.kind !== m.type && can(p)).map((p) =>
    button(p.link.label, p.link.icon, () => send({ type: 'openPage', page: p.kind }), { secondary: true, title: p.link.title }),
  );
}

/** The module of the page on screen, typed for its message. */
function pageModule(m: PageMessage): WebviewPage<PageMessage['type']> | undefined {
  return webviewPage(m.type) as WebviewPage<PageMessage['type']> | undefined;
}

function show(m: PageMessage, received: number): void {
  const module = webviewPage(m.type);
  if (!module) return showError('Feature Lens', `This panel cannot draw pages of kind "${String(m.type).slice(0, 40)}".`);
  page = m;
  vscode.setState(m.state);
  const scrollX = window.scrollX;
  const scrollY = window.scrollY;
  const where = module.where(m);
  // Which page this is, regardless of what is drawn on it: a redraw of the same page keeps its scroll position.
  const key = JSON.stringify([m.type, m.model.path, where.layer ?? null, where.node ?? null]);
  const samePage = shownKey === key;
  shownKey = key;
  const content = module.draw(m, send);
  content.querySelector('.page-header .toolbar')?.append(...pageLinks(m));
  app.replaceChildren(content);
  // Which layer/node is on screen, so a test (or a screen reader user's tooling) can wait for a specific page.
  if (where.layer === undefined) delete document.body.dataset.layer;
  else document.body.dataset.layer = String(where.layer);
  if (where.node === undefined) delete document.body.dataset.node;
  else document.body.dataset.node = String(where.node);
  setBody('ready', m.type);
  indexCharts();
  // Another page opens at its top; the same page drawn again (another projection, ranking or image, or the
  // model changed on disk) stays where the user scrolled to.
  if (samePage) window.scrollTo(scrollX, scrollY);
  else window.scrollTo(0, 0);
  const focus = document.querySelector('.cell.focus');
  if (focus) focus.scrollIntoView({ block: 'center', inline: 'center' });
  requestAnimationFrame(() => send({ type: 'painted', page: m.type, drawMs: Math.round(performance.now() - received) }));
}

/** The error page: what failed, with the log and a retry. */
function showError(title: string, message: string): void {
  const box = el('div', 'error-box');
  const actions = el('div', 'toolbar');
  actions.append(
    button('Show Log', 'output', () => send({ type: 'showLog' }), { title: 'Open the Feature Lens log, which has the details' }),
    button('Retry', 'refresh', () => send({ type: 'retry' }), { secondary: true, title: 'Draw this page again' }),
  );
  box.append(el('h1', undefined, title), el('p', 'error-message', message), actions);
  app.replaceChildren(box);
  page = undefined;
  shownKey = undefined;
  setBody('error');
  window.scrollTo(0, 0);
}

function receive(m: HostMessage, received: number): void {
  if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
  if (isPageKind(m.type)) {
    document.body.classList.remove('busy');
    show(m as PageMessage, received);
    return;
  }
  switch (m.type) {
    case 'loading':
      document.body.dataset.state = 'loading';
      if (!page) app.replaceChildren(el('p', 'status', m.wait ? `Loading ${m.title}… ${m.wait}` : `Loading ${m.title}…`));
      else {
        document.body.classList.add('busy');
        if (m.wait) showWaiting(m.wait);
      }
      break;
    case 'error':
      showError(m.title, m.message);
      break;
    case 'nodeStats':
    case 'byClass':
    case 'maximizeProgress':
    case 'maximized':
    case 'sanityProgress':
    case 'sanityRow':
    case 'timelapseSeries':
    case 'timelapseFrame':
    case 'timelapseStatus':
      // Each page draws what follows it; a message for another page is ignored.
      if (page) pageModule(page)?.update?.(m, page);
      indexCharts();
      break;
    case 'export':
      void exportPng(app, send);
      break;
    default:
      send({ type: 'log', level: 'warn', message: `Dropped an unknown message: ${String((m as { type: unknown }).type).slice(0, 40)}` });
  }
}

/** A line over the dimmed page saying why it has not changed yet (the engine is busy with an earlier request). */
function showWaiting(text: string): void {
  let bar = document.getElementById('waiting');
  if (!bar) {
    bar = el('div', 'waiting');
    bar.id = 'waiting';
    bar.setAttribute('role', 'status');
    document.body.prepend(bar);
  }
  bar.textContent = text;
}

window.addEventListener('message', (e: MessageEvent) => {
  const received = performance.now();
  let m = e.data as HostMessage | PackedMessage;
  if (m && typeof m === 'object' && m.type === 'packed') {
    try {
      m = unpackMessage(m) as HostMessage;
    } catch (err) {
      send({ type: 'log', level: 'error', message: `Dropped a malformed message: ${(err as Error).message}` });
      return;
    }
  }
  receive(m as HostMessage, received);
});

/** ←/→ or k/j step through what the page steps through (nodes on the node page, images on the layer page). */
window.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'VSCODE-TEXTFIELD' || t.tagName === 'VSCODE-SINGLE-SELECT' || t.isContentEditable)) return;
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const dir = e.key === 'ArrowRight' || e.key === 'j' ? 1 : e.key === 'ArrowLeft' || e.key === 'k' ? -1 : 0;
  const module = page && pageModule(page);
  if (!dir || !page || !module?.step) return;
  const m = module.step(page, dir);
  if (m) send(m);
  e.preventDefault();
});

send({ type: 'ready' });

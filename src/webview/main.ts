/**
 * The inspector panel's script (DOM only, no tfjs). Says `ready`, then draws whatever page the host sends.
 * The body's `data-state` (loading|ready|error) and `data-page` (node|layer|model) let tests wait for a page.
 */
import '@vscode-elements/elements';
import { unpackMessage, type HostMessage, type LayerPageMessage, type ModelPageMessage, type NodePageMessage, type PackedMessage, type WebviewMessage } from '../shared/webviewProtocol';
import { cssVar } from './charts';
import { button, el } from './dom';
import * as pages from './pages';

interface VsCodeApi {
  postMessage(m: unknown): void;
  setState(s: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let page: NodePageMessage | LayerPageMessage | ModelPageMessage | undefined;
let objectiveHistory: number[] = [];

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

/** Which page this is, regardless of what is drawn on it: a redraw of the same page keeps its scroll position. */
function pageKey(m: NodePageMessage | LayerPageMessage | ModelPageMessage): string {
  return JSON.stringify([m.type, m.model.path, m.type === 'model' ? null : m.layer, m.type === 'node' ? m.node : null]);
}
let shownKey: string | undefined;

/** Charts arrive at different times (the by-class chart and maximization come after the page): number them in page order. */
function indexCharts(): void {
  document.querySelectorAll<HTMLCanvasElement>('canvas[data-role="chart"]').forEach((c, i) => (c.dataset.index = String(i)));
}

function show(m: NodePageMessage | LayerPageMessage | ModelPageMessage, received: number): void {
  page = m;
  objectiveHistory = [];
  vscode.setState(m.state);
  const scrollX = window.scrollX;
  const scrollY = window.scrollY;
  const key = pageKey(m);
  const samePage = shownKey === key;
  shownKey = key;
  const content = m.type === 'node' ? pages.nodePage(m, send) : m.type === 'layer' ? pages.layerPage(m, send) : pages.modelPage(m, send);
  app.replaceChildren(content);
  // Which layer/node is on screen, so a test (or a screen reader user's tooling) can wait for a specific page.
  if (m.type === 'model') delete document.body.dataset.layer;
  else document.body.dataset.layer = String(m.layer);
  if (m.type === 'node') document.body.dataset.node = String(m.node);
  else delete document.body.dataset.node;
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

function receive(m: HostMessage, received: number): void {
  if (!m || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') return;
  switch (m.type) {
    case 'loading':
      document.body.dataset.state = 'loading';
      if (!page) app.replaceChildren(el('p', 'status', m.wait ? `Loading ${m.title}… ${m.wait}` : `Loading ${m.title}…`));
      else {
        document.body.classList.add('busy');
        if (m.wait) showWaiting(m.wait);
      }
      break;
    case 'error': {
      const box = el('div', 'error-box');
      const actions = el('div', 'toolbar');
      actions.append(
        button('Show Log', 'output', () => send({ type: 'showLog' }), { title: 'Open the Feature Lens log, which has the details' }),
        button('Retry', 'refresh', () => send({ type: 'retry' }), { secondary: true, title: 'Draw this page again' }),
      );
      box.append(el('h1', undefined, m.title), el('p', 'error-message', m.message), actions);
      app.replaceChildren(box);
      page = undefined;
      shownKey = undefined;
      setBody('error');
      window.scrollTo(0, 0);
      break;
    }
    case 'node':
    case 'layer':
    case 'model':
      document.body.classList.remove('busy');
      show(m, received);
      break;
    case 'nodeStats':
      if (page?.type === 'node' && page.layer === m.layer && page.node === m.node) pages.nodeStats(m);
      break;
    case 'byClass':
      pages.byClass(m.chart, m.note);
      indexCharts();
      break;
    case 'maximizeProgress':
      pages.maximizeProgress(m, objectiveHistory);
      indexCharts();
      break;
    case 'maximized':
      if (page?.type === 'node' && page.layer === m.layer && page.node === m.node) pages.maximized(m);
      indexCharts();
      break;
    case 'export':
      void exportPng();
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

/** ←/→ or k/j step through nodes (node page) or images (layer page). */
window.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'VSCODE-TEXTFIELD' || t.tagName === 'VSCODE-SINGLE-SELECT' || t.isContentEditable)) return;
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const dir = e.key === 'ArrowRight' || e.key === 'j' ? 1 : e.key === 'ArrowLeft' || e.key === 'k' ? -1 : 0;
  if (!dir || !page) return;
  if (page.type === 'node') {
    const node = page.node + dir;
    if (node >= 0 && node < page.nodes) send({ type: 'selectNode', layer: page.layer, node });
    e.preventDefault();
  } else if (page.type === 'layer' && page.featureMaps) {
    const index = page.featureMaps.index + dir;
    if (index >= 0 && index < page.featureMaps.images) send({ type: 'selectImage', index });
    e.preventDefault();
  }
});

/**
 * Composes every canvas and heading of the page into one PNG for the host, each where it sits in the page:
 * laid out for the moment without sticky headers and sideways scrolling (the PNG holds the whole page,
 * whatever part of it the panel scrolled to), then put back before the next frame is painted.
 */
async function exportPng(): Promise<void> {
  try {
    const scrolled = [...app.querySelectorAll<HTMLElement>('.top-grid')].map((g) => [g, g.scrollLeft] as const);
    const [x, y] = [window.scrollX, window.scrollY];
    document.body.classList.add('exporting');
    let out: HTMLCanvasElement;
    try {
      out = composePage();
    } finally {
      document.body.classList.remove('exporting');
      for (const [g, left] of scrolled) g.scrollLeft = left;
      window.scrollTo(x, y);
    }
    const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
    if (!blob) throw new Error('the browser could not encode the PNG');
    send({ type: 'exportPng', data: new Uint8Array(await blob.arrayBuffer()) });
  } catch (e) {
    send({ type: 'log', level: 'error', message: `Export failed: ${(e as Error).message}` });
  }
}

/** The page as one canvas (called with the `exporting` layout in place). */
function composePage(): HTMLCanvasElement {
  const origin = app.getBoundingClientRect();
  const W = Math.ceil(app.scrollWidth);
  const H = Math.ceil(app.scrollHeight);
  const out = document.createElement('canvas');
  out.width = W;
  out.height = H;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--vscode-editor-background', '#1e1e1e');
  ctx.fillRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = false;
  ctx.textBaseline = 'top';
  for (const node of app.querySelectorAll<HTMLElement>('h1, h2, .subtitle, figcaption, .row-label, .col-label div, .legend span, dt, dd, .stat, td, th, .note')) {
    const r = node.getBoundingClientRect();
    if (!r.width) continue;
    const style = getComputedStyle(node);
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    ctx.fillStyle = style.color;
    ctx.fillText(node.textContent ?? '', r.left - origin.left, r.top - origin.top + (parseFloat(style.paddingTop) || 0), Math.max(r.width, 1) * 1.05);
  }
  for (const c of app.querySelectorAll('canvas')) {
    const r = c.getBoundingClientRect();
    if (!r.width) continue;
    ctx.drawImage(c, r.left - origin.left, r.top - origin.top, r.width, r.height);
  }
  return out;
}

send({ type: 'ready' });

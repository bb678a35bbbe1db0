/** Export Panel as PNG, the webview's half: the page's canvases and text composed into one PNG for the host. */
import { cssVar } from './charts';
import type { Send } from './pages/page';

/**
 * Composes every canvas and heading of the page into one PNG for the host, each where it sits in the page:
 * laid out for the moment without sticky headers and sideways scrolling (the PNG holds the whole page,
 * whatever part of it the panel scrolled to), then put back before the next frame is painted.
 */
export async function exportPng(app: HTMLElement, send: Send): Promise<void> {
  try {
    const scrolled = [...app.querySelectorAll<HTMLElement>('.top-grid')].map((g) => [g, g.scrollLeft] as const);
    const [x, y] = [window.scrollX, window.scrollY];
    document.body.classList.add('exporting');
    let out: HTMLCanvasElement;
    try {
      out = composePage(app);
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
function composePage(app: HTMLElement): HTMLCanvasElement {
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
  for (const node of app.querySelectorAll<HTMLElement>(
    'h1, h2, .subtitle, figcaption, .row-label, .col-label div, .legend span, dt, dd, .stat, td, th, .note',
  )) {
    if (!node.getBoundingClientRect().width || !node.textContent) continue;
    // Where the text itself is (not its box: padding, centring in a taller box).
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    const style = getComputedStyle(node);
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    ctx.fillStyle = style.color;
    ctx.fillText(node.textContent, r.left - origin.left, r.top - origin.top, Math.max(r.width, 1) * 1.05);
  }
  for (const c of app.querySelectorAll('canvas')) {
    const r = c.getBoundingClientRect();
    if (!r.width) continue;
    ctx.drawImage(c, r.left - origin.left, r.top - origin.top, r.width, r.height);
  }
  return out;
}

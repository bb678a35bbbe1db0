/** Small DOM helpers for the panel (no framework; styles come from media/inspector.css classes). */
import type { Pixels } from '../shared/webviewProtocol';
import { dims, drawPixels, type ColorMode } from './pixelCanvas';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function section(title: string, id?: string): { root: HTMLElement; body: HTMLElement } {
  const root = el('section', 'section');
  if (id) root.id = id;
  const h = el('h2', 'section-title', title);
  const body = el('div', 'section-body');
  root.append(h, body);
  return { root, body };
}

/** A canvas of an image at its natural size, shown `target` CSS pixels across (integer scale, pixelated). */
export function pixelCanvas(
  p: Pixels,
  mode: ColorMode,
  role: string,
  index: number,
  opts: { lim?: number; channel?: number; target?: number; rgb?: boolean; stretch?: { min: number; max: number } } = {},
): HTMLCanvasElement {
  const c = drawPixels(p, mode, opts);
  const { h, w } = dims(p.shape);
  const target = opts.target ?? 112;
  const scale = Math.max(1, Math.floor(target / Math.max(h, w, 1)));
  c.style.width = `${w * scale}px`;
  // A vector (one row) stays tall enough to see and click.
  c.style.height = `${h === 1 ? Math.max(12, scale) : h * scale}px`;
  c.classList.add('px');
  c.dataset.role = role;
  c.dataset.index = String(index);
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', `${role.replace('-', ' ')} ${index}, ${p.shape.join('×')}`);
  return c;
}

export function button(label: string, icon: string | undefined, onClick: () => void, opts: { secondary?: boolean; title?: string } = {}): HTMLElement {
  const b = document.createElement('vscode-button') as HTMLElement & { secondary?: boolean; icon?: string };
  if (icon) b.setAttribute('icon', icon);
  if (opts.secondary) b.setAttribute('secondary', '');
  if (opts.title) b.title = opts.title;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

export function figure(children: Node[], caption: string, cls = 'figure'): HTMLElement {
  const f = el('figure', cls);
  f.append(...children);
  if (caption) f.append(el('figcaption', undefined, caption));
  return f;
}

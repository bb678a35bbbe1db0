/**
 * The node page's "Randomize weights" toggle (issue 14; Adebayo et al., "Sanity Checks for Saliency Maps", 2018):
 * a second row under the trained projections of the top images, the same projections with the weights of the
 * layers below the node randomized from the top down (a depth picker chooses how far), and under each pair its
 * Spearman rank correlation and SSIM (of the |maps|). The host computes it (`randomize` → `sanityProgress`,
 * `sanityRow`); this module draws it into the page's top-image grid and owns nothing else of the page.
 */
import { PROJECTION_METHOD_LABELS } from '../../shared/protocol';
import type { NodePageMessage, SanityProgressMessage, SanityRowMessage } from '../../shared/webviewProtocol';
import { button, el, pixelCanvas } from '../dom';
import { dims, legend, range } from '../pixelCanvas';
import type { Send } from './page';

/** The node page on screen with a top-image grid (set by `sanityRows`). */
let page: { m: NodePageMessage; grid: HTMLElement; send: Send; on: boolean; depth?: number } | undefined;

/** The toolbar's toggle (a node page with top images only); Enter or Space presses it. */
export function randomizeTool(m: NodePageMessage, send: Send): HTMLElement[] {
  if (!m.top?.items.length) return [];
  const on = m.randomize?.on === true;
  const b = button('Randomize Weights', 'debug-restart', () => toggle(send), {
    secondary: !on,
    title: 'Draw the projections again with the weights randomized from the top layer down (a sanity check: Adebayo et al. 2018)',
  });
  b.id = 'randomize';
  b.setAttribute('aria-pressed', String(on));
  return [b];
}

function toggle(send: Send): void {
  if (!page) return;
  page.on = !page.on;
  const b = document.getElementById('randomize');
  b?.setAttribute('aria-pressed', String(page.on));
  b?.toggleAttribute('secondary', !page.on);
  send({ type: 'randomize', on: page.on, ...(page.depth !== undefined ? { depth: page.depth } : {}) });
  if (page.on) progress('Randomizing weights…');
  else clearRows();
}

/** Called once the page's grid is drawn: asks for the row when the toggle is on. */
export function sanityRows(m: NodePageMessage, grid: HTMLElement, send: Send): void {
  page = { m, grid, send, on: m.randomize?.on === true, ...(m.randomize?.depth !== undefined ? { depth: m.randomize.depth } : {}) };
  if (!page.on) return;
  progress('Randomizing weights…');
  send({ type: 'randomize', on: true, ...(page.depth !== undefined ? { depth: page.depth } : {}) });
}

/** What the host sends for the row of the node page `m` on screen. */
export function sanityUpdate(u: SanityProgressMessage | SanityRowMessage, m: NodePageMessage): void {
  if (!page || page.m !== m || !page.on) return;
  if (u.type === 'sanityProgress') progress(`Randomizing weights… ${Math.round(100 * u.fraction)}%${u.message ? ` · ${u.message}` : ''}`);
  else if (u.cancelled) {
    page.on = false;
    document.getElementById('randomize')?.setAttribute('aria-pressed', 'false');
    document.getElementById('randomize')?.toggleAttribute('secondary', true);
    clearRows();
  } else if (u.error) noteRow(`Randomized projections unavailable: ${u.error}`);
  else drawRows(u);
}

function clearRows(): void {
  page?.grid.querySelectorAll('.sanity').forEach((e) => e.remove());
  page?.grid.parentElement?.querySelector('.sanity-legend')?.remove();
}

/** One grid row: its label, then a cell per top image (or one cell across them). */
function row(label: HTMLElement | string, cells: HTMLElement[], across = false): void {
  const l = typeof label === 'string' ? el('div', 'row-label', label) : label;
  l.classList.add('row-label', 'sanity');
  page!.grid.append(l);
  for (const c of cells) {
    c.classList.add('sanity');
    if (across) c.style.gridColumn = '2 / -1';
    page!.grid.append(c);
  }
}

function progress(text: string): void {
  const cur = page?.grid.querySelector('#sanity-progress');
  if (cur) {
    cur.firstElementChild!.textContent = text;
    return;
  }
  clearRows();
  const cell = el('div', 'note');
  cell.id = 'sanity-progress';
  cell.setAttribute('role', 'status');
  cell.append(
    el('span', undefined, text),
    ' ',
    button('Cancel', undefined, () => toggle(page!.send), { secondary: true }),
  );
  row('randomized weights', [cell], true);
}

function noteRow(text: string): void {
  clearRows();
  row('randomized weights', [el('div', 'note warn', text)], true);
}

/** The depth picker: how many layers, from the top of the cascade, are randomized. */
function depthPicker(u: SanityRowMessage): HTMLElement {
  const label = el('label', 'row-label');
  // The picker under its words, not beside them (the label column is narrow).
  Object.assign(label.style, { flexDirection: 'column', alignItems: 'flex-start', gap: '2px' });
  label.append(el('span', undefined, `${PROJECTION_METHOD_LABELS[u.method]}, weights randomized down to`));
  const select = el('select');
  select.id = 'randomize-depth';
  select.setAttribute('aria-label', 'Randomize the weights down to layer');
  u.cascade.forEach((name, i) => {
    const o = el('option', undefined, i + 1 === u.cascade.length ? `${name} (all)` : name);
    o.value = String(i + 1);
    o.selected = i + 1 === u.depth;
    select.append(o);
  });
  select.addEventListener('change', () => {
    if (!page) return;
    const d = Number(select.value);
    page.depth = d === u.cascade.length ? undefined : d;
    page.send({ type: 'randomize', on: true, ...(page.depth !== undefined ? { depth: page.depth } : {}) });
    progress('Randomizing weights…');
  });
  label.append(select);
  return label;
}

function drawRows(u: SanityRowMessage): void {
  clearRows();
  const items = page!.m.top?.items ?? [];
  let lim = 0;
  for (const p of u.projections) {
    const r = range(new Float32Array(p.data));
    lim = Math.max(lim, Math.abs(r.min), Math.abs(r.max));
  }
  const f = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  const maps: HTMLElement[] = [];
  const sims: HTMLElement[] = [];
  items.forEach((it, i) => {
    const j = u.images.indexOf(it.index);
    const cell = el('div', 'cell');
    cell.dataset.image = String(it.index);
    const sim = el('div', 'cell dim');
    if (j < 0) cell.append(el('div', 'dim', '—'));
    else {
      const p = u.projections[j];
      cell.append(pixelCanvas(p, 'signed', 'randomized-projection', i, { lim, rgb: dims(p.shape).c === 3 }));
      sim.append(el('div', undefined, `ρ ${f(u.spearmanAbs[j])}`), el('div', undefined, `SSIM ${f(u.ssim[j])}`));
      sim.title = 'Spearman rank correlation and SSIM of the |projections| with trained and randomized weights';
    }
    maps.push(cell);
    sims.push(sim);
  });
  row(depthPicker(u), maps);
  row('similarity to trained (Spearman ρ, SSIM)', sims);
  const lg = legend(u.projections.some((p) => dims(p.shape).c === 3) ? 'signedRgb' : 'signed', -lim, lim, 'randomized projection');
  lg.classList.add('sanity-legend');
  page!.grid.parentElement?.querySelector('.legends')?.append(lg);
}

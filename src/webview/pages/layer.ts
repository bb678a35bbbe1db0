/** The layer page: every node's weights, the feature maps of one test image, the class chart (`byClass`). */
import type { LayerPageMessage, WeightsView } from '../../shared/webviewProtocol';
import { fmt, dims, legend } from '../pixelCanvas';
import { button, el, figure, pixelCanvas, section } from '../dom';
import { byClass, byClassSection } from './byClass';
import { header, MAX_CANVASES, type Send, type WebviewPage } from './page';

export const layerPage: WebviewPage<'layer'> = {
  kind: 'layer',
  link: { label: 'Layer', icon: 'layers', title: 'Layer page: all nodes of this layer' },
  draw: (m, send) => drawLayerPage(m, send),
  where: (m) => ({ layer: m.layer }),
  step: (m, dir) => {
    const f = m.featureMaps;
    return f && f.index + dir >= 0 && f.index + dir < f.images ? { type: 'selectImage', index: f.index + dir } : undefined;
  },
  update: (u) => {
    if (u.type === 'byClass') byClass(u.chart, u.note);
  },
};

/** Tiles drawn per node on a layer page (one per input channel); the caption says when a node has more. */
const TILES_PER_NODE = 16;

/**
 * Every node's weight tiles, a page of nodes at a time when the layer has more than MAX_CANVASES tiles to
 * draw, with "showing N of M" and buttons to page through the rest.
 */
function layerWeightTiles(m: LayerPageMessage, w: WeightsView, send: Send): HTMLElement[] {
  const lim = Math.max(Math.abs(w.min), Math.abs(w.max));
  const perNode = Math.max(1, Math.min(TILES_PER_NODE, ...w.tiles.map((t) => t.length)));
  const nodesPerPage = Math.max(1, Math.floor(MAX_CANVASES / perNode));
  const count = w.tiles.length;
  const grid = el('div', 'node-grid');
  grid.id = 'weight-grid';
  const pager = el('div', 'toolbar pager');
  const totalTiles = w.tiles.reduce((a, t) => a + t.length, 0);
  const cut = w.tiles.some((t) => t.length > TILES_PER_NODE);
  const draw = (first: number) => {
    const last = Math.min(count, first + nodesPerPage);
    grid.replaceChildren();
    let drawn = 0;
    for (let n = first; n < last; n++) {
      const tiles = w.tiles[n];
      const node = w.nodes[n];
      const fig = el('figure', 'figure node-tile');
      fig.tabIndex = 0;
      fig.title = `node ${node}: open the node page`;
      fig.dataset.node = String(node);
      const shown = tiles.slice(0, TILES_PER_NODE);
      shown.forEach((t, i) => {
        const c = pixelCanvas(t, 'signed', 'weights', node, { lim, target: 56, rgb: w.rgb });
        c.dataset.tile = String(i);
        fig.append(c);
        drawn++;
      });
      fig.append(el('figcaption', undefined, tiles.length > shown.length ? `${node} (${shown.length}/${tiles.length})` : String(node)));
      const open = () => send({ type: 'selectNode', layer: m.layer, node });
      fig.addEventListener('click', open);
      fig.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          open();
        }
      });
      grid.append(fig);
    }
    pager.replaceChildren();
    if (count > nodesPerPage || cut) {
      const text = `Showing ${drawn} of ${totalTiles} tiles: nodes ${w.nodes[first]}–${w.nodes[last - 1]} of ${count}${cut ? `, the first ${TILES_PER_NODE} input channels of each (the node page shows all)` : ''}.`;
      const note = el('span', 'note');
      note.id = 'weights-shown';
      note.textContent = text;
      if (count > nodesPerPage) {
        const prev = button('Previous', 'arrow-left', () => draw(Math.max(0, first - nodesPerPage)), {
          secondary: true,
          title: `Nodes before ${w.nodes[first]}`,
        });
        const next = button('Next', 'arrow-right', () => draw(first + nodesPerPage), { secondary: true, title: `Nodes after ${w.nodes[last - 1]}` });
        prev.toggleAttribute('disabled', first === 0);
        next.toggleAttribute('disabled', last >= count);
        prev.id = 'weights-prev';
        next.id = 'weights-next';
        pager.append(prev, next);
      }
      pager.prepend(note);
    }
  };
  draw(0);
  return [pager, grid, legend(w.rgb ? 'signedRgb' : 'signed', w.min, w.max, 'weight')];
}

function drawLayerPage(m: LayerPageMessage, send: Send): HTMLElement {
  const root = el('div', 'page');
  const layer = m.model.layers[m.layer];
  const tools: HTMLElement[] = m.featureMaps && !m.featureMaps.picked ? imageStepper(m.featureMaps, send) : [];
  root.append(
    header(layer?.name ?? `layer ${m.layer}`, `${m.model.name} — ${layer?.className ?? ''} [${layer?.outputShape.join(', ') ?? ''}], ${m.nodes} nodes`, tools),
  );

  const ws = section(`Weights of all ${m.nodes} nodes`);
  if (m.weights) {
    ws.body.append(...layerWeightTiles(m, m.weights, send));
  } else ws.body.append(el('p', 'note', 'This layer has no weights.'));
  root.append(ws.root);
  root.append(featureMapsSection(m, send));
  // The class chart needs a dataset: a model without a lens file has none, so no section waits for it.
  if (m.model.lens) root.append(byClassSection());
  return root;
}

/** The header's tools to step through the test images: previous, the index to type, next. */
function imageStepper(fmI: NonNullable<LayerPageMessage['featureMaps']>, send: Send): HTMLElement[] {
  const prev = button('', 'arrow-left', () => fmI.index > 0 && send({ type: 'selectImage', index: fmI.index - 1 }), {
    secondary: true,
    title: 'Previous image (←)',
  });
  const next = button('', 'arrow-right', () => fmI.index + 1 < fmI.images && send({ type: 'selectImage', index: fmI.index + 1 }), {
    secondary: true,
    title: 'Next image (→)',
  });
  const input = document.createElement('vscode-textfield') as HTMLElement & { value: string; type: string };
  input.type = 'number';
  input.value = String(fmI.index);
  input.id = 'image-index';
  input.title = `Test image index (0–${fmI.images - 1})`;
  input.addEventListener('change', () => {
    const v = Number(input.value);
    if (Number.isInteger(v) && v >= 0 && v < fmI.images) send({ type: 'selectImage', index: v });
  });
  return [el('span', 'node-count', 'image'), prev, input, next];
}

/** The feature maps of the image shown (or the note saying why there are none), with their legends. */
function featureMapsSection(m: LayerPageMessage, send: Send): HTMLElement {
  const fs = section(
    m.featureMaps
      ? m.featureMaps.picked
        ? `Feature maps for the picked image ${m.featureMaps.picked}`
        : `Feature maps for test image #${m.featureMaps.index} (${m.featureMaps.className})`
      : 'Feature maps',
  );
  if (m.featureMaps) {
    const f = m.featureMaps;
    const d = dims(f.image.shape);
    const lim = Math.max(Math.abs(f.min), Math.abs(f.max));
    const row = el('div', 'fm-row');
    row.append(figure([pixelCanvas(f.image, 'image', 'input', 0, { target: 112, rgb: d.c === 3 })], 'input'));
    const grid = el('div', 'node-grid');
    const shape = f.maps.shape;
    const data = new Float32Array(f.maps.data);
    if (shape.length === 3) grid.append(...mapTiles(m.layer, shape, data, lim, send));
    else grid.append(activationVector(m.layer, f.maps.data, data, lim, send));
    row.append(grid);
    fs.body.append(row, legend('image', 0, 1, 'input'), legend('signed', f.min, f.max, 'activation'));
  } else fs.body.append(el('p', 'note', m.note ?? 'No dataset.'));
  return fs.root;
}

/** One tile per channel of `[h, w, n]` maps (the first MAX_CANVASES), each opening its node's page. */
function mapTiles(layer: number, [h, w, n]: number[], data: Float32Array, lim: number, send: Send): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (n > MAX_CANVASES) out.push(el('p', 'note', `Showing the first ${MAX_CANVASES} of ${n} feature maps.`));
  for (let k = 0; k < Math.min(n, MAX_CANVASES); k++) {
    const one = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) one[i] = data[i * n + k];
    const c = pixelCanvas({ shape: [h, w], data: one.buffer }, 'signed', 'feature-map', k, { lim, target: 56 });
    const fig = figure([c], String(k), 'figure node-tile');
    fig.tabIndex = 0;
    fig.dataset.node = String(k);
    fig.addEventListener('click', () => send({ type: 'selectNode', layer, node: k }));
    out.push(fig);
  }
  return out;
}

/** A dense layer's activations as one strip, with each value listed (and opening its node's page) up to 32 nodes. */
function activationVector(layer: number, buffer: ArrayBuffer, data: Float32Array, lim: number, send: Send): HTMLElement {
  const c = pixelCanvas({ shape: [1, data.length], data: buffer }, 'signed', 'feature-map', 0, {
    lim,
    target: Math.min(640, Math.max(160, data.length * 4)),
  });
  c.classList.add('vector');
  const fig = figure([c], `${data.length} activations`);
  if (data.length <= 32) {
    const vals = el('div', 'values');
    data.forEach((v, k) => {
      const b = el('span', 'value', `${k}: ${fmt(v)}`);
      b.tabIndex = 0;
      b.title = `node ${k}: open the node page`;
      b.addEventListener('click', () => send({ type: 'selectNode', layer, node: k }));
      vals.append(b);
    });
    fig.append(vals);
  }
  return fig;
}

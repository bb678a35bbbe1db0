/**
 * The comparison page of two models: the cross test (error of each model on each lens file's test split, own
 * data marked), the confusion matrices of the cells that have one, node matching (compareMatching.ts), the layer
 * activation by class of both models side by side, and (models of one architecture) the same node of both.
 */
import type { ComparePageMessage } from '../../shared/webviewProtocol';
import type { CompareResult } from '../../shared/protocol';
import { heatMap } from '../charts';
import { button, el, figure, section } from '../dom';
import { byClass, byClassSection } from './byClass';
import { layerPicker, matchingSection } from './compareMatching';
import { header, type Send, type WebviewPage } from './page';

export { sortPairs } from './compareMatching';

export const comparePage: WebviewPage<'compare'> = {
  kind: 'compare',
  link: { label: 'Compare', icon: 'diff', title: 'Comparison page: cross test and node matching of the two models' },
  draw: (m, send) => drawComparePage(m, send),
  where: (m) => ({ layer: m.result.matching.layerA.index }),
  update: (u) => {
    if (u.type === 'byClass' && u.side) byClass(u.chart, u.note, `by-class-${u.side}`);
  },
};

const pct = (e: number | null) => (e === null ? '—' : `${(100 * e).toFixed(2)}%`);

function drawComparePage(m: ComparePageMessage, send: Send): HTMLElement {
  const r = m.result;
  const root = el('div', 'page compare');
  root.append(header(`${r.a.name} vs ${r.b.name}`, `A: ${r.a.lens} · B: ${r.b.lens}`, []));
  root.append(crossTestSection(r), matchingSection(m, send), byClassPair(m), sameNodeSection(m, send));
  return root;
}

/** Rows the models, columns the datasets; the cell of a model on its own lens file's data is marked. */
function crossTestSection(r: CompareResult): HTMLElement {
  const s = section('Cross test', 'cross-test');
  const t = r.crossTest;
  const table = el('table', 'layers cross-test');
  table.createCaption().textContent = 'Test error of each model (rows) on each lens file’s test split (columns); ◆ marks a model on its own data.';
  const head = el('tr');
  head.append(el('th', undefined, 'model \\ dataset'));
  for (const d of t.datasets) {
    const th = el('th', undefined, `${d.name} (${d.images} images)`);
    th.scope = 'col';
    head.append(th);
  }
  table.append(head);
  t.models.forEach((name, i) => {
    const tr = el('tr');
    const th = el('th', undefined, name);
    th.scope = 'row';
    tr.append(th);
    t.cells[i].forEach((c, j) => {
      const own = i === j;
      const td = el('td', own ? 'own' : undefined, own ? `◆ ${pct(c.error)}` : pct(c.error));
      td.dataset.model = String(i);
      td.dataset.dataset = String(j);
      if (c.error !== null) td.dataset.error = String(c.error);
      if (own) td.dataset.own = 'true';
      td.title = `${name} on ${t.datasets[j].name}: ${c.note ?? `${c.images} images`}${own ? ' (its own data)' : ''}`;
      tr.append(td);
    });
    table.append(tr);
  });
  s.body.append(table);
  const row = el('div', 'charts');
  t.cells.forEach((cells, i) =>
    cells.forEach((c, j) => {
      if (!c.confusion?.length) return;
      const d = t.datasets[j];
      const outputs = c.confusion[0].length;
      const own = t.datasets[i]?.classes;
      const cols = own && own.length === outputs ? own : Array.from({ length: outputs }, (_, k) => String(k));
      const cm = heatMap(
        c.confusion,
        d.classes.map((k) => `true ${k}`),
        cols.map((k) => `pred ${k}`),
        { normalize: 'all' },
      );
      row.append(figure([cm], `${t.models[i]} on ${d.name} (counts)`));
    }),
  );
  if (row.childElementCount) s.body.append(row);
  return s.root;
}

/** Each model's class × layer chart (from its stored index), side by side; each highlights its matched layer. */
function byClassPair(m: ComparePageMessage): HTMLElement {
  const s = section('Layer activation by class', 'by-class-pair');
  const row = el('div', 'charts by-class-pair');
  row.append(byClassSection('by-class-a', `A: ${m.result.a.name}`), byClassSection('by-class-b', `B: ${m.result.b.name}`));
  s.body.append(row, el('p', 'note', "Each model on its own lens file's test split; the highlighted column is the layer node matching uses."));
  return s.root;
}

/** Models of one architecture: a layer and a node, opened in both models side by side; otherwise why not. */
function sameNodeSection(m: ComparePageMessage, send: Send): HTMLElement {
  const s = section('Same node of both models', 'same-node');
  if (m.architectureDifference) {
    s.body.append(
      el(
        'p',
        'note',
        `The two models differ (${m.architectureDifference}), so there is no "same node"; ⇆ in the node matching table opens a matched pair side by side.`,
      ),
    );
    return s.root;
  }
  let layer = m.result.matching.layerA.index;
  const nodes = () => m.model.layers[layer]?.nodes ?? 0;
  const input = el('input', 'node-number');
  input.type = 'number';
  input.min = '0';
  input.value = '0';
  input.setAttribute('aria-label', 'Node');
  const fit = () => (input.max = String(Math.max(0, nodes() - 1)));
  fit();
  const picker = layerPicker('same', 'Layer: ', m.model, layer, (v) => {
    layer = v;
    fit();
  });
  const node = el('label', 'picker', ' Node: ');
  node.append(input);
  const open = button(
    'Open Side by Side',
    'split-horizontal',
    () => {
      const n = Math.min(Math.max(0, Math.floor(Number(input.value) || 0)), nodes() - 1);
      send({ type: 'compareNodes', layer, node: n, otherLayer: layer, otherNode: n });
    },
    { title: "This node's page of both models, side by side: weights and top images" },
  );
  const bar = el('div', 'toolbar pickers');
  bar.append(picker, node, open);
  s.body.append(el('p', 'note', 'Both models have the same layers (names, shapes and weights): pick a layer and a node to see it in both.'), bar);
  return s.root;
}

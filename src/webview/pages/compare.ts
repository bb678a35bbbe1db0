/**
 * The comparison page of two models: the cross test (error of each model on each lens file's test split, own
 * data marked), the confusion matrices of the cells that have one, and node matching (each node of A's layer,
 * its best-correlated node of B's layer, the correlation; sortable; a click opens the node's page).
 */
import type { ComparePageMessage } from '../../shared/webviewProtocol';
import type { CompareResult, NodeMatchPair } from '../../shared/protocol';
import { heatMap } from '../charts';
import { el, figure, section } from '../dom';
import { header, type Send, type WebviewPage } from './page';

export const comparePage: WebviewPage<'compare'> = {
  kind: 'compare',
  link: { label: 'Compare', icon: 'diff', title: 'Comparison page: cross test and node matching of the two models' },
  draw: (m, send) => drawComparePage(m, send),
  where: (m) => ({ layer: m.result.matching.layerA.index }),
};

const pct = (e: number | null) => (e === null ? '—' : `${(100 * e).toFixed(2)}%`);
const corr = (c: number) => (Number.isFinite(c) ? c.toFixed(3) : '—');

function drawComparePage(m: ComparePageMessage, send: Send): HTMLElement {
  const r = m.result;
  const root = el('div', 'page compare');
  root.append(header(`${r.a.name} vs ${r.b.name}`, `A: ${r.a.lens} · B: ${r.b.lens}`, []));
  root.append(crossTestSection(r), matchingSection(m, send));
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

type SortOrder = 'node' | 'desc' | 'asc';
const NEXT: Record<SortOrder, SortOrder> = { node: 'desc', desc: 'asc', asc: 'node' };
const ARIA: Record<SortOrder, string> = { node: 'none', desc: 'descending', asc: 'ascending' };

/** Sorted by correlation (a constant node's NaN last), or by A's node. */
export function sortPairs(pairs: readonly NodeMatchPair[], order: SortOrder): NodeMatchPair[] {
  const key = (p: NodeMatchPair) => (Number.isFinite(p.correlation) ? p.correlation : order === 'desc' ? -Infinity : Infinity);
  const out = [...pairs];
  if (order === 'node') return out.sort((x, y) => x.a - y.a);
  return out.sort((x, y) => (order === 'desc' ? key(y) - key(x) : key(x) - key(y)) || x.a - y.a);
}

/** The layer picker (A's layers with nodes), the best-match table, a click on a node opens its page. */
function matchingSection(m: ComparePageMessage, send: Send): HTMLElement {
  const n = m.result.matching;
  const s = section('Node matching', 'node-matching');
  s.body.append(layerPicker(m, send));
  s.body.append(
    el(
      'p',
      'note',
      `Each node of ${n.layerA.name} (A) and its best-correlated node of ${n.layerB.name} (B), over ${n.images} images of ${n.dataset} (${n.samples} samples, ${n.sampling === 'positions' ? 'per image and position' : 'spatial means'}). Click a node to open its page.`,
    ),
  );
  const oneToOne = new Map(n.oneToOne.map((p) => [p.a, p.b]));
  const table = el('table', 'layers matching');
  const head = el('tr');
  const sortButton = el('button', 'sort', 'correlation');
  sortButton.type = 'button';
  const corrTh = el('th');
  corrTh.append(sortButton);
  head.append(
    el('th', undefined, `A node (${n.layerA.name})`),
    el('th', undefined, `best B node (${n.layerB.name})`),
    corrTh,
    el('th', undefined, 'one-to-one B node'),
  );
  const body = el('tbody');
  table.append(el('thead'), body);
  table.tHead!.append(head);
  let order: SortOrder = 'desc';
  const fill = () => {
    corrTh.setAttribute('aria-sort', ARIA[order]);
    sortButton.title = `Sorted ${order === 'node' ? "by A's node" : `by correlation, ${ARIA[order]}`}: press to sort ${NEXT[order] === 'node' ? "by A's node" : `by correlation, ${ARIA[NEXT[order]]}`}`;
    sortButton.textContent = `correlation ${order === 'desc' ? '▼' : order === 'asc' ? '▲' : ''}`.trim();
    body.replaceChildren(
      ...sortPairs(n.bestAtoB, order).map((p) => {
        const tr = el('tr');
        tr.dataset.a = String(p.a);
        tr.dataset.b = String(p.b);
        tr.dataset.correlation = String(p.correlation);
        const o = oneToOne.get(p.a);
        const cell = (child: Node | string) => {
          const td = el('td');
          td.append(child);
          return td;
        };
        tr.append(
          cell(nodeLink(`${p.a}`, `Open node ${p.a} of ${n.layerA.name} (A)`, () => send({ type: 'selectNode', layer: n.layerA.index, node: p.a }))),
          cell(nodeLink(`${p.b}`, `Open node ${p.b} of ${n.layerB.name} (B)`, () => send({ type: 'openOtherNode', layer: n.layerB.index, node: p.b }))),
          cell(corr(p.correlation)),
          cell(
            o === undefined
              ? '—'
              : nodeLink(`${o}`, `Open node ${o} of ${n.layerB.name} (B)`, () => send({ type: 'openOtherNode', layer: n.layerB.index, node: o })),
          ),
        );
        return tr;
      }),
    );
  };
  sortButton.addEventListener('click', () => {
    order = NEXT[order];
    fill();
  });
  fill();
  s.body.append(table);
  return s.root;
}

/** A node number that opens the node's page (a button: Tab reaches it, Enter and Space press it). */
function nodeLink(text: string, title: string, open: () => void): HTMLElement {
  const b = el('button', 'link', text);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', open);
  return b;
}

/**
 * A's layers with nodes. Choosing one keeps B's layer, except when the pair on screen is the same layer of both
 * (same index and name: likely one architecture), where B follows to the same index.
 */
function layerPicker(m: ComparePageMessage, send: Send): HTMLElement {
  const label = el('label', 'picker', 'Layer of A: ');
  const select = el('select');
  for (const l of m.model.layers.filter((x) => x.nodes > 0)) {
    const o = el('option', undefined, `${l.name} (${l.nodes} nodes)`);
    o.value = String(l.index);
    o.selected = l.index === m.result.matching.layerA.index;
    select.append(o);
  }
  const { layerA, layerB } = m.result.matching;
  const follow = layerA.index === layerB.index && layerA.name === layerB.name;
  select.addEventListener('change', () =>
    send({ type: 'compareLayers', layer: Number(select.value), otherLayer: follow ? Number(select.value) : layerB.index }),
  );
  label.append(select);
  return label;
}

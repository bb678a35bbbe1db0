/**
 * The comparison page's node matching: a layer picker for each model (another pair re-runs node matching only),
 * and the table of each node of A's layer with its best-correlated node of B's layer and the correlation,
 * sortable. A node number opens that model's node page; a pair's ⇆ opens both node pages side by side.
 */
import { followLayer } from '../../shared/architecture';
import type { NodeMatchPair } from '../../shared/protocol';
import type { ComparePageMessage, ModelSummary } from '../../shared/webviewProtocol';
import { el, section } from '../dom';
import type { Send } from './page';

type SortOrder = 'node' | 'desc' | 'asc';
const NEXT: Record<SortOrder, SortOrder> = { node: 'desc', desc: 'asc', asc: 'node' };
const ARIA: Record<SortOrder, string> = { node: 'none', desc: 'descending', asc: 'ascending' };
const corr = (c: number) => (Number.isFinite(c) ? c.toFixed(3) : '—');

/** Sorted by correlation (a constant node's NaN last), or by A's node. */
export function sortPairs(pairs: readonly NodeMatchPair[], order: SortOrder): NodeMatchPair[] {
  const key = (p: NodeMatchPair) => (Number.isFinite(p.correlation) ? p.correlation : order === 'desc' ? -Infinity : Infinity);
  const out = [...pairs];
  if (order === 'node') return out.sort((x, y) => x.a - y.a);
  return out.sort((x, y) => (order === 'desc' ? key(y) - key(x) : key(x) - key(y)) || x.a - y.a);
}

/** A button (Tab reaches it, Enter and Space press it) that opens a node's page, or both. */
export function nodeLink(text: string, title: string, open: () => void): HTMLElement {
  const b = el('button', 'link', text);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', open);
  return b;
}

/** Both pickers, the note, the table. */
export function matchingSection(m: ComparePageMessage, send: Send): HTMLElement {
  const n = m.result.matching;
  const s = section('Node matching', 'node-matching');
  const pickers = el('div', 'toolbar pickers');
  pickers.append(
    layerPicker('a', 'Layer of A: ', m.model, n.layerA.index, (v) => send({ type: 'compareLayers', layer: v, otherLayer: followLayer(v, n) })),
    layerPicker('b', 'Layer of B: ', m.other, n.layerB.index, (v) => send({ type: 'compareLayers', layer: n.layerA.index, otherLayer: v })),
  );
  s.body.append(pickers);
  s.body.append(
    el(
      'p',
      'note',
      `Each node of ${n.layerA.name} (A) and its best-correlated node of ${n.layerB.name} (B), over ${n.images} images of ${n.dataset} (${n.samples} samples, ${n.sampling === 'positions' ? 'per image and position' : 'spatial means'}). Click a node to open its page, ⇆ to open both side by side. Another layer re-runs node matching only.`,
    ),
  );
  s.body.append(matchingTable(m, send));
  return s.root;
}

function matchingTable(m: ComparePageMessage, send: Send): HTMLElement {
  const n = m.result.matching;
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
    el('th', undefined, 'side by side'),
  );
  const body = el('tbody');
  table.append(el('thead'), body);
  table.tHead!.append(head);
  let order: SortOrder = 'desc';
  const cell = (child: Node | string) => {
    const td = el('td');
    td.append(child);
    return td;
  };
  const openB = (node: number) => () => send({ type: 'openOtherNode', layer: n.layerB.index, node });
  const row = (p: NodeMatchPair) => {
    const tr = el('tr');
    tr.dataset.a = String(p.a);
    tr.dataset.b = String(p.b);
    tr.dataset.correlation = String(p.correlation);
    const o = oneToOne.get(p.a);
    tr.append(
      cell(nodeLink(`${p.a}`, `Open node ${p.a} of ${n.layerA.name} (A)`, () => send({ type: 'selectNode', layer: n.layerA.index, node: p.a }))),
      cell(nodeLink(`${p.b}`, `Open node ${p.b} of ${n.layerB.name} (B)`, openB(p.b))),
      cell(corr(p.correlation)),
      cell(o === undefined ? '—' : nodeLink(`${o}`, `Open node ${o} of ${n.layerB.name} (B)`, openB(o))),
      cell(
        nodeLink('⇆', `Open node ${p.a} of ${n.layerA.name} (A) and node ${p.b} of ${n.layerB.name} (B) side by side`, () =>
          send({ type: 'compareNodes', layer: n.layerA.index, node: p.a, otherLayer: n.layerB.index, otherNode: p.b }),
        ),
      ),
    );
    return tr;
  };
  const fill = () => {
    corrTh.setAttribute('aria-sort', ARIA[order]);
    sortButton.title = `Sorted ${order === 'node' ? "by A's node" : `by correlation, ${ARIA[order]}`}: press to sort ${NEXT[order] === 'node' ? "by A's node" : `by correlation, ${ARIA[NEXT[order]]}`}`;
    sortButton.textContent = `correlation ${order === 'desc' ? '▼' : order === 'asc' ? '▲' : ''}`.trim();
    body.replaceChildren(...sortPairs(n.bestAtoB, order).map(row));
  };
  sortButton.addEventListener('click', () => {
    order = NEXT[order];
    fill();
  });
  fill();
  return table;
}

/** A model's layers with nodes; `side` names the picker (`label.picker.layer-a`, `.layer-b`). */
export function layerPicker(side: string, text: string, model: ModelSummary, current: number, onChange: (layer: number) => void): HTMLElement {
  const label = el('label', `picker layer-${side}`, text);
  const select = el('select');
  for (const l of model.layers.filter((x) => x.nodes > 0)) {
    const o = el('option', undefined, `${l.name} (${l.nodes} nodes)`);
    o.value = String(l.index);
    o.selected = l.index === current;
    select.append(o);
  }
  select.addEventListener('change', () => onChange(Number(select.value)));
  label.append(select);
  return label;
}

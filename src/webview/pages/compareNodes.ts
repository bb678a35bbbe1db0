/**
 * Node pages of two models side by side: A's node page (left) and B's (right), each drawn by the node page's own
 * module. What a column asks for is re-aimed at this page: another node of a column keeps the other column
 * (models of one architecture: both move to it), a method or ranking applies to both; activation maximization
 * and picked images stay on the single node pages.
 */
import type { CompareNodesPageMessage, NodePageMessage, WebviewMessage } from '../../shared/webviewProtocol';
import { button, el } from '../dom';
import { nodePage } from './node';
import { header, type Send, type WebviewPage } from './page';

export const compareNodesPage: WebviewPage<'compareNodes'> = {
  kind: 'compareNodes',
  link: { label: 'Side by Side', icon: 'split-horizontal', title: 'Node pages of both models side by side' },
  draw: (m, send) => drawCompareNodes(m, send),
  where: (m) => ({ layer: m.a.layer, node: m.a.node }),
  step: (m, dir) => moveTo(m, 'a', m.a.layer, m.a.node + dir),
};

/** The page for node `node` of `layer` on `side`, or undefined when there is no such node. */
export function moveTo(m: CompareNodesPageMessage, side: 'a' | 'b', layer: number, node: number): WebviewMessage | undefined {
  const page = side === 'a' ? m.a : m.b;
  const nodes = page.model.layers[layer]?.nodes ?? 0;
  if (node < 0 || node >= nodes) return undefined;
  const same = !m.architectureDifference;
  if (side === 'a') return { type: 'compareNodes', layer, node, otherLayer: same ? layer : m.b.layer, otherNode: same ? node : m.b.node };
  return same
    ? { type: 'compareNodes', layer, node, otherLayer: layer, otherNode: node }
    : { type: 'compareNodes', layer: m.a.layer, node: m.a.node, otherLayer: layer, otherNode: node };
}

/** What a column's node page sends, re-aimed at this page (undefined: dropped). */
function columnSend(m: CompareNodesPageMessage, side: 'a' | 'b', send: Send): Send {
  return (msg) => {
    if (msg.type === 'selectNode') {
      const to = moveTo(m, side, msg.layer, msg.node);
      if (to) send(to);
    } else if (msg.type === 'setMethod' || msg.type === 'setMetric' || msg.type === 'log' || msg.type === 'painted') send(msg);
  };
}

function column(m: CompareNodesPageMessage, side: 'a' | 'b', page: NodePageMessage, send: Send): HTMLElement {
  const col = el('div', 'side');
  col.dataset.side = side;
  const content = nodePage.draw(page, columnSend(m, side, send));
  // Activation maximization, Randomize Weights and the time-lapse run on a single node page (they follow the
  // panel's one node): not offered in a column.
  for (const sel of ['#maximize', '#randomize', '#timelapse', '.sanity', '.sanity-legend']) content.querySelectorAll(sel).forEach((e) => e.remove());
  for (const b of content.querySelectorAll('vscode-button')) if (/Maximize/.test(b.textContent ?? '')) b.remove();
  const open =
    side === 'a'
      ? () => send({ type: 'selectNode', layer: page.layer, node: page.node })
      : () => send({ type: 'openOtherNode', layer: page.layer, node: page.node });
  col.append(
    el('div', 'side-title', side === 'a' ? `A: ${m.model.name}` : `B: ${m.other.name}`),
    button('Open Node Page', 'link-external', open, { secondary: true, title: `Open this node's page of model ${side.toUpperCase()}` }),
    content,
  );
  return col;
}

function drawCompareNodes(m: CompareNodesPageMessage, send: Send): HTMLElement {
  const root = el('div', 'page compare-nodes');
  const la = m.a.model.layers[m.a.layer]?.name ?? `layer ${m.a.layer}`;
  const lb = m.b.model.layers[m.b.layer]?.name ?? `layer ${m.b.layer}`;
  root.append(
    header(
      `${la} · node ${m.a.node} ⇆ ${lb} · node ${m.b.node}`,
      `A: ${m.model.name} · B: ${m.other.name} (${m.architectureDifference ?? 'one architecture'}); weights and projections of both on one colour scale`,
      [],
    ),
  );
  const row = el('div', 'side-by-side');
  row.append(column(m, 'a', m.a, send), column(m, 'b', m.b, send));
  root.append(row);
  return root;
}

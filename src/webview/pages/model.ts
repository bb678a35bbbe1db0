/** The model page: summary and layers, training curves and confusion matrix, the class chart (`byClass`). */
import type { ModelPageMessage } from '../../shared/webviewProtocol';
import { heatMap, lineChart } from '../charts';
import { button, el, figure, section } from '../dom';
import { byClass, byClassSection } from './byClass';
import { header, type Send, type WebviewPage } from './page';

export const modelPage: WebviewPage<'model'> = {
  kind: 'model',
  link: { label: 'Model', icon: 'symbol-structure', title: 'Model page: summary, training curves, confusion matrix' },
  draw: (m, send) => drawModelPage(m, send),
  where: () => ({}),
  update: (u) => {
    if (u.type === 'byClass') byClass(u.chart, u.note);
  },
};

function drawModelPage(m: ModelPageMessage, send: Send): HTMLElement {
  const root = el('div', 'page');
  root.append(header(m.model.name, m.model.path, []));
  const sum = section('Summary');
  const dl = el('dl', 'summary');
  const add = (k: string, v: string) => dl.append(el('dt', undefined, k), el('dd', undefined, v));
  add('layers', String(m.model.layers.length));
  add('parameters', m.model.totalParams.toLocaleString('en-US'));
  add('input', `[${m.model.inputShape.join(', ')}]`);
  if (m.model.preprocess) add('preprocess', m.model.preprocess);
  add('backend', m.model.backend);
  if (m.training) {
    const t = m.training;
    add('test accuracy', `${(100 * t.testAccuracy).toFixed(2)}% (error ${(100 * t.testError).toFixed(2)}%)`);
    add('train accuracy', `${(100 * t.trainAccuracy).toFixed(2)}%`);
    add('training', `${t.epochs} epochs in ${t.seconds.toFixed(1)} s on ${t.backend}`);
    for (const c of t.crossTests ?? []) add(c.name, `accuracy ${(100 * c.accuracy).toFixed(2)}% (error ${(100 * c.error).toFixed(2)}%)`);
  }
  sum.body.append(dl);
  if (m.model.note) sum.body.append(el('p', 'note', m.model.note));
  if (!m.state.lens) {
    // Without a lens file there is no dataset: weights, activation maximization and pages of one image only.
    const offer = el('p', 'note', 'No lens file names this model, so there is no dataset to rank images by. ');
    offer.append(
      button('Create Lens File…', 'new-file', () => send({ type: 'createLens' }), {
        secondary: true,
        title: 'Write a lens file for this model, with a dataset you pick',
      }),
    );
    sum.body.append(offer);
  }
  const table = el('table', 'layers');
  const head = el('tr');
  for (const h of ['#', 'layer', 'class', 'output', 'nodes', 'params']) head.append(el('th', undefined, h));
  table.append(head);
  for (const l of m.model.layers) {
    const tr = el('tr');
    for (const v of [
      String(l.index),
      l.name,
      l.className + (l.activation && l.activation !== 'linear' ? ` (${l.activation})` : ''),
      `[${l.outputShape.join(', ')}]`,
      String(l.nodes),
      l.params.toLocaleString('en-US'),
    ])
      tr.append(el('td', undefined, v));
    table.append(tr);
  }
  sum.body.append(table);
  root.append(sum.root);

  const tr = section('Training');
  if (m.training && m.training.history.length) {
    const h = m.training.history;
    const x = h.map((r) => r.epoch);
    const loss = [{ name: 'train loss', values: h.map((r) => r.loss), x }];
    if (h.some((r) => r.testLoss !== undefined)) loss.push({ name: 'test loss', values: h.map((r) => r.testLoss ?? NaN), x });
    const acc = [{ name: 'train accuracy', values: h.map((r) => r.accuracy), x }];
    if (h.some((r) => r.testAccuracy !== undefined)) acc.push({ name: 'test accuracy', values: h.map((r) => r.testAccuracy ?? NaN), x });
    const row = el('div', 'charts');
    row.append(
      figure([lineChart(loss, { xLabel: 'epoch' })], 'loss'),
      figure([lineChart(acc, { xLabel: 'epoch', yMin: Math.min(...acc.flatMap((s) => s.values.filter(Number.isFinite)), 0.9), yMax: 1 })], 'accuracy'),
    );
    tr.body.append(row);
    const t = m.training;
    const cm = heatMap(
      t.confusion.map((r) => r.map(Number)),
      t.classes.map((c) => `true ${c}`),
      t.classes.map((c) => `pred ${c}`),
      { normalize: 'all' },
    );
    tr.body.append(figure([cm], 'confusion matrix on the test split (counts)'));
  } else tr.body.append(el('p', 'note', m.note ?? 'No training results.'));
  root.append(tr.root);
  if (m.model.lens) root.append(byClassSection());
  return root;
}

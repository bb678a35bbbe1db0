/**
 * The layer activation by class chart, on the layer and model pages (and one per model on the comparison page,
 * `id` telling them apart): a section first, the chart when it comes.
 */
import type { ByClassView } from '../../shared/webviewProtocol';
import { heatMap } from '../charts';
import { el, section } from '../dom';

export function byClassSection(id = 'by-class', title = 'Layer activation by class'): HTMLElement {
  const s = section(title, id);
  s.body.append(el('p', 'note', 'Reading the mean Frobenius norm of each layer per class over the test split…'));
  return s.root;
}

export function byClass(chart: ByClassView | undefined, note?: string, id = 'by-class'): void {
  const box = document.querySelector(`#${id} .section-body`);
  if (!box) return;
  if (!chart) {
    box.replaceChildren(el('p', 'note', note ?? 'No chart.'));
    return;
  }
  box.replaceChildren(
    heatMap(chart.norms, chart.classes, chart.layerNames, { normalize: 'column', highlightCol: chart.highlight }),
    el(
      'p',
      'note',
      'Mean over the test images of each class of the Frobenius norm of the whole layer activation. Each column is coloured on its own scale, from white at its smallest to red at its largest value; the numbers are the real values.',
    ),
  );
}

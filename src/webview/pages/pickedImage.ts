/**
 * The node page's picked image, for a model without a lens file: "Pick Image…" (a file dialog on the host), and
 * the image with the node's feature map and projection, drawn like one column of the top images.
 */
import { PROJECTION_METHOD_LABELS } from '../../shared/protocol';
import type { NodePageMessage } from '../../shared/webviewProtocol';
import { dims, fmt, legend, range } from '../pixelCanvas';
import { button, el, pixelCanvas, section } from '../dom';
import type { Send } from './page';

export function pickedImageSection(m: NodePageMessage, send: Send): HTMLElement {
  const p = m.picked;
  const s = section(p ? `Picked image: ${p.name}` : 'Picked image', 'picked-image');
  const bar = el('div', 'toolbar');
  const pick = button(p ? 'Pick Another Image…' : 'Pick Image…', 'file-media', () => send({ type: 'pickImage' }), {
    title: 'See this node through an image file of the workspace (PNG or JPEG), fitted to the model input',
  });
  pick.id = 'pick-image';
  bar.append(pick);
  if (p) {
    const clear = button('Clear', 'close', () => send({ type: 'clearImage' }), { secondary: true, title: 'Forget the picked image' });
    clear.id = 'clear-image';
    bar.append(clear);
  }
  s.body.append(bar);
  if (!p) {
    s.body.append(
      el('p', 'note', `${m.topNote ?? 'This model has no lens file.'} Pick an image to see this node's feature map and its projection to pixel space for it.`),
    );
    return s.root;
  }
  if (p.error || !p.image || !p.featureMap) {
    s.body.append(el('p', 'note warn', p.error ?? 'The picked image could not be read.'));
    return s.root;
  }
  const grid = el('div', 'top-grid');
  grid.style.gridTemplateColumns = 'max-content minmax(48px, 160px)';
  const cap = el('div', 'col-label');
  cap.append(el('div', 'strong', p.name), el('div', 'dim', p.score !== undefined ? fmt(p.score) : ''));
  grid.append(el('div', 'row-label', ''), cap);
  const fm = range(new Float32Array(p.featureMap.data));
  const fmLim = Math.max(Math.abs(fm.min), Math.abs(fm.max));
  const d = dims(p.image.shape);
  grid.append(el('div', 'row-label', 'input'), cell(pixelCanvas(p.image, 'image', 'picked-image', 0, { rgb: d.c === 3 })));
  const mapCell = cell(pixelCanvas(p.featureMap, 'signed', 'picked-feature-map', 0, { lim: fmLim }));
  if (p.featureMap.shape.reduce((a, b) => a * b, 1) === 1) mapCell.append(el('div', 'dim', fmt(new Float32Array(p.featureMap.data)[0])));
  grid.append(el('div', 'row-label', 'feature map'), mapCell);
  grid.append(el('div', 'row-label', `projection: ${PROJECTION_METHOD_LABELS[m.method]}`));
  let pr: { min: number; max: number } | undefined;
  if (p.projection) {
    pr = range(new Float32Array(p.projection.data));
    grid.append(
      cell(
        pixelCanvas(p.projection, 'signed', 'picked-projection', 0, {
          lim: Math.max(Math.abs(pr.min), Math.abs(pr.max)),
          rgb: dims(p.projection.shape).c === 3,
        }),
      ),
    );
  } else grid.append(cell(el('div', 'dim', '—')));
  s.body.append(grid);
  const legends = el('div', 'legends');
  legends.append(legend('image', 0, 1, 'input'), legend('signed', fm.min, fm.max, 'feature map'));
  if (p.projection && pr) legends.append(legend(dims(p.projection.shape).c === 3 ? 'signedRgb' : 'signed', pr.min, pr.max, 'projection'));
  s.body.append(legends);
  if (p.projectionError) s.body.append(el('p', 'note warn', `Projection unavailable: ${p.projectionError}`));
  return s.root;
}

function cell(child: HTMLElement): HTMLElement {
  const c = el('div', 'cell');
  c.append(child);
  return c;
}

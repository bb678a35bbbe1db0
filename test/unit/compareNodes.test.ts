// The side-by-side node pages of a comparison (issue 14), the parts that need no engine: both pages' weights and
// projections on one colour scale (host), where a click in either column moves the pair (webview), and the
// checks of the `compareNodes` message and of B's node in a stored panel state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onOneScale } from '../../src/extension/pages/compareNodes';
import type { LayerShape } from '../../src/shared/architecture';
import { parsePanelState, parseWebviewMessage } from '../../src/shared/webviewChecks';
import type { CompareNodesPageMessage, NodePageMessage } from '../../src/shared/webviewProtocol';
import { moveTo } from '../../src/webview/pages/compareNodes';

const efl: LayerShape[] = [
  { name: 'input', className: 'InputLayer', outputShape: [32, 32, 1], nodes: 1, params: 0 },
  { name: 'hidden', className: 'Dense', outputShape: [2], nodes: 2, params: 2048 },
  { name: 'logits', className: 'Dense', outputShape: [3], nodes: 3, params: 6 },
];

describe('one colour scale for both node pages', () => {
  const page = (weights?: [number, number], projection?: [number, number]) =>
    ({
      type: 'node',
      ...(weights ? { weights: { tiles: [], nodes: [0], rgb: false, min: weights[0], max: weights[1] } } : {}),
      ...(projection ? { projectionRange: { min: projection[0], max: projection[1] } } : {}),
    }) as unknown as NodePageMessage;
  it('weights on the joint range of both, projections too; a page without them keeps none, and the inputs are not changed', () => {
    const a = page([-0.75, 0.7], [-2, 1]);
    const b = page([-0.3, 0.9], [-1, 3]);
    const [sa, sb] = onOneScale(a, b);
    for (const m of [sa, sb]) {
      assert.deepEqual([m.weights?.min, m.weights?.max], [-0.75, 0.9]);
      assert.deepEqual(m.projectionRange, { min: -2, max: 3 });
    }
    assert.deepEqual([a.weights?.min, a.weights?.max, b.weights?.min], [-0.75, 0.7, -0.3], 'the pages given are left as they were');
    const [na, nb] = onOneScale(page(), page([-1, 1]));
    assert.equal(na.weights, undefined);
    assert.deepEqual([nb.weights?.min, nb.weights?.max], [-1, 1], 'nothing to share: its own range');
    assert.equal(nb.projectionRange, undefined);
  });
});

describe('the side-by-side page in the webview', () => {
  const page = (difference?: string) =>
    ({
      a: { layer: 1, node: 0, model: { layers: efl } },
      b: { layer: 2, node: 1, model: { layers: efl } },
      ...(difference ? { architectureDifference: difference } : {}),
    }) as unknown as CompareNodesPageMessage;
  it('moves both models to a node of one architecture, only the clicked side otherwise; no node past the layer', () => {
    assert.deepEqual(moveTo(page(), 'a', 1, 1), { type: 'compareNodes', layer: 1, node: 1, otherLayer: 1, otherNode: 1 });
    assert.deepEqual(moveTo(page(), 'b', 2, 2), { type: 'compareNodes', layer: 2, node: 2, otherLayer: 2, otherNode: 2 });
    assert.deepEqual(moveTo(page('differ'), 'a', 1, 1), { type: 'compareNodes', layer: 1, node: 1, otherLayer: 2, otherNode: 1 });
    assert.deepEqual(moveTo(page('differ'), 'b', 2, 0), { type: 'compareNodes', layer: 1, node: 0, otherLayer: 2, otherNode: 0 });
    assert.equal(moveTo(page(), 'a', 1, 2), undefined, 'hidden has 2 nodes');
    assert.equal(moveTo(page(), 'a', 1, -1), undefined);
  });

  it("checks compareNodes against A's model and B's indices, and keeps B's node in a stored state", () => {
    const bounds = { layers: 3, nodesPerLayer: [1, 2, 3], images: 9 };
    const ok = { type: 'compareNodes', layer: 1, node: 1, otherLayer: 5, otherNode: 40 };
    assert.deepEqual(parseWebviewMessage({ ...ok, extra: 1 }, bounds), ok);
    assert.equal(parseWebviewMessage({ ...ok, node: 2 }, bounds), undefined, 'hidden has 2 nodes');
    assert.equal(parseWebviewMessage({ ...ok, otherNode: -1 }, bounds), undefined);
    assert.equal(parseWebviewMessage({ ...ok, otherLayer: '1' }, bounds), undefined);
    assert.equal(parseWebviewMessage(ok), undefined, 'before the panel shows a model');
    const state = { page: 'compareNodes', model: '/m.json', lens: '/a.lens.json', other: '/b.lens.json', layer: 1, node: 0, otherLayer: 2, otherNode: 1 };
    assert.deepEqual(parsePanelState(state), { ...state, image: undefined, focusImage: undefined });
    assert.equal(parsePanelState({ ...state, otherNode: 1.5 }), undefined);
    assert.equal(parsePanelState({ ...state, other: undefined }), undefined, 'side by side needs B');
  });
});

// The host checks every message the inspector webview sends: unknown types, wrong field types and indices
// out of range are dropped with a reason; pixels leave the host as exact-size buffers.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitingText } from '../../src/extension/pageData';
import { nodePageMessage as nodePage } from '../../src/extension/pages/node';
import { isProjectionMethod, PROJECTION_METHOD_LABELS, PROJECTION_METHODS, type ModelInfo, type NodeInspection } from '../../src/shared/protocol';
import { diverging, dims, fmt } from '../../src/webview/pixelCanvas';
import { packMessage, toPixels, unpackMessage, type PackedMessage } from '../../src/shared/messagePacking';
import { parsePanelState, parseWebviewMessage, type MessageBounds } from '../../src/shared/webviewChecks';

const bounds: MessageBounds = { layers: 3, nodesPerLayer: [8, 0, 10], images: 100 };
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

function dropped(raw: unknown, b: MessageBounds | null = bounds): string {
  const reasons: string[] = [];
  const m = parseWebviewMessage(raw, b ?? undefined, (why) => reasons.push(why));
  assert.equal(m, undefined, `expected ${JSON.stringify(raw)} to be dropped`);
  assert.equal(reasons.length, 1);
  return reasons[0];
}

describe('parseWebviewMessage', () => {
  it('accepts every well-formed message, rebuilt from checked fields only', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }, bounds), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'selectNode', layer: 2, node: 9, evil: true }, bounds), { type: 'selectNode', layer: 2, node: 9 });
    assert.deepEqual(parseWebviewMessage({ type: 'setMethod', method: 'deconvNoSwitches' }, bounds), { type: 'setMethod', method: 'deconvNoSwitches' });
    assert.deepEqual(parseWebviewMessage({ type: 'selectImage', index: 99 }, bounds), { type: 'selectImage', index: 99 });
    assert.deepEqual(parseWebviewMessage({ type: 'openPage', page: 'layer' }, bounds), { type: 'openPage', page: 'layer' });
    assert.deepEqual(parseWebviewMessage({ type: 'maximize' }, bounds), { type: 'maximize' });
    // The picked image: the webview asks, the host opens the dialog; a path the webview sends is never used.
    assert.deepEqual(parseWebviewMessage({ type: 'pickImage', file: '/etc/passwd' }, bounds), { type: 'pickImage' });
    assert.deepEqual(parseWebviewMessage({ type: 'clearImage' }, bounds), { type: 'clearImage' });
    assert.deepEqual(parseWebviewMessage({ type: 'setMetric', metric: 'max', x: 1 }, bounds), { type: 'setMetric', metric: 'max' });
    // The error page's buttons work before any model is on screen (no bounds).
    assert.deepEqual(parseWebviewMessage({ type: 'showLog', path: '/etc' }), { type: 'showLog' });
    assert.deepEqual(parseWebviewMessage({ type: 'retry' }), { type: 'retry' });
    assert.deepEqual(parseWebviewMessage({ type: 'painted', page: 'node' }, bounds), { type: 'painted', page: 'node' });
    assert.deepEqual(parseWebviewMessage({ type: 'log', level: 'warn', message: 'x' }, bounds), { type: 'log', level: 'warn', message: 'x' });
    const exp = parseWebviewMessage({ type: 'exportPng', data: PNG }, bounds);
    assert.equal(exp?.type, 'exportPng');
    const fromBuffer = parseWebviewMessage({ type: 'exportPng', data: PNG.slice().buffer }, bounds);
    assert.deepEqual(fromBuffer?.type === 'exportPng' && [...fromBuffer.data], [...PNG]);
  });

  it('accepts exactly the projection methods of the one shared list, whose labels say what each does', () => {
    assert.deepEqual([...PROJECTION_METHODS], ['deconv', 'deconvNoSwitches', 'guided', 'saliency', 'gradcam']);
    for (const method of PROJECTION_METHODS) {
      assert.deepEqual(parseWebviewMessage({ type: 'setMethod', method }, bounds), { type: 'setMethod', method });
      assert.ok(isProjectionMethod(method));
      assert.doesNotMatch(PROJECTION_METHOD_LABELS[method], /seed/i);
    }
    for (const bad of ['toString', 'constructor', 'DECONV', '', undefined, 1]) assert.equal(isProjectionMethod(bad), false, String(bad));
    assert.match(PROJECTION_METHOD_LABELS.deconvNoSwitches, /maximum copied over the pooling window/);
  });

  it('drops unknown types and non-objects', () => {
    assert.match(dropped({ type: 'deleteWorkspace' }), /unknown message type "deleteWorkspace"/);
    assert.match(dropped({}), /unknown message type/);
    assert.match(dropped(null), /not an object/);
    assert.match(dropped('ready'), /not an object/);
    assert.match(dropped([{ type: 'ready' }]), /not an object/);
  });

  it('rejects indices out of range for the model on screen', () => {
    assert.match(dropped({ type: 'selectNode', layer: 3, node: 0 }), /layer 3 out of range/);
    assert.match(dropped({ type: 'selectNode', layer: -1, node: 0 }), /layer -1 out of range/);
    assert.match(dropped({ type: 'selectNode', layer: 0, node: 8 }), /node 8 out of range \(layer 0 has 8 nodes\)/);
    assert.match(dropped({ type: 'selectNode', layer: 1, node: 0 }), /layer 1 has 0 nodes/);
    assert.match(dropped({ type: 'selectImage', index: 100 }), /image 100 out of range/);
    assert.match(dropped({ type: 'selectNode', layer: 0, node: 0 }, null), /before the panel shows a model/);
    assert.match(dropped({ type: 'selectImage', index: 0 }, null), /image 0 out of range \(0 images\)/);
  });

  it('rejects wrong field types', () => {
    assert.match(dropped({ type: 'selectNode', layer: '0', node: 1 }), /layer 0 out of range/);
    assert.match(dropped({ type: 'selectNode', layer: 0, node: 1.5 }), /node 1.5 out of range/);
    assert.match(dropped({ type: 'selectNode', layer: 0, node: NaN }), /node NaN/);
    assert.match(dropped({ type: 'selectImage', index: [1] }), /image 1 out of range/);
    assert.match(dropped({ type: 'setMethod', method: 'gradCam' }), /unknown projection method/);
    assert.match(dropped({ type: 'setMethod', method: 3 }), /unknown projection method/);
    assert.match(dropped({ type: 'openPage', page: 'settings' }), /unknown page/);
    for (const metric of ['Frobenius', 'toString', 'l2', 1, undefined]) assert.match(dropped({ type: 'setMetric', metric }), /unknown score metric/);
    assert.match(dropped({ type: 'log', level: 'fatal', message: 'x' }), /malformed log/);
    assert.match(dropped({ type: 'log', level: 'info', message: { toString: 1 } }), /malformed log/);
    assert.match(dropped({ type: 'exportPng', data: 'iVBORw0KGgo=' }), /without bytes/);
    assert.match(dropped({ type: 'exportPng', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }), /not a PNG/);
    assert.match(dropped({ type: 'exportPng', data: new Uint8Array(4) }), /exportPng of 4 bytes/);
  });
});

describe('parsePanelState', () => {
  it('restores a valid state and refuses malformed ones', () => {
    const ok = { page: 'node', lens: '/w/a.lens.json', model: '/w/m/model.json', layer: 1, node: 2 };
    assert.deepEqual(parsePanelState(ok), { ...ok, image: undefined, focusImage: undefined });
    // The projection method is a view option now (extension/viewOptions.ts): one stored by an older panel is dropped.
    assert.deepEqual(parsePanelState({ ...ok, method: 'guided' }), { ...ok, image: undefined, focusImage: undefined });
    assert.deepEqual(parsePanelState({ page: 'model', model: '/m.json' })?.page, 'model');
    assert.equal(parsePanelState({ ...ok, node: undefined }), undefined);
    assert.equal(parsePanelState({ ...ok, layer: -1 }), undefined);
    assert.deepEqual(parsePanelState({ ...ok, method: 'magic' }), { ...ok, image: undefined, focusImage: undefined });
    assert.equal(parsePanelState({ ...ok, model: 3 }), undefined);
    assert.equal(parsePanelState({ page: 'layer', model: '/m.json' }), undefined);
    assert.equal(parsePanelState(undefined), undefined);
  });
});

describe('pixels for the webview', () => {
  it('copies a view of a larger buffer into an exact-size buffer', () => {
    const big = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const view = big.subarray(2, 8);
    const p = toPixels([2, 3], view);
    assert.equal(p.data.byteLength, 6 * 4);
    assert.deepEqual([...new Float32Array(p.data)], [2, 3, 4, 5, 6, 7]);
    const whole = new Float32Array([1, 2]);
    assert.equal(toPixels([2], whole).data, whole.buffer, 'an exact buffer is sent as is, not copied');
    assert.deepEqual(toPixels([2], whole).shape, [2]);
  });

  it('builds the node page with one projection range over all top images', () => {
    const model: ModelInfo = {
      path: '/m/model.json',
      name: 'm',
      inputShape: [2, 2, 1],
      layers: [
        {
          index: 0,
          name: 'conv',
          className: 'Conv2D',
          kind: 'conv',
          outputShape: [2, 2, 3],
          nodes: 3,
          params: 12,
          activation: 'relu',
          hasWeights: true,
          inbound: [],
        },
      ],
      totalParams: 12,
      weightsHash: 'x',
      mtimeMs: 0,
      backend: 'cpu',
    };
    const shared = new Float32Array(100);
    const img = (vals: number[], off: number) => {
      shared.set(vals, off);
      return { shape: [2, 2, 1], data: shared.subarray(off, off + vals.length) };
    };
    const r: NodeInspection = {
      model,
      layer: 0,
      node: 1,
      method: 'deconv',
      top: {
        metric: 'frobenius',
        items: [
          {
            entry: { index: 5, score: 2, label: 1 },
            className: 'F',
            image: img([0, 1, 0, 1], 0),
            featureMap: { shape: [2, 2], data: new Float32Array(4) },
            projection: img([-3, 0, 1, 2], 10),
          },
          {
            entry: { index: 9, score: 1, label: 0 },
            className: 'E',
            image: img([1, 1, 0, 0], 20),
            featureMap: { shape: [2, 2], data: new Float32Array(4) },
            projection: img([0.5, 4, 0, 0], 30),
          },
        ],
      },
    };
    const page = nodePage(r, { page: 'node', model: model.path, layer: 0, node: 1 }, undefined, 'T');
    assert.deepEqual(page.projectionRange, { min: -3, max: 4 });
    assert.equal(page.nodes, 3);
    assert.deepEqual(
      page.top!.items.map((i) => [i.index, i.className, i.image.data.byteLength]),
      [
        [5, 'F', 16],
        [9, 'E', 16],
      ],
    );
    assert.deepEqual([...new Float32Array(page.top!.items[1].projection!.data)], [0.5, 4, 0, 0]);
    assert.ok(
      page.top!.items.every((i) => !('location' in i)),
      'no location unless ranked by the maximum',
    );
    // Ranked by the maximum: each item says where on its feature map the maximum sits.
    const byMax = nodePage(
      { ...r, top: { metric: 'max', items: r.top!.items.map((it, i) => ({ ...it, entry: { ...it.entry, location: [i, 1 - i] as [number, number] } })) } },
      { page: 'node', model: model.path, layer: 0, node: 1 },
      undefined,
      'T',
    );
    assert.deepEqual(
      byMax.top!.items.map((i) => i.location),
      [
        [0, 1],
        [1, 0],
      ],
    );
  });
});

// The panel's colour scale, which tests and users read values back from: white at zero, ColorBrewer RdBu ends,
// and red minus blue proportional to the value on both sides.

describe('diverging colormap', () => {
  it('is white at zero, RdBu blue and red at the ends, and clamps beyond them', () => {
    assert.deepEqual(diverging(0), [255, 255, 255]);
    assert.deepEqual(diverging(1), [178, 24, 43]);
    assert.deepEqual(diverging(-1), [33, 102, 172]);
    assert.deepEqual(diverging(7), diverging(1));
    assert.deepEqual(diverging(-7), diverging(-1));
    assert.deepEqual(diverging(NaN), [255, 255, 255]);
  });

  it('red minus blue is monotonic and close to linear in the value', () => {
    let prev = -Infinity;
    for (let t = -1; t <= 1.0001; t += 0.05) {
      const [r, , b] = diverging(t);
      const d = r - b;
      assert.ok(d > prev, `increasing at ${t.toFixed(2)}`);
      prev = d;
      assert.ok(Math.abs(d - 137 * t) <= 3, `r - b = ${d} at t = ${t.toFixed(2)}`);
    }
  });

  it('reads shapes as height, width, channels and formats legend values', () => {
    assert.deepEqual(dims([28, 28, 1]), { h: 28, w: 28, c: 1 });
    assert.deepEqual(dims([5, 7]), { h: 5, w: 7, c: 1 });
    assert.deepEqual(dims([10]), { h: 1, w: 10, c: 1 });
    assert.equal(fmt(0.354123), '0.354');
    assert.equal(fmt(-0.000012), '-1.20e-5');
    assert.equal(fmt(0), '0');
  });
});

/**
 * VS Code's path from `webview.postMessage` to the webview, as far as buffers go (extHostWebview.ts
 * `serializeWebviewMessage`, rpcProtocol.ts `writeMixedArray`): each distinct ArrayBuffer becomes one more
 * argument of `$postMessage(handle, json, ...buffers)`, and the argument count is written in one byte.
 */
function throughVSCode(message: unknown): unknown {
  const buffers: ArrayBuffer[] = [];
  const json = JSON.stringify(message, (_k, v) => {
    if (v instanceof ArrayBuffer) {
      let i = buffers.indexOf(v);
      if (i < 0) i = buffers.push(v) - 1;
      return { $$ref: i };
    }
    return v;
  });
  const args = (2 + buffers.length) & 0xff;
  const arrived = buffers.slice(0, Math.max(0, args - 2)).map((b) => b.slice(0));
  return JSON.parse(json, (_k, v) => (v && typeof v === 'object' && '$$ref' in v ? arrived[v.$$ref] : v));
}

describe('packMessage', () => {
  // A 32 × 16 conv layer's weight tiles (MNIST conv2: 32 nodes, 16 input channels, 5 × 5), each its own buffer.
  const tiles = Array.from({ length: 32 }, (_, n) =>
    Array.from({ length: 16 }, (_, c) =>
      toPixels(
        [5, 5, 1],
        Float32Array.from({ length: 25 }, (_, i) => n * 1000 + c * 25 + i),
      ),
    ),
  );
  const message = {
    type: 'layer',
    title: 't',
    layer: 2,
    weights: { tiles, nodes: [...Array(32).keys()], rgb: false, min: 0, max: 1 },
    maps: toPixels([3], new Float32Array([1, 2, 3])),
  };

  it('reproduces the loss: sent as they are, 512 of 513 buffers arrive undefined', () => {
    const got = throughVSCode(message) as typeof message;
    const arrived = got.weights.tiles.flat().filter((t) => t.data instanceof ArrayBuffer).length;
    assert.equal(arrived, 1);
  });

  it('sends one buffer whatever the number of tiles, and every tile arrives exact-size with its values', () => {
    const packed = packMessage(message);
    const got = unpackMessage(throughVSCode(packed) as PackedMessage) as typeof message;
    assert.equal(got.weights.tiles.length, 32);
    for (let n = 0; n < 32; n++) {
      for (let c = 0; c < 16; c++) {
        const t = got.weights.tiles[n][c];
        assert.deepEqual(t.shape, [5, 5, 1]);
        assert.ok(t.data instanceof ArrayBuffer && t.data.byteLength === 100, `tile ${n}/${c}`);
        assert.deepEqual(
          [...new Float32Array(t.data)],
          Array.from({ length: 25 }, (_, i) => n * 1000 + c * 25 + i),
        );
      }
    }
    assert.deepEqual([...new Float32Array(got.maps.data)], [1, 2, 3]);
    assert.deepEqual(got.weights.nodes, message.weights.nodes);
    assert.equal(got.title, 't');
  });

  it('packs a view of a larger buffer as its own bytes only, and messages without buffers unchanged', () => {
    const big = new Float32Array([9, 8, 7, 6, 5]);
    const got = unpackMessage(packMessage({ a: big.subarray(1, 3) })) as { a: ArrayBuffer };
    assert.deepEqual([...new Float32Array(got.a)], [8, 7]);
    assert.deepEqual(unpackMessage(packMessage({ type: 'loading', title: 'x', list: [1, 'b', null] })), { type: 'loading', title: 'x', list: [1, 'b', null] });
  });

  it('refuses a reference outside the buffer', () => {
    assert.throws(() => unpackMessage({ type: 'packed', body: { a: { $buffer: [4, 100] } }, buffer: new ArrayBuffer(8) }), /outside a buffer of 8 bytes/);
  });
});

describe('waitingText', () => {
  it('names what the engine is still busy with, once each', () => {
    assert.equal(waitingText([]), 'Still working…');
    assert.equal(waitingText(['train']), 'Waiting for the engine, still computing a training…');
    assert.equal(
      waitingText(['layerByClass', 'inspectNode', 'inspectNode']),
      'Waiting for the engine, still computing the layer activation by class and a node page…',
    );
  });
});

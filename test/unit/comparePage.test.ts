// The comparison page's own logic (issue 14): when two models are "one architecture", which layer of B follows a
// change of A's, the host's store that re-runs node matching alone for another pair of layers (never the cross
// test) and a layer picker's change, both models' class charts, and the side-by-side node pages' requests (B's
// node checked against B's model). compareNodes.test.ts has the rest of the side-by-side page.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareResults, CompareResults, rematch, type EngineCall, type ModelPair, type RematchHost } from '../../src/extension/compareResults';
import { EngineRequestError } from '../../src/extension/engineClient';
import { HOST_PAGES } from '../../src/extension/pages/index';
import type { PageContext } from '../../src/extension/pages/page';
import { architectureDifference, followLayer, type LayerShape } from '../../src/shared/architecture';
import type { CompareResult, LayerByClassResult, LensInfo, MethodName, ModelInfo, NodeInspection, NodeMatching } from '../../src/shared/protocol';
import type { HostMessage, PanelState } from '../../src/shared/webviewProtocol';

const layer = (name: string, className: string, outputShape: number[], params: number): LayerShape => ({
  name,
  className,
  outputShape,
  nodes: outputShape[outputShape.length - 1],
  params,
});
const efl = [layer('input', 'InputLayer', [32, 32, 1], 0), layer('hidden', 'Dense', [2], 2048), layer('logits', 'Dense', [3], 6)];

describe('one architecture', () => {
  it('is the same layers in order, by name, kind, output shape, nodes and weights; otherwise the first difference in one line', () => {
    assert.equal(
      architectureDifference(
        efl,
        efl.map((l) => ({ ...l, outputShape: [...l.outputShape] })),
      ),
      undefined,
    );
    assert.equal(architectureDifference(efl, [efl[0], { ...efl[1], name: 'h' }, efl[2]]), 'layer 1 is hidden in A and h in B');
    assert.equal(architectureDifference(efl, [efl[0], { ...efl[1], className: 'Conv2D' }, efl[2]]), 'layer hidden is a Dense in A and a Conv2D in B');
    assert.equal(
      architectureDifference(efl, [layer('input', 'InputLayer', [28, 28, 1], 0), ...efl.slice(1)]),
      'layer input outputs [32, 32, 1] in A and [28, 28, 1] in B',
    );
    assert.equal(architectureDifference(efl, [efl[0], { ...efl[1], params: 2050 }, efl[2]]), 'layer hidden has 2048 weights in A and 2050 in B');
    assert.equal(architectureDifference(efl, efl.slice(0, 2)), 'A has 3 layers and B 2');
    assert.equal(architectureDifference(efl.slice(0, 2), efl), 'A has 2 layers and B 3');
  });

  it("B's layer follows A's only when the pair on screen is one layer of both", () => {
    const same = { layerA: { index: 1, name: 'hidden' }, layerB: { index: 1, name: 'hidden' } };
    assert.equal(followLayer(2, same), 2);
    assert.equal(followLayer(2, { ...same, layerB: { index: 1, name: 'fc' } }), 1, 'same index, another name');
    assert.equal(followLayer(0, { ...same, layerB: { index: 3, name: 'hidden' } }), 3);
  });
});

// ---- the host ------------------------------------------------------------------------------------------------------

const info = (path: string, hash: string, layers = efl): ModelInfo => ({
  path,
  name: path.split('/')[2],
  inputShape: [32, 32, 1],
  layers: layers.map((l, index) => ({ ...l, index, kind: 'dense', hasWeights: l.params > 0, inbound: [] })),
  totalParams: 2054,
  weightsHash: hash,
  mtimeMs: 0,
  backend: 'wasm',
});
const lensInfo = (path: string, model: string): LensInfo => ({
  path,
  name: path.split('/')[2],
  model,
  modelExists: true,
  paths: [],
  classes: ['E', 'F', 'L'],
  imageShape: [32, 32, 1],
  datasetFormat: 'generator',
  splits: { train: 9, test: 9 },
  hasTraining: true,
});
const modelA = info('/w/a/model.json', 'ha');
const lensA = lensInfo('/w/a/a.lens.json', modelA.path);
const lensB = lensInfo('/w/b/b.lens.json', '/w/b/model.json');

function matching(a: number, b: number): NodeMatching {
  const l = (i: number) => ({ index: i, name: efl[i].name, nodes: efl[i].nodes, shape: efl[i].outputShape });
  const bestAtoB = Array.from({ length: efl[a].nodes }, (_, i) => ({ a: i, b: 0, correlation: 0.5 }));
  return { layerA: l(a), layerB: l(b), dataset: 'd', images: 9, samples: 9, sampling: 'spatialMean', correlations: [], bestAtoB, bestBtoA: [], oneToOne: [] };
}
const crossTest: CompareResult['crossTest'] = { models: ['A', 'B'], datasets: [], cells: [[], []] };

/** A stand-in engine: records the requests, answers them like the engine would for the EFL pair. */
function fakeEngine(hashB = 'hb', layersB = efl) {
  const calls: { method: MethodName; params: Record<string, unknown> }[] = [];
  const call = (async (method: MethodName, params: Record<string, unknown>) => {
    calls.push({ method, params });
    const layers = (l: unknown, fallback: number) => (typeof l === 'number' ? l : fallback);
    switch (method) {
      case 'lens':
        return params.lens === lensA.path ? lensA : lensB;
      case 'modelInfo':
        return params.model === modelA.path ? modelA : info(lensB.model, hashB, layersB);
      case 'compare':
        return {
          a: { lens: lensA.path, model: modelA.path, name: 'A' },
          b: { lens: lensB.path, model: lensB.model, name: 'B' },
          crossTest,
          matching: matching(layers(params.layerA, 1), layers(params.layerB, 1)),
        };
      case 'matchNodes':
        return matching(layers(params.layerA, 1), layers(params.layerB, 1));
      case 'inspectNode': {
        const model = params.lens === lensA.path ? modelA : info(lensB.model, hashB, layersB);
        return { model, layer: params.layer as number, node: params.node as number, method: 'deconv' } satisfies NodeInspection;
      }
      case 'layerByClass':
        return params.lens === lensB.path ? byClassTable([0.5, 2]) : null;
      default:
        throw new Error(`unexpected engine request ${method}`);
    }
  }) as EngineCall;
  return { call, calls };
}

function byClassTable(norms: number[]): LayerByClassResult {
  return {
    classes: ['E', 'F', 'L'],
    layers: [1, 2],
    layerNames: ['hidden', 'logits'],
    norms: [norms, norms, norms],
    deadFraction: [],
    selectivity: [],
    topClass: [],
  };
}

function context(call: EngineCall, byClassA: LayerByClassResult | null = null) {
  const posted: HostMessage[] = [];
  const ctx: PageContext = {
    call: call as PageContext['call'],
    storageDir: async () => '/storage',
    view: { method: 'deconv', metric: 'frobenius' },
    model: modelA,
    lens: lensA,
    title: 'Feature Lens: a vs b',
    post: (m) => posted.push(m),
    current: () => true,
    byClass: async () => byClassA,
    log: { info() {}, warn() {} },
    primary: true,
    maximized: () => undefined,
  };
  return { ctx, posted };
}

describe('the comparison on the host', () => {
  it('another pair of layers runs node matching alone; a pair seen before needs no request; new weights compare again', async () => {
    const store = new CompareResults();
    const { call, calls } = fakeEngine();
    const pair: ModelPair = { lensA: lensA.path, hashA: 'ha', lensB, infoB: info(lensB.model, 'hb'), lenses: 'l' };
    const first = await store.result(call, pair, {});
    assert.deepEqual([first.matching.layerA.index, first.matching.layerB.index], [1, 1]);
    const methods = () => calls.splice(0).map((c) => c.method);
    assert.deepEqual(methods(), ['compare']);
    const logits = await store.result(call, pair, { layerA: 2, layerB: 2 });
    assert.deepEqual(methods(), ['matchNodes'], 'no second cross test');
    assert.equal(logits.crossTest, first.crossTest);
    assert.deepEqual([logits.matching.layerA.name, logits.matching.layerB.name], ['logits', 'logits']);
    await store.result(call, pair, { layerA: 1, layerB: 1 });
    await store.matching(call, pair, { layerA: 2, layerB: 2 });
    assert.deepEqual(methods(), [], 'both pairs from memory');
    await store.result(call, { ...pair, infoB: info(lensB.model, 'retrained') }, { layerA: 2, layerB: 2 });
    assert.deepEqual(methods(), ['compare'], "B's new weights: a new comparison");
    await store.result(call, { ...pair, lenses: 'edited' }, { layerA: 2, layerB: 2 });
    assert.deepEqual(methods(), ['compare'], 'an edited lens file: a new comparison');
  });

  it("the page after a layer change keeps the cross test and shows both models' class charts, each highlighting its layer", async () => {
    compareResults.clear();
    const { call, calls } = fakeEngine();
    const { ctx, posted } = context(call);
    const s: PanelState = { page: 'compare', lens: lensA.path, model: modelA.path, other: lensB.path };
    const m = await HOST_PAGES.compare.load(ctx, s);
    const again = await HOST_PAGES.compare.load(ctx, { ...m.state, layer: 2, otherLayer: 1 });
    assert.deepEqual(
      calls.map((c) => c.method),
      ['lens', 'modelInfo', 'compare', 'lens', 'modelInfo', 'matchNodes'],
    );
    assert.deepEqual([again.state.layer, again.state.otherLayer, again.result.matching.layerA.name], [2, 1, 'logits']);
    await HOST_PAGES.compare.after!(ctx, again.state, again);
    assert.deepEqual(posted.slice(-2), [
      { type: 'byClass', note: 'Run "Compute Top Activations" on a.lens.json to see this chart.', side: 'a' },
      {
        type: 'byClass',
        chart: {
          classes: ['E', 'F', 'L'],
          layerNames: ['hidden', 'logits'],
          norms: [
            [0.5, 2],
            [0.5, 2],
            [0.5, 2],
          ],
          highlight: 0,
        },
        side: 'b',
      },
    ]);
    assert.deepEqual(
      calls.at(-1),
      { method: 'layerByClass', params: { lens: lensB.path, storageDir: '/storage', indexOnly: true } },
      "B's table from its stored index only",
    );
  });

  it("side-by-side node pages: one inspectNode request per model, B at A's layer and node unless the state says; B checked against its own model", async () => {
    const { call, calls } = fakeEngine();
    const { ctx } = context(call);
    const s: PanelState = { page: 'compareNodes', lens: lensA.path, model: modelA.path, other: lensB.path, layer: 1, node: 1 };
    const m = await HOST_PAGES.compareNodes.load(ctx, s);
    const inspect = calls.filter((c) => c.method === 'inspectNode').map((c) => c.params);
    const how = { storageDir: '/storage', method: 'deconv', metric: 'frobenius' };
    assert.deepEqual(inspect, [
      { lens: lensA.path, layer: 1, node: 1, ...how },
      { lens: lensB.path, layer: 1, node: 1, ...how },
    ]);
    assert.deepEqual(
      [m.type, m.a.node, m.b.node, m.b.model.lens, m.state.otherLayer, m.state.otherNode, m.architectureDifference],
      ['compareNodes', 1, 1, lensB.path, 1, 1, undefined],
    );
    const pair = await HOST_PAGES.compareNodes.load(ctx, { ...s, otherLayer: 2, otherNode: 2 });
    assert.deepEqual([pair.b.layer, pair.b.node], [2, 2]);
    await assert.rejects(HOST_PAGES.compareNodes.load(ctx, { ...s, otherLayer: 1, otherNode: 2 }), /Layer hidden of model B \(b\) has no node 2 \(it has 2\)/);
    await assert.rejects(HOST_PAGES.compareNodes.load(ctx, { ...s, otherLayer: 7 }), /Model B \(b\) has no layer 7 \(it has 3\)/);
    const other = fakeEngine('hc', [...efl, layer('extra', 'Dense', [3], 12)]);
    const diff = await HOST_PAGES.compareNodes.load(context(other.call).ctx, s);
    assert.equal(diff.architectureDifference, 'A has 3 layers and B 4');
  });
});

describe("a layer picker's change (compareLayers)", () => {
  const shown: PanelState = { page: 'compare', lens: lensA.path, model: modelA.path, other: lensB.path, layer: 1, otherLayer: 1 };
  function host(progress: RematchHost['withProgress']) {
    const { call, calls } = fakeEngine();
    const log: string[] = [];
    let state = shown;
    const h: RematchHost = {
      state: () => state,
      call,
      navigate: (s) => {
        state = s;
        log.push(`navigate ${s.layer}/${s.otherLayer}`);
      },
      render: async () => void log.push('render'),
      withProgress: progress,
    };
    return { h, calls, log, moveOn: () => (state = { ...shown, page: 'model' }) };
  }

  it('runs node matching alone under the progress notification, then draws the page with the layers matched', async () => {
    const titles: string[] = [];
    const { h, calls, log } = host(async (title, run) => {
      titles.push(title);
      return run({});
    });
    const store = new CompareResults();
    await rematch(h, store, 2, 1);
    assert.deepEqual(
      calls.map((c) => c.method),
      ['lens', 'modelInfo', 'lens', 'modelInfo', 'matchNodes'],
    );
    assert.deepEqual(calls.at(-1)!.params, { lens: lensA.path, other: lensB.path, layerA: 2, layerB: 1 });
    assert.deepEqual(log, ['navigate 2/1']);
    assert.equal(titles.length, 1);
    // The same pair again (from another page state showing it): from memory, no notification.
    await rematch(h, store, 2, 1);
    assert.ok(!calls.slice(5).some((c) => c.method === 'matchNodes'));
    assert.equal(titles.length, 1);
  });

  it('cancelled: the page is drawn again as it was, nothing else; a failure also redraws it and is reported', async () => {
    const cancelled = host(async () => {
      throw new EngineRequestError({ code: 'cancelled', message: 'Cancelled.' });
    });
    await rematch(cancelled.h, new CompareResults(), 2, 2);
    assert.deepEqual(cancelled.log, ['render']);
    const failed = host(async () => {
      throw new EngineRequestError({ code: 'badInput', message: 'No layer "7"' });
    });
    await assert.rejects(rematch(failed.h, new CompareResults(), 2, 7), /No layer "7"/);
    assert.deepEqual(failed.log, ['render']);
  });

  it('leaves the panel alone when it moved to another page meanwhile', async () => {
    let moveOn = () => {};
    const t = host(async (_title, run) => {
      moveOn();
      return run({});
    });
    moveOn = t.moveOn;
    await rematch(t.h, new CompareResults(), 2, 2);
    assert.deepEqual(t.log, []);
  });
});

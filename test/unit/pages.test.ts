// Pages as a table: every page kind in PAGE_KINDS (src/shared/webviewProtocol.ts) has exactly one module on each
// side, named after it (src/extension/pages/<kind>.ts loads it, src/webview/pages/<kind>.ts draws it), the two
// registries hold exactly those, and no other file lists the kinds or branches on one; so a new page is one
// module per side plus its line in PAGE_KINDS (and the registries' line each, which the compiler asks for).
// Each host page loads its page with one engine request of its own, reading the view options (not the panel state).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { compareResults } from '../../src/extension/compareResults';
import { HOST_PAGES, hostPage } from '../../src/extension/pages/index';
import type { PageContext } from '../../src/extension/pages/page';
import type { CompareResult, LensInfo, MethodName, ModelInfo, NodeInspection, LayerInspection } from '../../src/shared/protocol';
import { parsePanelState, parseWebviewMessage } from '../../src/shared/webviewChecks';
import { isPageKind, PAGE_KIND_LIST, PAGE_KINDS, type HostMessage, type PanelState } from '../../src/shared/webviewProtocol';
import { sortPairs } from '../../src/webview/pages/compare';
import { WEBVIEW_PAGES, webviewPage } from '../../src/webview/pages/index';

const root = path.resolve(__dirname, '..', '..');
const kinds = Object.keys(PAGE_KINDS).sort();

/** The page modules of one side's pages folder: file name → kinds of the page objects it exports. */
async function pageModules(side: 'extension' | 'webview', isPage: (v: Record<string, unknown>) => boolean): Promise<Map<string, string[]>> {
  const dir = path.join(root, 'src', side, 'pages');
  const out = new Map<string, string[]>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(path.join(dir, file))) as Record<string, unknown>;
    const pages = Object.values(mod).filter(
      (v): v is Record<string, unknown> =>
        !!v && typeof v === 'object' && typeof (v as { kind?: unknown }).kind === 'string' && isPage(v as Record<string, unknown>),
    );
    // The registry in index.ts re-exports every page: only the files that define one count.
    if (file !== 'index.ts' && pages.length)
      out.set(
        file,
        pages.map((p) => p.kind as string),
      );
  }
  return out;
}

describe('page kinds', () => {
  for (const side of ['extension', 'webview'] as const) {
    it(`each kind has exactly one module in src/${side}/pages, named after it, and the registry holds it`, async () => {
      const isPage =
        side === 'extension'
          ? (v: Record<string, unknown>) => typeof v.load === 'function' && typeof v.title === 'function'
          : (v: Record<string, unknown>) => typeof v.draw === 'function' && typeof v.where === 'function';
      const modules = await pageModules(side, isPage);
      assert.deepEqual(
        [...modules.keys()].sort(),
        kinds.map((k) => `${k}.ts`),
        'one file per kind',
      );
      for (const [file, defined] of modules) assert.deepEqual(defined, [file.replace(/\.ts$/, '')], `${file} defines its own kind's page only`);
      const registry: Record<string, { kind: string }> = side === 'extension' ? HOST_PAGES : WEBVIEW_PAGES;
      assert.deepEqual(Object.keys(registry).sort(), kinds);
      for (const k of kinds) assert.equal(registry[k].kind, k);
    });
  }

  it('an unknown kind has no page on either side and no message or stored state of that kind is accepted', () => {
    for (const bad of ['settings', 'toString', 'constructor', '', 'Node']) {
      assert.equal(isPageKind(bad), false, bad);
      assert.equal(hostPage(bad), undefined, bad);
      assert.equal(webviewPage(bad), undefined, bad);
      assert.equal(parseWebviewMessage({ type: 'openPage', page: bad }), undefined);
      assert.equal(parsePanelState({ page: bad, model: '/m/model.json', layer: 0, node: 0 }), undefined);
    }
    for (const k of PAGE_KIND_LIST) {
      assert.deepEqual(parseWebviewMessage({ type: 'openPage', page: k }), { type: 'openPage', page: k });
      const full = parsePanelState({ page: k, model: '/m/model.json', layer: 1, node: 2, other: '/m/b.lens.json' });
      assert.equal(full?.page, k);
      // A state without a field its kind needs is refused.
      for (const field of PAGE_KINDS[k].needs)
        assert.equal(
          parsePanelState({ page: k, model: '/m/model.json', layer: 1, node: 2, other: '/m/b.lens.json', [field]: undefined }),
          undefined,
          `${k} without ${field}`,
        );
    }
  });

  it('no other source file lists the page kinds or branches on one', () => {
    const kindRe = `'(?:${kinds.join('|')})'`;
    const patterns = [
      new RegExp(`${kindRe}\\s*\\|\\s*${kindRe}`), // a union of kinds
      new RegExp(`\\[\\s*${kindRe}(?:\\s*,\\s*${kindRe})+\\s*\\]`), // an array of kinds
      new RegExp(`\\b(?:page|type)\\s*[!=]==?\\s*${kindRe}`), // a comparison with one kind
    ];
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (!/[\\/]pages$/.test(p)) walk(p); // a page module may speak of its own kind
        } else if (p.endsWith('.ts') && !p.endsWith(path.join('shared', 'webviewProtocol.ts'))) {
          fs.readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (patterns.some((re) => re.test(line))) offenders.push(`${path.relative(root, p)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    for (const part of ['shared', 'extension', 'webview']) walk(path.join(root, 'src', part));
    assert.deepEqual(offenders, []);
  });
});

// ---- the host's page modules, with a stand-in for the panel ----------------------------------------------------

const model: ModelInfo = {
  path: '/w/m/model.json',
  name: 'm',
  inputShape: [4, 4, 1],
  layers: [
    { index: 0, name: 'conv1', className: 'Conv2D', kind: 'conv', outputShape: [2, 2, 3], nodes: 3, params: 30, hasWeights: true, inbound: [] },
    { index: 1, name: 'pool1', className: 'MaxPooling2D', kind: 'pool', outputShape: [1, 1, 3], nodes: 3, params: 0, hasWeights: false, inbound: [] },
  ],
  totalParams: 30,
  weightsHash: 'h',
  mtimeMs: 0,
  backend: 'cpu',
};
const lens = {
  path: '/w/a.lens.json',
  name: 'A',
  model: model.path,
  modelExists: true,
  paths: [],
  classes: ['x', 'y'],
  imageShape: [4, 4, 1],
  datasetFormat: 'idx',
  splits: { train: 5, test: 5 },
  hasTraining: false,
} satisfies LensInfo;
const pixels = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) });

function fakeContext(
  replies: Partial<Record<MethodName, unknown>>,
  withLens = true,
  progress: Partial<Record<MethodName, { fraction: number; message: string }>> = {},
) {
  const calls: { method: MethodName; params: unknown }[] = [];
  const posted: HostMessage[] = [];
  const ctx: PageContext = {
    call: async (method, params, opts) => {
      calls.push({ method, params });
      if (method in progress) opts?.onProgress?.(progress[method]!);
      if (!(method in replies)) throw new Error(`unexpected engine request ${method}`);
      return replies[method] as never;
    },
    storageDir: async () => '/storage',
    view: { method: 'guided', metric: 'max' },
    model,
    lens: withLens ? lens : undefined,
    title: 'Feature Lens: t',
    post: (m) => posted.push(m),
    current: () => true,
    byClass: async () => null,
    log: { info() {}, warn() {} },
    primary: true,
    maximized: () => undefined,
  };
  return { ctx, calls, posted };
}

describe('host pages', () => {
  it('the node page is one inspectNode request with the view options, its message carrying what came back', async () => {
    const reply: NodeInspection = {
      model,
      layer: 0,
      node: 2,
      method: 'guided',
      top: {
        metric: 'max',
        items: [
          {
            entry: { index: 3, score: 2, label: 1, location: [1, 0] },
            className: 'y',
            image: pixels([4, 4, 1]),
            featureMap: pixels([2, 2]),
            projection: pixels([4, 4, 1]),
          },
        ],
      },
    };
    const { ctx, calls } = fakeContext({ inspectNode: reply });
    const s: PanelState = { page: 'node', lens: lens.path, model: model.path, layer: 0, node: 2 };
    const m = await HOST_PAGES.node.load(ctx, s);
    assert.deepEqual(calls, [
      { method: 'inspectNode', params: { lens: lens.path, storageDir: '/storage', layer: 0, node: 2, method: 'guided', metric: 'max' } },
    ]);
    assert.equal(m.type, 'node');
    assert.deepEqual(
      [m.layer, m.node, m.nodes, m.method, m.top?.metric, m.top?.items[0].index, m.top?.items[0].location],
      [0, 2, 3, 'guided', 'max', 3, [1, 0]],
    );
    assert.equal(m.top!.items[0].image.data.byteLength, 16 * 4);
    assert.match(HOST_PAGES.node.title(s, { view: ctx.view, model }), /^a \/ conv1 \/ node 2 \(Guided backpropagation\)$/);
    await assert.rejects(HOST_PAGES.node.load(ctx, { ...s, node: 3 }), /Layer conv1 has no node 3 \(it has 3\)/);
  });

  it('the node page of a model without a lens file asks for the weights only', async () => {
    const { ctx, calls } = fakeContext({ weights: { layer: 0, nodes: [1], tiles: [[pixels([3, 3, 1])]], rgb: false, min: -1, max: 1 } }, false);
    const m = await HOST_PAGES.node.load(ctx, { page: 'node', model: model.path, layer: 0, node: 1 });
    assert.deepEqual(
      calls.map((c) => c.method),
      ['weights'],
    );
    assert.equal(m.weights?.tiles[0].length, 1);
    assert.match(m.topNote!, /no lens file/);
    const pool = fakeContext({}, false);
    await HOST_PAGES.node.load(pool.ctx, { page: 'node', model: model.path, layer: 1, node: 0 });
    assert.deepEqual(pool.calls, [], 'a layer without weights: no request');
  });

  it('the layer page is one inspectLayer request for the image on the page', async () => {
    const reply: LayerInspection = {
      model,
      layer: 0,
      weights: { layer: 0, nodes: [0, 1, 2], tiles: [0, 1, 2].map(() => [pixels([3, 3, 1])]), rgb: false, min: -1, max: 1 },
      featureMaps: { index: 4, images: 5, className: 'x', image: pixels([4, 4, 1]), maps: pixels([2, 2, 3]), min: 0, max: 0.5 },
    };
    const { ctx, calls, posted } = fakeContext({ inspectLayer: reply });
    const s: PanelState = { page: 'layer', lens: lens.path, model: model.path, layer: 0, image: 4 };
    const m = await HOST_PAGES.layer.load(ctx, s);
    assert.deepEqual(calls, [{ method: 'inspectLayer', params: { model: model.path, lens: lens.path, layer: 0, image: 4 } }]);
    assert.deepEqual([m.type, m.nodes, m.weights?.tiles.length, m.featureMaps?.index, m.featureMaps?.maps.shape], ['layer', 3, 3, 4, [2, 2, 3]]);
    await HOST_PAGES.layer.after!(ctx, s, m);
    assert.deepEqual(posted, [{ type: 'byClass', note: 'Compute Top Activations to see this chart.' }], 'the class chart follows, from the index only');
    assert.equal(HOST_PAGES.layer.title(s, { view: ctx.view, model }), 'a / conv1');
  });

  it('the model page needs no request of its own', async () => {
    const { ctx, calls } = fakeContext({});
    const m = await HOST_PAGES.model.load(ctx, { page: 'model', lens: lens.path, model: model.path });
    assert.deepEqual(calls, []);
    assert.deepEqual([m.type, m.model.layers.length, m.model.lens], ['model', 2, lens.path]);
  });

  it("the comparison page reads B's lens file and model, then one compare request with both lens files and the layers in the state", async () => {
    const reply: CompareResult = {
      a: { lens: lens.path, model: model.path, name: 'A' },
      b: { lens: '/w/b.lens.json', model: '/w/b/model.json', name: 'B' },
      crossTest: {
        models: ['A', 'B'],
        datasets: [
          { name: 'A', source: 'a', classes: ['x', 'y'], images: 5 },
          { name: 'B', source: 'b', classes: ['x', 'y'], images: 5 },
        ],
        cells: [
          [
            {
              error: 0,
              images: 5,
              confusion: [
                [3, 0],
                [0, 2],
              ],
            },
            { error: 0.4, images: 5 },
          ],
          [
            { error: 0.6, images: 5 },
            { error: 0, images: 5 },
          ],
        ],
      },
      matching: {
        layerA: { index: 0, name: 'conv1', nodes: 3, shape: [2, 2, 3] },
        layerB: { index: 2, name: 'h', nodes: 2, shape: [2] },
        dataset: 'A',
        images: 5,
        samples: 5,
        sampling: 'spatialMean',
        correlations: [
          [0.9, 0.1],
          [0.2, -0.5],
          [null, null],
        ],
        bestAtoB: [
          { a: 0, b: 0, correlation: 0.9 },
          { a: 1, b: 0, correlation: 0.2 },
          { a: 2, b: 0, correlation: NaN },
        ],
        bestBtoA: [],
        oneToOne: [{ a: 0, b: 0, correlation: 0.9 }],
      },
    };
    compareResults.clear();
    const lensB = { ...lens, path: '/w/b.lens.json', name: 'B', model: '/w/b/model.json' };
    const modelB = { ...model, path: '/w/b/model.json', weightsHash: 'hb' };
    const { ctx, calls, posted } = fakeContext({ compare: reply, lens: lensB, modelInfo: modelB }, true, { compare: { fraction: 0.5, message: 'cross test' } });
    const s: PanelState = { page: 'compare', lens: lens.path, model: model.path, other: '/w/b.lens.json', otherLayer: 2 };
    const m = await HOST_PAGES.compare.load(ctx, s);
    assert.deepEqual(calls, [
      { method: 'lens', params: { lens: '/w/b.lens.json' } },
      { method: 'modelInfo', params: { model: '/w/b/model.json', lens: '/w/b.lens.json' } },
      { method: 'compare', params: { lens: lens.path, other: '/w/b.lens.json', layerA: undefined, layerB: 2 } },
    ]);
    assert.deepEqual([m.other.path, m.architectureDifference], ['/w/b/model.json', undefined], "B's layers for its picker; one architecture");
    assert.equal(posted.length, 1, 'the engine progress shows on the loading page');
    assert.match((posted[0] as { wait?: string }).wait ?? '', /Comparing: cross test \(50%\)/);
    assert.deepEqual(
      [m.type, m.result.crossTest.cells[0][1].error, m.state.layer, m.state.otherLayer, m.state.other],
      ['compare', 0.4, 0, 2, '/w/b.lens.json'],
      'the state records the matched layers',
    );
    assert.equal(HOST_PAGES.compare.title(s, { view: ctx.view, model }), 'a vs b');
    // Without the second lens file there is nothing to compare, and no request.
    const none = fakeContext({ compare: reply });
    await assert.rejects(HOST_PAGES.compare.load(none.ctx, { ...s, other: undefined }), /two lens files/);
    assert.deepEqual(none.calls, []);
    // The matching table sorts by correlation (a constant node last), or by A's node.
    assert.deepEqual(
      sortPairs(reply.matching.bestAtoB, 'desc').map((p) => p.a),
      [0, 1, 2],
    );
    assert.deepEqual(
      sortPairs(reply.matching.bestAtoB, 'asc').map((p) => p.a),
      [1, 0, 2],
    );
    assert.deepEqual(
      sortPairs(reply.matching.bestAtoB, 'node').map((p) => p.a),
      [0, 1, 2],
    );
  });

  it("the comparison page's messages are checked: A's layer against the model, B's node page by index", () => {
    const bounds = { layers: 2, nodesPerLayer: [3, 3], images: 5 };
    assert.deepEqual(parseWebviewMessage({ type: 'compareLayers', layer: 1, otherLayer: 7 }, bounds), { type: 'compareLayers', layer: 1, otherLayer: 7 });
    assert.equal(parseWebviewMessage({ type: 'compareLayers', layer: 2 }, bounds), undefined);
    assert.equal(parseWebviewMessage({ type: 'compareLayers', layer: 0, otherLayer: -1 }, bounds), undefined);
    assert.deepEqual(parseWebviewMessage({ type: 'openOtherNode', layer: 4, node: 9 }, bounds), { type: 'openOtherNode', layer: 4, node: 9 });
    assert.equal(parseWebviewMessage({ type: 'openOtherNode', layer: 4, node: 1.5 }, bounds), undefined);
    assert.equal(parsePanelState({ page: 'compare', model: '/m/model.json', other: 3 }), undefined);
    assert.deepEqual(parsePanelState({ page: 'compare', model: '/m/model.json', lens: '/m/a.lens.json', other: '/m/b.lens.json', layer: 1, otherLayer: 2 }), {
      page: 'compare',
      model: '/m/model.json',
      lens: '/m/a.lens.json',
      other: '/m/b.lens.json',
      layer: 1,
      otherLayer: 2,
      node: undefined,
      image: undefined,
      focusImage: undefined,
    });
  });
});

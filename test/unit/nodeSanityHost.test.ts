// The host's side of the node page's "Randomize weights" row (src/extension/nodeSanity.ts), with a fake engine:
// what it asks the engine, the row it makes of the reply, the cache for a redraw, Cancel, and that a reply for a
// page no longer on screen is dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeSanity, type SanityDeps } from '../../src/extension/nodeSanity';
import { EngineRequestError } from '../../src/extension/engineClient';
import type { ViewOptionValues } from '../../src/extension/viewOptions';
import type { RandomizeView, PanelState, SanityRowMessage } from '../../src/shared/webviewProtocol';
import type { SanityResult } from '../../src/shared/protocol';

/** A reply of `sanity` with maps at `step` for two 2×2 images (values 1..8 randomized, 10..17 trained). */
function reply(step: number): SanityResult {
  const steps = [1, 2].map((s) => ({
    randomized: ['conv2', 'conv1'].slice(0, s),
    spearmanAbs: s / 10,
    ssim: s / 5,
    perImage: { spearmanAbs: [s / 10, null], ssim: [s / 5, s / 4] },
  }));
  return {
    lens: 'l',
    model: 'm',
    layer: 2,
    layerName: 'conv2',
    node: 5,
    metric: 'frobenius',
    images: [7, 3],
    seed: 2018,
    methods: [
      {
        method: 'guided',
        steps: steps.slice(0, step),
        maps: {
          step,
          cascade: ['conv2', 'conv1'],
          shape: [2, 2, 2, 1],
          trained: Float32Array.from({ length: 8 }, (_, i) => 10 + i),
          randomized: Float32Array.from({ length: 8 }, (_, i) => 1 + i),
        },
      },
    ],
  };
}

function setup() {
  let state: PanelState = { page: 'node', lens: '/w/a.lens.json', model: '/w/m.json', layer: 2, node: 5 };
  let randomize: RandomizeView = { on: false };
  const calls: { params: Record<string, unknown>; cancelled: () => boolean; answer(r: SanityResult | Error): void }[] = [];
  const posted: SanityRowMessage[] = [];
  const deps: SanityDeps = {
    jobs: {
      call: ((
        _method: string,
        params: Record<string, unknown>,
        opts: { token: { isCancellationRequested: boolean; onCancellationRequested(l: () => void): void } },
      ) =>
        new Promise((resolve, reject) => {
          const call = {
            params,
            cancelled: () => opts.token.isCancellationRequested,
            answer: (r: SanityResult | Error) => (r instanceof Error ? reject(r) : resolve(r)),
          };
          opts.token.onCancellationRequested(() => reject(new EngineRequestError({ code: 'cancelled', message: 'Cancelled.' })));
          calls.push(call);
        })) as never,
    },
    storageDir: async () => '/storage',
    view: {
      values: (): ViewOptionValues => ({ method: 'guided', metric: 'frobenius', randomize }),
      setRandomize: (v: RandomizeView) => (randomize = v),
    },
    state: () => state,
    post: (m) => m.type === 'sanityRow' && posted.push(m),
    log: { warn: () => {} },
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { deps, calls, posted, tick, go: (s: PanelState) => (state = s), randomize: () => randomize };
}

test('the toggle asks for the node on screen with its method and depth, and posts its row; a redraw is served from it', async () => {
  const { deps, calls, posted, tick } = setup();
  const sanity = new NodeSanity();
  const done = sanity.toggle({ type: 'randomize', on: true }, deps);
  await tick();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].params, { lens: '/w/a.lens.json', storageDir: '/storage', layer: 2, node: 5, metric: 'frobenius', methods: ['guided'], maps: {} });
  calls[0].answer(reply(2));
  await done;
  assert.equal(posted.length, 1);
  const row = posted[0];
  assert.deepEqual([row.layer, row.node, row.method, row.images, row.depth, row.cascade], [2, 5, 'guided', [7, 3], 2, ['conv2', 'conv1']]);
  assert.deepEqual(
    row.projections.map((p) => [p.shape, Array.from(new Float32Array(p.data))]),
    [
      [
        [2, 2, 1],
        [1, 2, 3, 4],
      ],
      [
        [2, 2, 1],
        [5, 6, 7, 8],
      ],
    ],
  );
  assert.deepEqual(
    [row.spearmanAbs, row.ssim],
    [
      [0.2, null],
      [0.4, 0.5],
    ],
    'the similarities of the step drawn',
  );
  await sanity.toggle({ type: 'randomize', on: true }, deps);
  assert.equal(calls.length, 1, 'the same row again: no new request');
  assert.equal(posted.length, 2);

  const one = sanity.toggle({ type: 'randomize', on: true, depth: 1 }, deps);
  await tick();
  assert.deepEqual(calls[1].params.maps, { step: 1 });
  calls[1].answer(reply(1));
  await one;
  assert.deepEqual([posted[2].depth, posted[2].spearmanAbs], [1, [0.1, null]]);
});

test('off cancels the running request; a reply for another page is not posted', async () => {
  const { deps, calls, posted, tick, go, randomize } = setup();
  const sanity = new NodeSanity();
  const running = sanity.toggle({ type: 'randomize', on: true }, deps);
  await tick();
  await sanity.toggle({ type: 'randomize', on: false }, deps);
  assert.equal(calls[0].cancelled(), true, 'the engine request is cancelled');
  await running;
  assert.deepEqual(posted, [], 'nothing drawn once off');
  assert.equal(randomize().on, false);

  const next = sanity.toggle({ type: 'randomize', on: true }, deps);
  await tick();
  go({ page: 'node', lens: '/w/a.lens.json', model: '/w/m.json', layer: 2, node: 6 });
  calls[1].answer(reply(2));
  await next;
  assert.deepEqual(posted, [], 'the node changed meanwhile: the row is not posted to its page');
});

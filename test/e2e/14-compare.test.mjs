// Scenario 13: the comparison page of two models (issue 14). The EFL and EFL-negative samples are trained with
// the CLI; "Compare With…" from the EFL row of the Models view, choosing EFL-negative, opens the page. Its
// cross-test table must show 0% on each model's own data and, across, the errors `feature-lens compare A B
// --json` prints for the same files; its node-matching table lists both hidden nodes of A with their best B node
// and correlation as the CLI computes them; the sort header works from the keyboard; A's layer picker and B's
// (another pair of layers: node matching as the CLI computes it); both models' class charts are drawn; the same
// node of both opens side by side, each column drawing its own model's weights; a matched pair's ⇆ opens both
// node pages side by side; a node opens its page.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, correlation, decodeDiverging, pixelStats, readWeight, withVSCode } from './harness.mjs';

/** Runs a command from a tree row's context menu (hovering an item focuses it; Enter runs it). */
async function fromContextMenu(s, row, title) {
  await row.click({ button: 'right' });
  const item = s.page.locator('.context-view .action-item', { has: s.page.locator('.action-label', { hasText: new RegExp(`^${title}$`) }) }).first();
  await item.waitFor({ state: 'visible' });
  await item.hover();
  await s.page
    .locator('.context-view .action-item.focused', { hasText: title })
    .waitFor({ state: 'visible', timeout: 5_000 })
    .catch(() => {});
  await s.page.keyboard.press('Enter');
  await item.waitFor({ state: 'hidden' });
}

const pct = (e) => `${(100 * e).toFixed(2)}%`;

/** The node-matching table's rows: A's node, B's node, the correlation as shown. */
const matchingRows = (frame) =>
  frame.$$eval('table.matching tbody tr', (trs) => trs.map((tr) => ({ a: Number(tr.dataset.a), b: Number(tr.dataset.b), text: tr.children[2].textContent })));

const headerSays = (frame, re) =>
  frame.waitForFunction((src) => new RegExp(src).test(document.querySelector('table.matching thead')?.textContent ?? ''), re.source, { timeout: 120_000 });

/** B's layer picker: A's hidden layer against B's logits (A's picker stays), node matching as the CLI computes it. */
async function bLayerPickerAsTheCli(s, frame, lensA, lensB) {
  const out = JSON.parse(cli(['compare', lensA, lensB, '--layer-a', 'hidden', '--layer-b', 'logits', '--json']));
  const ref = (out.result ?? out).matching;
  await frame.selectOption('label.picker.layer-b select', { label: 'logits (3 nodes)' });
  await headerSays(frame, /A node \(hidden\).*best B node \(logits\)/);
  assert.equal(await frame.$eval('label.picker.layer-a select', (e) => e.selectedOptions[0].textContent), 'hidden (2 nodes)', "A's layer stays");
  const shown = await matchingRows(frame);
  assert.deepEqual(shown.map((r) => r.a).sort(), [0, 1]);
  for (const r of shown) {
    const want = ref.bestAtoB.find((p) => p.a === r.a);
    assert.equal(r.b, want.b, `hidden→logits: A node ${r.a}'s best B node`);
    assert.equal(r.text, Number.isFinite(want.correlation) ? want.correlation.toFixed(3) : '—', `hidden→logits: A node ${r.a}'s correlation`);
  }
  assert.equal(await frame.$$eval('table.cross-test td[data-model]', (tds) => tds.length), 4, 'the cross test is still on the page');
  await s.shot('b-layer-picker');
  await frame.selectOption('label.picker.layer-b select', { label: 'hidden (2 nodes)' });
  await headerSays(frame, /best B node \(hidden\)/);
}

/** Both models' layer activation by class, side by side, each drawn (from the indexes computed at the start). */
async function bothClassCharts(s, frame) {
  for (const side of ['a', 'b']) {
    await frame.waitForSelector(`#by-class-${side} canvas`, { timeout: 60_000 });
    const px = pixelStats(await s.canvasPixels(frame, `#by-class-${side} canvas`));
    assert.ok(px.colours >= 3, `model ${side.toUpperCase()}'s class chart is drawn (${px.colours} colours)`);
  }
  await frame.$eval('#by-class-pair', (e) => e.scrollIntoView());
  await s.shot('by-class-pair');
}

/** The same node of both models (one architecture) side by side: each column's weight tile is its own model's. */
async function sameNodeSideBySide(s, frame, lensA, lensB) {
  await frame.click('#same-node vscode-button:has-text("Open Side by Side")');
  const page = await s.inspector({ page: 'compareNodes', timeout: 120_000 });
  const tiles = {};
  for (const [side, lensFile] of [
    ['a', lensA],
    ['b', lensB],
  ]) {
    const sel = `.side[data-side="${side}"] canvas[data-role="weights"][data-index="0"]`;
    await page.waitForSelector(sel, { timeout: 60_000 });
    const w = await s.canvasPixels(page, sel);
    assert.ok(pixelStats(w).colours >= 10, `model ${side.toUpperCase()}'s weight tile is not blank`);
    const kernel = readWeight(path.join(path.dirname(lensFile), 'model', 'model.json'), 'hidden/kernel');
    const [inputs, units] = kernel.shape;
    const truth = Float32Array.from({ length: inputs }, (_, p) => kernel.data[p * units + 0]);
    tiles[side] = decodeDiverging(w);
    const r = correlation(tiles[side], truth);
    assert.ok(r > 0.95, `model ${side.toUpperCase()}'s tile is node 0 of its own hidden kernel (r = ${r.toFixed(3)})`);
  }
  assert.ok(correlation(tiles.a, tiles.b) < 0.95, 'the two models show different weights');
  await s.shot('side-by-side');
  await page.click('vscode-button:has-text("Compare")');
}

/** From the comparison page: a matched pair's ⇆ opens node a of A and node b of B side by side; back to the comparison. */
async function matchedPairSideBySide(s) {
  const compare = await s.inspector({ page: 'compare', timeout: 300_000 });
  await compare.waitForSelector('table.matching tbody tr');
  const pair = (await matchingRows(compare))[0];
  await compare.click(`table.matching tbody tr[data-a="${pair.a}"] td:nth-child(5) button`);
  const both = await s.inspector({ page: 'compareNodes', timeout: 120_000 });
  await both.waitForFunction(
    ([a, b]) =>
      document.querySelector('.side[data-side="a"] .node-count')?.textContent?.startsWith(`node ${a} `) &&
      document.querySelector('.side[data-side="b"] .node-count')?.textContent?.startsWith(`node ${b} `),
    [pair.a, pair.b],
  );
  await both.waitForSelector('.side[data-side="b"] canvas[data-role="top-image"]', { timeout: 60_000 });
  await s.shot('matched-pair-side-by-side');
  await both.click('vscode-button:has-text("Compare")');
  const back = await s.inspector({ page: 'compare', timeout: 300_000 });
  await back.waitForSelector('table.matching tbody tr');
}

test('Compare With… shows the cross test and node matching of the two EFL samples as the CLI computes them', { timeout: 900_000 }, async () => {
  let lensA;
  let lensB;
  await withVSCode(
    '14-compare',
    {
      timeout: 840_000,
      prepare: (ws) => {
        lensA = path.join(ws, 'efl', 'efl.lens.json');
        lensB = path.join(ws, 'efl-negative', 'efl-negative.lens.json');
        cli(['train', lensA]);
        cli(['train', lensB]);
      },
    },
    async (s) => {
      const out = JSON.parse(cli(['compare', lensA, lensB, '--json']));
      const ref = out.result ?? out;
      assert.equal(ref.crossTest.models.length, 2);

      // Both top-activation indexes, for both models' class charts and top images (the pages read stored indexes only).
      for (const rel of ['efl/efl.lens.json', 'efl-negative/efl-negative.lens.json']) {
        await s.openFile(rel);
        await s.runCommand('Feature Lens: Compute Top Activations');
        const name = path.basename(rel).replace(/\./g, '\\.');
        await s.waitForNotification(new RegExp(`(ranked \\d+ images for every node of|the top-activation index of) ${name} `), 180_000);
      }

      await s.openFeatureLensViews();
      await fromContextMenu(s, s.treeItem('Models', /^EFL$/), 'Compare With…');
      await s.pickQuickItem('efl-negative.lens.json');
      const frame = await s.inspector({ page: 'compare', timeout: 300_000 });
      await frame.waitForSelector('table.cross-test td[data-model]');
      await s.shot('compare-page');
      assert.equal(await frame.evaluate(() => window.scrollY), 0, 'the page opens at its top');

      // ---- the cross test: 0% on own data, the CLI's errors across ----------------------------------------------
      const cells = await frame.$$eval('table.cross-test td[data-model]', (tds) =>
        tds.map((td) => ({ i: Number(td.dataset.model), j: Number(td.dataset.dataset), own: td.dataset.own === 'true', text: td.textContent })),
      );
      assert.equal(cells.length, 4, 'two models on two datasets');
      for (const c of cells) {
        const want = ref.crossTest.cells[c.i][c.j].error;
        assert.equal(c.own, c.i === c.j, `cell ${c.i},${c.j} marked as own data only on the diagonal`);
        if (c.own) assert.ok(c.text.includes('0.00%'), `model ${c.i} on its own data shows 0% (${c.text})`);
        else {
          assert.ok(c.text.includes(pct(want)), `model ${c.i} on dataset ${c.j}: ${c.text}, the CLI says ${pct(want)}`);
          assert.ok(want > 0.2, `the error across is large (${pct(want)})`);
        }
      }
      assert.ok(await frame.$$eval('.charts canvas[data-role="chart"], .charts canvas', (cs) => cs.length >= 1), 'confusion matrices drawn');

      // ---- node matching: both hidden nodes of A, best B node and correlation as the CLI has them --------------
      const rows = () =>
        frame.$$eval('table.matching tbody tr', (trs) =>
          trs.map((tr) => ({ a: Number(tr.dataset.a), b: Number(tr.dataset.b), text: tr.children[2].textContent })),
        );
      const shown = await rows();
      assert.deepEqual(shown.map((r) => r.a).sort(), [0, 1], 'both hidden nodes of A are listed');
      assert.equal(ref.matching.layerA.name, 'hidden');
      assert.ok((await frame.textContent('table.matching thead')).includes('hidden'), 'the header names the hidden layers');
      for (const r of shown) {
        const want = ref.matching.bestAtoB.find((p) => p.a === r.a);
        assert.equal(r.b, want.b, `A node ${r.a}'s best B node`);
        assert.equal(r.text, Number.isFinite(want.correlation) ? want.correlation.toFixed(3) : '—', `A node ${r.a}'s correlation`);
      }
      const finite = shown.map((r) => Number(r.text)).filter(Number.isFinite);
      assert.deepEqual(
        finite,
        [...finite].sort((x, y) => y - x),
        'sorted by correlation, descending, at first',
      );

      // ---- the sort header from the keyboard ----------------------------------------------------------------
      await frame.focus('table.matching button.sort');
      await frame.press('table.matching button.sort', 'Enter');
      await frame.waitForSelector('table.matching th[aria-sort="ascending"]');
      const asc = (await rows()).map((r) => Number(r.text)).filter(Number.isFinite);
      assert.deepEqual(
        asc,
        [...asc].sort((x, y) => x - y),
        'ascending after Enter on the header button',
      );
      await s.shot('sorted-ascending');

      // ---- another layer of A: the same layer of B follows (one architecture), as the CLI matches them ---------
      const logits = JSON.parse(cli(['compare', lensA, lensB, '--layer-a', 'logits', '--layer-b', 'logits', '--json']));
      const refLogits = (logits.result ?? logits).matching;
      await frame.selectOption('label.picker.layer-a select', { label: 'logits (3 nodes)' });
      await frame.waitForFunction(() => document.querySelectorAll('table.matching tbody tr').length === 3, undefined, { timeout: 120_000 });
      assert.match(await frame.textContent('table.matching thead'), /A node \(logits\).*best B node \(logits\)/);
      for (const r of await rows()) {
        const want = refLogits.bestAtoB.find((p) => p.a === r.a);
        assert.equal(r.b, want.b, `logits: A node ${r.a}'s best B node`);
        assert.equal(r.text, Number.isFinite(want.correlation) ? want.correlation.toFixed(3) : '—', `logits: A node ${r.a}'s correlation`);
      }
      await s.shot('logits-matching');
      await frame.selectOption('label.picker.layer-a select', { label: 'hidden (2 nodes)' });
      await frame.waitForFunction(() => document.querySelectorAll('table.matching tbody tr').length === 2, undefined, { timeout: 120_000 });
      await frame.waitForFunction(() => /best B node \(hidden\)/.test(document.querySelector('table.matching thead')?.textContent ?? ''));

      await bLayerPickerAsTheCli(s, frame, lensA, lensB);
      await bothClassCharts(s, frame);
      await sameNodeSideBySide(s, frame, lensA, lensB);
      await matchedPairSideBySide(s);

      // ---- a pair's nodes open their pages: A's, then (from the comparison again) B's ------------------------
      const first = (await rows())[0];
      await frame.click(`table.matching tbody tr[data-a="${first.a}"] td:nth-child(1) button`);
      const nodeA = await s.inspector({ page: 'node' });
      await nodeA.waitForFunction((n) => document.body.dataset.node === String(n), first.a);
      await s.shot('node-page-a');
      await nodeA.click('vscode-button:has-text("Compare")');
      const back = await s.inspector({ page: 'compare', timeout: 300_000 });
      await back.waitForSelector('table.matching tbody tr');
      await back.click(`table.matching tbody tr[data-a="${first.a}"] td:nth-child(2) button`);
      const nodeB = await s.inspector({ page: 'node' });
      await nodeB.waitForFunction((n) => document.body.dataset.node === String(n), first.b);
      await nodeB.waitForFunction(() => /EFL negative|efl-negative/i.test(document.querySelector('.page-header')?.textContent ?? ''));
      await s.shot('node-page-b');
    },
  );
});

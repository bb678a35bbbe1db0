// Scenario 9: status and problems where the user looks, and the model where the code is.
// A lens file whose dataset path is wrong (its model is fine) and a truncated model.json beside the samples:
// every top row of the Models view says its status (trained, untrained, ready, broken, dataset missing); the lens
// row's context menu acts on that lens (Open Model opens its model, and says the dataset is missing; Compute
// Top Activations does not ask for a lens file); its problem row is a short relative message that opens the
// lens file at the offending key; the Problems panel lists both problems. Then a PyTorch training script whose
// module names match the trained EFL model's layers: a CodeLens with the layer's shape opens the layer page,
// and a hover shows shape, nodes, an Inspect link and the layer's filters as an image; the same hover over the lens
// file's architecture.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ensureTrained, withVSCode } from './harness.mjs';

const MOVED = {
  name: 'Moved',
  model: '../efl/model/model.json',
  dataset: {
    format: 'idx',
    train: { images: 'data/train-images.gz', labels: 'data/train-labels.gz' },
    test: { images: 'data/test-images.gz', labels: 'data/test-labels.gz' },
  },
};

const SCRIPT = `import torch
from torch import nn


class Letters(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(400, 2, bias=False)
        self.logits = nn.Linear(2, 3, bias=False)

    def forward(self, x):
        return self.logits(torch.relu(self.hidden(x.flatten(1))))
`;

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

/**
 * Shows the hover at the cursor until it holds the layer's filters as an image (the engine draws them on the first
 * hover, which does not wait long for them; later hovers have them cached). Returns the hover and its image's
 * natural size and distinct colours, as decoded by the browser.
 */
async function hoverWithFilters(s, text) {
  let found;
  await s.until(
    "a hover with the layer's filters",
    async () => {
      await s.runCommand('Show or Focus Hover');
      const hover = s.page.locator('.monaco-hover:not(.hidden)', { hasText: text });
      await hover.waitFor({ state: 'visible', timeout: 60_000 });
      const img = hover.locator('img[src^="data:image/png;base64,"]');
      if ((await img.count()) === 0) {
        await s.page.keyboard.press('Escape');
        return false;
      }
      const seen = await img.first().evaluate(async (i) => {
        await i.decode();
        const c = document.createElement('canvas');
        [c.width, c.height] = [i.naturalWidth, i.naturalHeight];
        const ctx = c.getContext('2d');
        ctx.drawImage(i, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let k = 0; k < d.length; k += 4) colours.add((d[k] << 16) | (d[k + 1] << 8) | d[k + 2]);
        const r = i.getBoundingClientRect();
        return { width: i.naturalWidth, height: i.naturalHeight, colours: colours.size, shown: r.width > 0 && r.height > 0 };
      });
      found = { hover, ...seen };
      return true;
    },
    120_000,
  );
  return found;
}

/** Moves the cursor with Go to Line (`line:column`, 1-based). */
async function goTo(s, line, column) {
  await s.dismissQuickInput();
  await s.page.keyboard.press('Control+G');
  const input = s.page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}:${column}`);
  await input.press('Enter');
  await s.page.waitForFunction((want) => document.querySelector('[id="status.editor.selection"]')?.textContent?.includes(want), `Ln ${line}, Col ${column}`);
}

test('tree status, lens problems in the tree and the Problems panel, hovers and CodeLens over layers', { timeout: 900_000 }, async () => {
  await withVSCode(
    '09-tree-editor',
    {
      timeout: 840_000,
      prepare: (ws) => {
        const good = ensureTrained(path.join(ws, 'efl', 'efl.lens.json'));
        fs.mkdirSync(path.join(ws, 'moved'), { recursive: true });
        fs.writeFileSync(path.join(ws, 'moved', 'moved.lens.json'), JSON.stringify(MOVED, null, 2));
        fs.mkdirSync(path.join(ws, 'broken'), { recursive: true });
        fs.writeFileSync(path.join(ws, 'broken', 'model.json'), fs.readFileSync(good, 'utf8').slice(0, 300));
        fs.writeFileSync(path.join(ws, 'train_letters.py'), SCRIPT);
      },
    },
    async (s) => {
      const movedFile = path.join(s.workspace, 'moved', 'moved.lens.json');
      const movedText = fs.readFileSync(movedFile, 'utf8');
      await s.openFeatureLensViews();

      // Every top-level row says its status, without being expanded.
      // EFL's recipe trained its model; Moved only names that model (no recipe of its own): it is "ready".
      const want = { EFL: /^trained/, MNIST: /^untrained/, Moved: /^ready · dataset missing$/, broken: /^broken$/ };
      for (const [label, status] of Object.entries(want)) {
        const row = s.treeItem('Models', new RegExp(`^${label}$`));
        await row.waitFor({ state: 'visible', timeout: 60_000 });
        await s.page.waitForFunction(
          ({ label, source }) => {
            const rows = [...document.querySelectorAll('.monaco-list-row[role="treeitem"]')].filter(
              (r) => r.querySelector('.label-name')?.textContent === label,
            );
            return rows.some((r) => new RegExp(source).test(r.querySelector('.label-description')?.textContent ?? ''));
          },
          { label, source: status.source },
          { timeout: 90_000 },
        );
      }
      const rows = s.view('Models').locator('.monaco-list-row[role="treeitem"][aria-level="1"]');
      const descriptions = await rows.locator('.label-description').allInnerTexts();
      assert.equal(descriptions.length, await rows.count(), 'a description on every top row');
      assert.ok(
        descriptions.every((d) => d.trim().length > 0),
        `no empty description: ${JSON.stringify(descriptions)}`,
      );
      await s.shot('statuses');

      // The lens row's context menu acts on that lens: Open Model opens its (fine) model and says the data is missing.
      await fromContextMenu(s, s.treeItem('Models', /^Moved$/), 'Open Model');
      const frame = await s.inspector({ page: 'model' });
      assert.match(await frame.locator('body').innerText(), /hidden/, 'the model page of the EFL model');
      await s.waitForNotification(/dataset of moved\.lens\.json is missing/);
      const errors = s.page.locator('.notifications-toasts .notification-toast', { has: s.page.locator('.codicon-error') });
      assert.equal(await errors.count(), 0, `no error: ${JSON.stringify(await s.notifications())}`);
      await s.shot('open-model-dataset-missing');

      // Compute Top Activations from the same row does not ask which lens file: it names the missing file.
      await fromContextMenu(s, s.treeItem('Models', /^Moved$/), 'Compute Top Activations');
      const failed = await s.waitForNotification(/train-images\.gz/);
      assert.ok(!(await s.page.locator('.quick-input-widget').isVisible()), 'no pick of a lens file');
      assert.doesNotMatch(await failed.innerText(), /internal error/i);
      await s.shot('scan-names-missing-file');

      // Its problem row: a short relative message; clicking it opens the lens file at "dataset.train.images".
      await s.expand(s.treeItem('Models', /^Moved$/));
      const problem = s.treeItem('Models', /does not exist/);
      await problem.waitFor({ state: 'visible', timeout: 60_000 });
      const label = await problem.locator('.label-name').innerText();
      assert.match(label, /^Dataset file data[/\\]train-images\.gz does not exist/);
      assert.ok(!label.includes(s.workspace), `no absolute path: ${label}`);
      await problem.click();
      await s.page.locator('.tabs-container .tab.active', { hasText: 'moved.lens.json' }).waitFor({ state: 'visible' });
      const keyLine = movedText.split('\n').findIndex((l) => l.includes('"images": "data/train-images.gz"')) + 1;
      await s.page.waitForFunction((line) => document.querySelector('[id="status.editor.selection"]')?.textContent?.includes(`Ln ${line},`), keyLine, {
        timeout: 30_000,
      });
      await s.shot('problem-opens-lens-file');

      // The Problems panel: the missing dataset file on the lens file, the truncated model.json.
      await s.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
      const markers = s.page.locator('.markers-panel .monaco-list-row');
      await markers
        .filter({ hasText: /train-images\.gz does not exist/ })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      await markers
        .filter({ hasText: /not valid JSON/ })
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
      const all = await markers.allInnerTexts();
      assert.ok(
        all.some((t) => /moved\.lens\.json/.test(t)),
        `the lens file is listed: ${JSON.stringify(all)}`,
      );
      // The diagnostic's range is the key's: "Ln N" of the "images" line.
      const missingRow = markers.filter({ hasText: /train-images\.gz does not exist/ }).first();
      assert.match(await missingRow.innerText(), new RegExp(`\\[Ln ${keyLine}, Col \\d+\\]`));
      await s.shot('problems-panel');

      // Training code: a CodeLens over each module the EFL model has, opening its layer page.
      await s.openFile('train_letters.py');
      const codeLens = s.page.locator('.contentWidgets .codelens-decoration a', { hasText: /hidden: Dense \[2\]/ });
      await codeLens.waitFor({ state: 'visible', timeout: 120_000 });
      assert.match(
        await s.page
          .locator('.contentWidgets .codelens-decoration')
          .allInnerTexts()
          .then((t) => t.join('\n')),
        /logits: Dense \[3\]/,
      );
      await s.shot('codelens');
      await codeLens.click();
      const layerPage = await s.inspector({ page: 'layer' });
      assert.match(await layerPage.locator('body').innerText(), /hidden/);
      await s.shot('codelens-opens-layer');

      // A hover over `self.hidden` (line 12, in forward): the shape, the nodes and an Inspect link.
      await s.page.locator('.tabs-container .tab', { hasText: 'train_letters.py' }).first().click();
      await s.page.locator('.tabs-container .tab.active', { hasText: 'train_letters.py' }).waitFor({ state: 'visible' });
      const line = SCRIPT.split('\n').findIndex((l) => l.includes('self.hidden(x')) + 1;
      const column = SCRIPT.split('\n')[line - 1].indexOf('self.hidden(') + 'self.'.length + 2;
      await goTo(s, line, column);
      // With the layer's filters as an image: EFL's two hidden nodes, each a 20×20 tile of its input weights.
      const { hover, ...filters } = await hoverWithFilters(s, /Dense \[2\]/);
      const hoverText = await hover.innerText();
      assert.match(hoverText, /hidden/);
      assert.match(hoverText, /2 nodes/);
      assert.match(hoverText, /Inspect/);
      assert.ok(filters.width >= 40 && filters.height >= 20 && filters.shown, `the filters image is shown (${JSON.stringify(filters)})`);
      assert.ok(filters.colours >= 10, `the filters image is not blank (${filters.colours} colours)`);
      await s.shot('hover-python');

      // The lens file's architecture: the same hover over the "hidden" entry.
      await s.page.keyboard.press('Escape');
      await s.openFile('efl/efl.lens.json');
      const eflText = fs.readFileSync(path.join(s.workspace, 'efl', 'efl.lens.json'), 'utf8').split('\n');
      const archLine = eflText.findIndex((l) => l.includes('"name": "hidden"')) + 1;
      await goTo(s, archLine, eflText[archLine - 1].indexOf('"units"') + 2);
      const lensFilters = await hoverWithFilters(s, /Dense \[2\]/);
      assert.ok(
        lensFilters.width >= 40 && lensFilters.shown && lensFilters.colours >= 10,
        `the filters image in the lens file's hover (${JSON.stringify({ ...lensFilters, hover: undefined })})`,
      );
      await s.shot('hover-lens');
      await s.page.keyboard.press('Escape');

      // Once EFL's index is computed: its row says "index ready", and the hover counts the dead nodes.
      await s.runCommand('Feature Lens: Compute Top Activations');
      await s.waitForNotification(/ranked \d+ images/, 300_000);
      await s.treeItem('Models', /^EFL$/, /index ready/).waitFor({ state: 'visible', timeout: 60_000 });
      await goTo(s, archLine, eflText[archLine - 1].indexOf('"units"') + 2);
      await s.runCommand('Show or Focus Hover');
      await s.page.locator('.monaco-hover:not(.hidden)', { hasText: /Dense \[2\] · 2 nodes · \d dead/ }).waitFor({ state: 'visible', timeout: 60_000 });
      await s.shot('index-ready-dead-nodes');
      await s.page.keyboard.press('Escape');

      // Off by a setting: the CodeLens goes away.
      const settingsFile = path.join(s.userDataDir, 'User', 'settings.json');
      fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(settingsFile, 'utf8')), 'featureLens.editor.codeLens': false }, null, 2));
      await s.page.locator('.tabs-container .tab', { hasText: 'train_letters.py' }).first().click();
      await s.page.locator('.tabs-container .tab.active', { hasText: 'train_letters.py' }).waitFor({ state: 'visible' });
      await s.page.locator('.contentWidgets .codelens-decoration a', { hasText: /hidden: Dense/ }).waitFor({ state: 'detached', timeout: 60_000 });
      await s.shot('codelens-off');
    },
  );
});

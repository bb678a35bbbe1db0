// Scenario 3: Compute Top Activations on the MNIST sample with its progress notification, then a second,
// longer scan (the lens pointed at a bigger test set) cancelled from that notification; with the lens
// restored, the first index still serves: the same top images, and a rerun reuses it instead of rescanning.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import { cli, decodeDiverging, withVSCode } from './harness.mjs';

/** The MNIST sample's lens file in a workspace (samples/mnist/*.lens.json). */
function findMnistLens(ws) {
  const dir = fs.readdirSync(ws).find((d) => /mnist/i.test(d) && fs.statSync(path.join(ws, d)).isDirectory());
  const lens = dir && fs.readdirSync(path.join(ws, dir)).find((f) => f.endsWith('.lens.json'));
  if (!lens) throw new Error(`the MNIST sample (samples/mnist*/*.lens.json) is missing from ${ws}`);
  return path.join(ws, dir, lens);
}

const readIdx = (file) => (file.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(file)) : fs.readFileSync(file));

/** Writes `times` copies of an IDX file's items as one IDX file (same header, count multiplied). */
function repeatIdx(from, to, times) {
  const buf = readIdx(from);
  const dims = buf[3];
  const header = buf.subarray(0, 4 + 4 * dims);
  const body = buf.subarray(header.length);
  const out = Buffer.concat([header, ...Array(times).fill(body)]);
  out.writeUInt32BE(buf.readUInt32BE(4) * times, 4);
  fs.writeFileSync(to, out);
}

test('Compute Top Activations on MNIST; a cancelled rescan leaves the first index serving', { timeout: 600_000 }, async () => {
  let lensFile;
  await withVSCode(
    '03-top-activations',
    {
      // The model is trained by the CLI before VS Code starts (one epoch is enough: this is about the index).
      prepare: (ws) => {
        lensFile = findMnistLens(ws);
        const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
        const model = path.resolve(path.dirname(lensFile), lens.model);
        if (!fs.existsSync(model)) {
          if (lens.training) lens.training.epochs = 1;
          fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
          cli(['train', lensFile]);
        }
      },
    },
    async (s) => {
      const rel = path.relative(s.workspace, lensFile);
      const name = path.basename(lensFile);
      const original = fs.readFileSync(lensFile, 'utf8');
      const lens = JSON.parse(original);
      assert.equal(lens.dataset.format, 'idx', 'the MNIST sample reads IDX files');

      await s.openFile(rel);
      await s.runCommand('Feature Lens: Compute Top Activations');
      const progress = await s.waitForNotification(new RegExp(`top activations of ${name.replace(/\./g, '\\.')}`), 60_000);
      await s.shot('scan-progress');
      assert.ok(await progress.locator('.monaco-button', { hasText: 'Cancel' }).count(), 'the scan can be cancelled from its notification');
      const done = await s.waitForNotification(/ranked \d+ images/, 300_000);
      const images = Number((await done.innerText()).match(/ranked (\d+) images/)[1]);
      await s.shot('scan-done');

      // The top images of the first conv layer's node 0, as the Top Activations view lists them.
      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', new RegExp(`^${lens.name}$`)));
      const conv = s
        .view('Models')
        .locator('.monaco-list-row[role="treeitem"]', { has: s.page.locator('.label-description', { hasText: /^Conv2D / }) })
        .first();
      const layerName = await conv.locator('.label-name').innerText();
      await s.expand(conv);
      await s.treeItem('Models', /^node 0$/).click();
      await s.view('Top Activations').locator('.monaco-list-row[role="treeitem"]').first().waitFor({ state: 'visible', timeout: 60_000 });
      const first = await s.treeLabels('Top Activations');
      assert.ok(first.length >= 3 && first.every((l) => /^#\d+ \S+/.test(l)), `top images listed: ${JSON.stringify(first)}`);
      await s.shot('top-activations');

      // A second scan over a bigger test set (the test images repeated 8 times), cancelled while it runs.
      const big = { images: path.join(path.dirname(lensFile), 'big-test-images.idx'), labels: path.join(path.dirname(lensFile), 'big-test-labels.idx') };
      repeatIdx(path.resolve(path.dirname(lensFile), lens.dataset.test.images), big.images, 8);
      repeatIdx(path.resolve(path.dirname(lensFile), lens.dataset.test.labels), big.labels, 8);
      const refreshed = /Changed on disk, views refreshed: .*\.lens\.json/;
      let refreshes = s.logCount(refreshed);
      fs.writeFileSync(
        lensFile,
        JSON.stringify({ ...lens, dataset: { ...lens.dataset, test: { images: path.basename(big.images), labels: path.basename(big.labels) } } }, null, 2),
      );
      await s.until("the lens watcher's refresh", () => s.logCount(refreshed) > refreshes);
      await s.runCommand('Feature Lens: Compute Top Activations');
      const second = await s.waitForNotification(new RegExp(`top activations of ${name.replace(/\./g, '\\.')}`), 60_000);
      await second.locator('.monaco-button', { hasText: 'Cancel' }).click();
      const t0 = Date.now();
      // The progress toast (the one with Cancel) closes; the confirmation "… cancelled." that follows names the same
      // scan, so it is told apart by having no Cancel button.
      const scanTitle = new RegExp(`top activations of ${name.replace(/\./g, '\\.')}`);
      const progressToasts = s.page
        .locator('.notifications-toasts .notification-toast', { has: s.page.locator('.notification-list-item-message', { hasText: scanTitle }) })
        .filter({ has: s.page.locator('.monaco-button', { hasText: 'Cancel' }) });
      await s.until("the scan's progress toast to close", async () => (await progressToasts.count()) === 0, 30_000);
      // The toast closes at once; the log says when the engine's job actually stopped.
      while (!/Compute Top Activations: cancelled/.test(s.extensionLog()) && Date.now() - t0 < 60_000) await s.page.waitForTimeout(250);
      assert.match(s.extensionLog(), /Compute Top Activations: cancelled/, 'the cancel reached the engine');
      const cancelSeconds = (Date.now() - t0) / 1000;
      // The log line above is written when the command has ended: no toast of this scan can come after it.
      await s.shot('second-scan-cancelled');
      const toasts = await s.notifications();
      assert.ok(!toasts.some((t) => new RegExp(`ranked ${images * 8} images`).test(t)), `the cancelled scan did not finish: ${JSON.stringify(toasts)}`);
      assert.ok(
        !(await s.page.locator('.notifications-toasts .notification-toast .codicon-error').count()),
        `no error shown for a cancel: ${JSON.stringify(toasts)}`,
      );

      // Back to the original test set: the first index serves as it was.
      refreshes = s.logCount(refreshed);
      fs.writeFileSync(lensFile, original);
      fs.rmSync(big.images);
      fs.rmSync(big.labels);
      await s.until("the lens watcher's refresh", () => s.logCount(refreshed) > refreshes);
      await s.runCommand('Feature Lens: Refresh Models');
      await s.expand(s.treeItem('Models', new RegExp(`^${lens.name}$`)));
      await s.expand(s.treeItem('Models', new RegExp(`^${layerName}$`)));
      await s.treeItem('Models', /^node 0$/).click();
      await s.page.waitForFunction(
        (want) => {
          const panes = [...document.querySelectorAll('.pane')].filter((p) =>
            /Top Activations/i.test(p.querySelector('.pane-header h3.title')?.textContent ?? ''),
          );
          const labels = panes.flatMap((p) => [...p.querySelectorAll('.monaco-list-row[role="treeitem"] .label-name')].map((e) => e.textContent));
          return JSON.stringify(labels) === JSON.stringify(want);
        },
        first,
        { timeout: 60_000 },
      );
      await s.inspector({ page: 'node' }); // the click also opened the node in the inspector; let it settle first
      await s.runCommand('Feature Lens: Compute Top Activations');
      // From the palette it asks which lens file is meant unless the active editor shows one.
      const pick = s.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
      if (
        await pick.waitFor({ state: 'visible', timeout: 5_000 }).then(
          () => true,
          () => false,
        )
      )
        await pick.click();
      await s.waitForNotification(/is up to date/, 60_000);
      await s.shot('first-index-reused');

      // Rank by the maximum activation instead, from the panel's list: the panel and the view both follow (the
      // same index holds every score), and list what the CLI's own scan ranks first by that score.
      const panel = await s.inspector({ page: 'node' });
      await panel.locator('#metric').click();
      await panel.locator('#metric').getByRole('option', { name: 'Maximum activation', exact: true }).click();
      await s
        .view('Top Activations')
        .locator('.pane-header', { hasText: /by maximum activation/ })
        .waitFor({ state: 'visible', timeout: 60_000 });
      const byMax = JSON.parse(
        cli(['top', lensFile, '--layer', layerName, '--node', '0', '--metric', 'max', '--storage', path.join(s.tmp, 'cli-index'), '--json']),
      ).result.top.map((t) => `#${t.index} ${t.className}`);
      assert.notDeepEqual(byMax, first, 'the two rankings differ for this node, so the check below can tell them apart');
      const sameAs = async (want) => {
        for (const t0 = Date.now(); Date.now() - t0 < 60_000; await s.page.waitForTimeout(250)) {
          const f = await s.inspector({ page: 'node' });
          const columns = (await f.locator('.col-label .strong').allInnerTexts()).map((t) => t.trim());
          const listed = await s.treeLabels('Top Activations');
          if (JSON.stringify(columns) === JSON.stringify(want) && JSON.stringify(listed) === JSON.stringify(want)) return true;
        }
        return false;
      };
      assert.ok(await sameAs(byMax), `panel and view list the CLI's top images by maximum activation: ${JSON.stringify(byMax)}`);
      assert.match(await (await s.inspector({ page: 'node' })).locator('body').innerText(), /test images by maximum activation/);
      // Each feature map marks where its maximum sits: the reddest spot of the drawn map.
      const frame = await s.inspector({ page: 'node' });
      for (let i = 0; i < 3; i++) {
        const marker = frame.locator('.cell .max-marker').nth(i);
        const [y, x] = [Number(await marker.getAttribute('data-y')), Number(await marker.getAttribute('data-x'))];
        const pixels = await s.canvasPixels(frame, `canvas[data-role="feature-map"][data-index="${i}"]`);
        const drawn = decodeDiverging(pixels);
        const w = pixels.width;
        const top = Math.max(...drawn);
        assert.ok(
          drawn[y * w + x] >= top - 2,
          `image ${i}: the marker (${y}, ${x}) sits on the map's maximum (drawn ${drawn[y * w + x]}, the map's reddest ${top})`,
        );
      }
      const settings = fs.readFileSync(path.join(s.userDataDir, 'User', 'settings.json'), 'utf8');
      assert.match(settings, /"featureLens\.topActivations\.rankBy":\s*"max"/, 'the choice is stored as a user setting');
      await s.shot('ranked-by-max');

      // The Top Activations view's title bar action does the same, with a quick pick: the mean this time.
      const header = s.view('Top Activations').locator('.pane-header');
      await header.hover();
      await header.locator('.action-label[aria-label="Rank Top Images By…"]').click();
      await s.pickQuickItem('Mean activation');
      await header.filter({ hasText: /by mean activation/ }).waitFor({ state: 'visible', timeout: 60_000 });
      await (await s.inspector({ page: 'node' })).getByText(/test images by mean activation/).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await (await s.inspector({ page: 'node' })).locator('.max-marker').count(), 0, 'no maximum marked when ranked by the mean');
      console.log(`# scanned ${images} images; the cancelled scan was reported stopped within ${cancelSeconds.toFixed(1)} s of Cancel`);
    },
  );
});

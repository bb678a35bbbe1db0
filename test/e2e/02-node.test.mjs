// Scenario 2: select a hidden node of the trained EFL model in the Models view; the inspector shows its
// weight image (checked pixel by pixel against the weights in the model file, and for the strokes the seed
// describes), its top-activating test images and their deconvolutions.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, correlation, decodeDiverging, maxAbsDiff, pixelStats, readWeight, SIGNED_TOLERANCE, welchT, withVSCode } from './harness.mjs';

/** Gray level (0–255) of each pixel of an RGBA image. */
const gray = ({ data }) => Float32Array.from({ length: data.length / 4 }, (_, i) => data[4 * i]);

test('a hidden EFL node shows its weights, top images and their deconvolutions', { timeout: 600_000 }, async () => {
  await withVSCode(
    '02-node',
    {
      // A model from this build's trainer (the CLI), so the scenario does not depend on a checked-in model.
      prepare: (ws) => {
        fs.rmSync(path.join(ws, 'efl', 'model'), { recursive: true, force: true });
        cli(['train', path.join(ws, 'efl', 'efl.lens.json')]);
      },
    },
    async (s) => {
      const modelFile = path.join(s.workspace, 'efl', 'model', 'model.json');
      const kernel = readWeight(modelFile, 'hidden/kernel'); // [400, 2]: pixel y*20+x, node
      const [inputs, units] = kernel.shape;
      const column = (node) => Float32Array.from({ length: inputs }, (_, p) => kernel.data[p * units + node]);

      await s.openFile('efl/efl.lens.json');
      await s.runCommand('Feature Lens: Compute Top Activations');
      await s.waitForNotification(/ranked \d+ images|up to date/, 180_000);
      await s.shot('index-computed');

      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^EFL$/));
      await s.expand(s.treeItem('Models', /^hidden$/));
      for (const node of [0, 1]) {
        await s.treeItem('Models', new RegExp(`^node ${node}$`)).click();
        const frame = await s.inspector({ page: 'node' });
        await frame.waitForSelector('canvas[data-role="top-image"]', { timeout: 60_000 });
        await frame.waitForFunction((n) => document.querySelector('.node-count')?.textContent?.startsWith(`node ${n} `), node);
        await s.shot(`node-${node}`);

        // Weights: one 20×20 tile, drawn with the signed colour map; it must be this node's column of the kernel.
        const w = await s.canvasPixels(frame, 'canvas[data-role="weights"][data-index="0"]');
        assert.equal(w.width * w.height, inputs, 'the weight tile has one pixel per input pixel');
        const ws = pixelStats(w);
        assert.ok(ws.colours >= 10, `weight image is not blank (${ws.colours} colours)`);
        const drawn = decodeDiverging(w);
        const truth = column(node);
        const r = correlation(drawn, truth);
        // The values themselves, scale and zero included: each pixel decoded with the legend's limit is the weight.
        const { values, lim } = await s.signedValues(frame, 'canvas[data-role="weights"][data-index="0"]', 'weight');
        const err = maxAbsDiff(values, truth);
        assert.ok(
          err <= lim * SIGNED_TOLERANCE,
          `weight image shows node ${node}'s weights in ${path.basename(modelFile)}: max error ${err} with the legend's limit ${lim}`,
        );

        // Top images: real letters (dark strokes on white).
        const n = await frame.locator('canvas[data-role="top-image"]').count();
        assert.ok(n >= 3, `at least 3 top images (${n})`);
        const tops = [];
        for (let i = 0; i < n; i++) {
          const img = await s.canvasPixels(frame, `canvas[data-role="top-image"][data-index="${i}"]`);
          const st = pixelStats(img);
          assert.ok(st.maxLuma - st.minLuma > 100, `top image ${i} is a letter, not blank (luma ${st.minLuma}–${st.maxLuma})`);
          tops.push(gray(img));
        }
        // The stroke region: dark in some top image; the background: white in all of them.
        const stroke = new Uint8Array(inputs);
        const background = new Uint8Array(inputs).fill(1);
        for (const g of tops)
          for (let p = 0; p < inputs; p++) {
            if (g[p] < 128) stroke[p] = 1;
            if (g[p] < 250) background[p] = 0;
          }
        const { t, a, b } = welchT(drawn, stroke, background);
        assert.ok(
          Math.abs(t) > 3,
          `weights on the strokes (${a.n} px, mean ${a.mean.toFixed(1)}) differ from the background (${b.n} px, mean ${b.mean.toFixed(1)}): Welch t = ${t.toFixed(2)}`,
        );

        console.log(
          `# node ${node}: weights correlation ${r.toFixed(4)}, stroke vs background Welch t ${t.toFixed(1)} (${a.mean.toFixed(1)} vs ${b.mean.toFixed(1)})`,
        );

        // The Top Activations view lists the same images, in the same order, as the panel's columns.
        const columns = (await frame.locator('.col-label .strong').allInnerTexts()).map((t) => t.trim());
        let listed = [];
        for (const t0 = Date.now(); Date.now() - t0 < 30_000; await s.page.waitForTimeout(250)) {
          listed = await s.treeLabels('Top Activations');
          if (JSON.stringify(listed) === JSON.stringify(columns)) break;
        }
        assert.deepEqual(listed, columns, `the Top Activations view follows node ${node}`);

        // Deconvolution of a node of a dense layer fed by the input: its activation times its weight vector,
        // so each projection is the weight image up to a positive factor.
        const rowLabel = await frame.locator('.row-label', { hasText: 'projection' }).innerText();
        assert.match(rowLabel, /Deconvolution/);
        assert.equal(await frame.locator('canvas[data-role="projection"]').count(), n, 'one projection per top image');
        for (let i = 0; i < n; i++) {
          const proj = decodeDiverging(await s.canvasPixels(frame, `canvas[data-role="projection"][data-index="${i}"]`));
          const rp = correlation(proj, truth);
          assert.ok(rp > 0.95, `projection ${i} is the node's weight pattern (correlation ${rp.toFixed(4)})`);
        }
      }
    },
  );
});

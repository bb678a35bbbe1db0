// Scenario 16: the node page's "Randomize weights" toggle (issue 14, the sanity check of projections of Adebayo
// et al. 2018) on the MNIST sample. Pressed from the keyboard on a conv2 node page, it draws a second row of
// projections under the trained ones, one per top image, none blank and unlike the trained row, with under each
// pair the Spearman correlation and SSIM that `feature-lens sanity --json` prints for the same node; the depth
// picker (conv2 only) gives the CLI's first step; the toggle stays on for the next node; pressed again, the
// row is gone.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, pixelStats, withVSCode } from './harness.mjs';

/** The node's deconvolution similarities as the CLI prints them, per step, for the top images in order. */
function cliSimilarities(lensFile, conv2, node, storage) {
  const r = JSON.parse(cli(['sanity', lensFile, '--layer', String(conv2), '--node', String(node), '--storage', storage, '--json'])).result;
  const deconv = r.methods.find((m) => m.method === 'deconv');
  return { images: r.images, steps: deconv.steps.map((s) => s.perImage) };
}

/** The texts under each randomized projection ("ρ 0.12", "SSIM 0.34") as numbers, in column order. */
async function shownSimilarities(frame) {
  return frame.$$eval('.top-grid .sanity.cell.dim', (cells) => cells.map((c) => [...c.children].map((d) => Number(d.textContent.replace(/^(ρ|SSIM) /, '')))));
}

test('Randomize weights draws a second row of projections with the CLI’s similarities', { timeout: 900_000 }, async () => {
  let lensFile;
  await withVSCode(
    '16-sanity',
    {
      timeout: 840_000,
      prepare: (ws) => {
        lensFile = path.join(ws, 'mnist', 'mnist.lens.json');
        const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
        lens.training.epochs = 1;
        fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
        cli(['train', lensFile]);
      },
    },
    async (s) => {
      const modelFile = path.resolve(path.dirname(lensFile), JSON.parse(fs.readFileSync(lensFile, 'utf8')).model);
      const info = JSON.parse(cli(['info', modelFile, '--json'])).result;
      const conv2 = info.layers.find((l) => l.name === 'conv2').index;
      // A node that fires (a dead node's projections are all zero), from the CLI's own index.
      const storage = path.join(s.workspace, '..', 'cli-index');
      let node = 0;
      while (JSON.parse(cli(['top', lensFile, '--layer', 'conv2', '--node', String(node), '--storage', storage, '--json'])).result.top[0].score <= 0) node++;
      const expected = cliSimilarities(lensFile, conv2, node, storage);

      await s.runCommand('Feature Lens: Compute Top Activations');
      await s.pickQuickItem('mnist.lens.json');
      await s.waitForNotification(/ranked \d+ images|up to date/, 300_000);
      await s.openFeatureLensViews();
      const ready = (n) => `body[data-state="ready"][data-page="node"][data-layer="${conv2}"][data-node="${n}"] canvas[data-role="projection"]`;
      let frame;
      for (let attempt = 1; !frame; attempt++) {
        await s.expand(s.treeItem('Models', /^MNIST$/));
        await s.expand(s.treeItem('Models', /^conv2$/));
        await s.treeItem('Models', new RegExp(`^node ${node}$`)).click();
        frame = await s.frameWith(ready(node), attempt < 3 ? 40_000 : 120_000).catch((e) => {
          if (attempt >= 3) throw e;
          return undefined;
        });
      }
      const columns = await frame.$$eval('canvas[data-role="top-image"]', (cs) => cs.length);
      assert.equal(await frame.$$eval('canvas[data-role="randomized-projection"]', (cs) => cs.length), 0, 'no second row before the toggle');
      const shown = await frame.$$eval('.top-grid .col-label .strong', (ls) => ls.map((l) => Number(l.textContent.match(/^#(\d+)/)[1])));
      assert.deepEqual(shown, expected.images, 'the page ranks the same top images as the CLI');

      // Keyboard: the toggle takes the focus and Enter presses it.
      await frame.locator('#randomize').focus();
      assert.ok(await frame.evaluate(() => document.activeElement?.id === 'randomize'), 'Randomize Weights has the keyboard focus');
      await frame.locator('#randomize').press('Enter');
      await frame.waitForFunction((n) => document.querySelectorAll('canvas[data-role="randomized-projection"]').length === n, columns, { timeout: 300_000 });
      await s.shot('randomized');
      assert.equal(await frame.getAttribute('#randomize', 'aria-pressed'), 'true');
      for (let i = 0; i < columns; i++) {
        const trained = await s.canvasPixels(frame, `canvas[data-role="projection"][data-index="${i}"]`);
        const random = await s.canvasPixels(frame, `canvas[data-role="randomized-projection"][data-index="${i}"]`);
        const st = pixelStats(random);
        assert.ok(st.colours >= 10 && st.maxLuma - st.minLuma > 20, `randomized projection ${i} is not blank (${st.colours} colours)`);
        assert.equal(random.width * random.height, trained.width * trained.height, 'the same size as the trained projection');
        let differ = 0;
        for (let p = 0; p < random.data.length; p += 4)
          if (Math.abs(random.data[p] - trained.data[p]) + Math.abs(random.data[p + 2] - trained.data[p + 2]) > 24) differ++;
        assert.ok(differ > random.width * random.height * 0.05, `randomized projection ${i} differs from the trained one (${differ} pixels)`);
      }
      const all = expected.steps[expected.steps.length - 1];
      const close = (got, want, what) => assert.ok(Math.abs(got - want) <= 0.0051, `${what}: shown ${got}, CLI ${want}`);
      (await shownSimilarities(frame)).forEach(([rho, ssim], i) => {
        close(rho, all.spearmanAbs[i], `image ${i} Spearman, all layers randomized`);
        close(ssim, all.ssim[i], `image ${i} SSIM, all layers randomized`);
      });

      // The depth picker: conv2 only, the CLI's first step.
      await frame.locator('#randomize-depth').selectOption('1');
      await frame.waitForFunction(
        () => document.querySelector('#randomize-depth')?.value === '1' && document.querySelectorAll('canvas[data-role="randomized-projection"]').length > 0,
        undefined,
        {
          timeout: 300_000,
        },
      );
      (await shownSimilarities(frame)).forEach(([rho, ssim], i) => {
        close(rho, expected.steps[0].spearmanAbs[i], `image ${i} Spearman, conv2 randomized`);
        close(ssim, expected.steps[0].ssim[i], `image ${i} SSIM, conv2 randomized`);
      });
      await s.shot('randomized-conv2');

      // The toggle is a view option: the next node's page draws its second row too; pressed again, it is gone.
      await frame.locator('body').press('ArrowRight');
      frame = await s.frameWith(ready(node + 1), 120_000);
      await frame.waitForFunction(() => document.querySelectorAll('canvas[data-role="randomized-projection"]').length > 0, undefined, { timeout: 300_000 });
      await frame.locator('#randomize').focus();
      await frame.locator('#randomize').press('Enter');
      await frame.waitForFunction(() => document.querySelectorAll('.top-grid .sanity').length === 0, undefined, { timeout: 30_000 });
      assert.equal(await frame.getAttribute('#randomize', 'aria-pressed'), 'false');
      await s.shot('toggled-off');
    },
  );
});

// Scenario 5: the model is retrained from the command line while VS Code is open (as a training script would
// rewrite it); the Models view and the open inspector panel pick up the new model without a reload.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, ensureTrained, maxAbsDiff, readWeight, SIGNED_TOLERANCE, withVSCode } from './harness.mjs';

test('retraining from the CLI refreshes the views without a reload', { timeout: 600_000 }, async () => {
  let lensFile;
  await withVSCode(
    '05-retrain',
    {
      prepare: (ws) => {
        lensFile = path.join(ws, 'efl', 'efl.lens.json');
        ensureTrained(lensFile, { force: true });
      },
    },
    async (s) => {
      const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
      const modelFile = path.resolve(path.dirname(lensFile), lens.model);
      const hidden = lens.training.architecture.find((l) => l.type === 'dense');
      const before = hidden.units;

      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^EFL$/));
      const row = s.treeItem('Models', new RegExp(`^${hidden.name}$`));
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await row.locator('.label-description').innerText(), `Dense [${before}]`);
      await s.expand(row);
      await s.treeItem('Models', /^node 0$/).click();
      let frame = await s.inspector({ page: 'node' });
      await s.shot('before');
      // The drawn weights as values (the legend's limit included): equal to a model's weights within the colours' rounding.
      const shows = async (want) => {
        const { values, lim } = await s.signedValues(frame, 'canvas[data-role="weights"][data-index="0"]', 'weight');
        return { err: maxAbsDiff(values, want), lim };
      };
      const column0 = () => {
        const k = readWeight(modelFile, `${hidden.name}/kernel`);
        return Float32Array.from({ length: k.shape[0] }, (_, p) => k.data[p * k.shape[1]]);
      };
      const first = await shows(column0());
      assert.ok(first.err <= first.lim * SIGNED_TOLERANCE, `the panel shows the first model's weights (max error ${first.err}, limit ${first.lim})`);
      const mtime = fs.statSync(modelFile).mtimeMs;

      // A different network: one more hidden node and another seed, trained by the CLI on the same files.
      hidden.units = before + 1;
      lens.training.seed = (lens.training.seed ?? 1) + 1;
      fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
      cli(['train', lensFile]);
      const t0 = Date.now();
      assert.ok(fs.statSync(modelFile).mtimeMs > mtime, 'the CLI rewrote the model');
      const after = column0();

      // The Models view: the layer's shape changes and the new node appears.
      await s.page.waitForFunction(
        ({ name, text }) =>
          [...document.querySelectorAll('.monaco-list-row[role="treeitem"]')].some(
            (r) => r.querySelector('.label-name')?.textContent === name && r.querySelector('.label-description')?.textContent === text,
          ),
        { name: hidden.name, text: `Dense [${before + 1}]` },
        { timeout: 60_000 },
      );
      await s.expand(s.treeItem('Models', new RegExp(`^${hidden.name}$`)));
      await s.treeItem('Models', new RegExp(`^node ${before}$`)).waitFor({ state: 'visible', timeout: 30_000 });
      // The open panel redraws node 0 with the new weights.
      const deadline = Date.now() + 60_000;
      let now = { err: Infinity, lim: 0 };
      for (;;) {
        frame = await s.inspector({ page: 'node' });
        now = await shows(after).catch(() => ({ err: Infinity, lim: 0 }));
        if (now.err <= now.lim * SIGNED_TOLERANCE || Date.now() > deadline) break;
        await s.page.waitForTimeout(500);
      }
      await s.shot('after');
      assert.ok(now.err <= now.lim * SIGNED_TOLERANCE, `the panel shows the retrained weights (max error ${now.err}, limit ${now.lim})`);
      assert.match(await frame.locator('.node-count').innerText(), new RegExp(`of ${before + 1}$`));
      console.log(`# views refreshed ${((Date.now() - t0) / 1000).toFixed(1)} s after the CLI finished training`);
    },
  );
});

// Scenario 1: "Feature Lens: Train Model" from the palette on the EFL sample; the Models view then lists the
// trained model's layers (names and shapes as the model file has them).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, withVSCode } from './harness.mjs';

test('Train Model on the EFL sample fills the Models view with its layers', { timeout: 600_000 }, async () => {
  await withVSCode(
    '01-train',
    {
      // Start untrained, so the layers can only come from this run.
      prepare: (ws) => {
        fs.rmSync(path.join(ws, 'efl', 'model'), { recursive: true, force: true });
        fs.rmSync(path.join(ws, 'efl', 'efl.training.json'), { force: true });
      },
    },
    async (s) => {
      await s.openFeatureLensViews();
      const efl = s.treeItem('Models', /^EFL$/);
      await s.expand(efl);
      await s.treeItem('Models', 'Not trained yet').waitFor({ state: 'visible', timeout: 60_000 });
      await s.shot('untrained');

      await s.openFile('efl/efl.lens.json');
      await s.runCommand('Feature Lens: Train Model');
      await s.waitForNotification(/training efl\.lens\.json/, 60_000);
      await s.shot('training-progress');
      await s.waitForNotification(/trained efl\.lens\.json/, 300_000);
      await s.shot('trained');

      const modelFile = path.join(s.workspace, 'efl', 'model', 'model.json');
      assert.ok(fs.existsSync(modelFile), `training wrote ${modelFile}`);
      const info = JSON.parse(cli(['info', modelFile, '--json'])).result;
      for (const layer of info.layers) {
        const row = s.treeItem('Models', new RegExp(`^${layer.name}$`));
        await row.waitFor({ state: 'visible', timeout: 30_000 });
        assert.equal(await row.locator('.label-description').innerText(), `${layer.className} [${layer.outputShape.join(', ')}]`);
      }
      assert.equal(await s.treeItem('Models', 'Not trained yet').count(), 0, 'the "not trained" entry is gone');
      await s.shot('layers');
    },
  );
});

// Scenario 7: what a workspace may make Feature Lens do. A lens file naming a model outside the workspace is
// used only after the user allows it in a modal dialog (a refusal leaves an error in its place; an Allow is
// remembered across a reload). In Restricted Mode models can still be viewed, but Train Model refuses to run.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ensureTrained, withVSCode } from './harness.mjs';

/** The modal dialog of the workbench, when one is open. */
const dialog = (s) => s.page.locator('.monaco-dialog-box');

test('a lens naming a model outside the workspace is used only once the user allows it', { timeout: 600_000 }, async () => {
  let outsideModel;
  await withVSCode(
    '07-outside',
    {
      prepare: (ws) => {
        // The EFL model, trained here and moved next to the workspace folder (not inside it).
        const trained = ensureTrained(path.join(ws, 'efl', 'efl.lens.json'));
        const outside = path.join(path.dirname(ws), 'outside-model');
        fs.cpSync(path.dirname(trained), outside, { recursive: true });
        outsideModel = path.join(outside, 'model.json');
        const lens = JSON.parse(fs.readFileSync(path.join(ws, 'efl', 'efl.lens.json'), 'utf8'));
        delete lens.training;
        delete lens.$schema;
        fs.mkdirSync(path.join(ws, 'elsewhere'));
        fs.writeFileSync(
          path.join(ws, 'elsewhere', 'elsewhere.lens.json'),
          JSON.stringify({ ...lens, name: 'Elsewhere', model: path.relative(path.join(ws, 'elsewhere'), outsideModel) }, null, 2),
        );
      },
    },
    async (s) => {
      // Listing the lens files reads each one (its name, its classes): the question comes before that.
      await s.openFeatureLensViews();
      await dialog(s).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(
        await s
          .view('Models')
          .getByText(/No lens file/)
          .count(),
        0,
        'while the question is open the view does not claim the workspace has no lens file',
      );
      const question = await dialog(s).innerText();
      assert.match(question, /elsewhere\.lens\.json uses files outside this workspace/);
      assert.ok(question.includes(outsideModel), `the dialog names the file outside: ${question}`);
      await s.shot('asked');
      await dialog(s)
        .locator('.monaco-button', { hasText: /^Cancel$/ })
        .click();
      // Refused: listed by its file name, with the refusal as its only child.
      const lensItem = s.treeItem('Models', /^elsewhere$/i);
      await s.expand(lensItem);
      await s.treeItem('Models', /outside the workspace/).waitFor({ state: 'visible', timeout: 30_000 });
      await s.treeItem('Models', /^EFL$/).waitFor({ state: 'visible' });
      assert.equal(await s.treeItem('Models', /^hidden$/).count(), 0, 'no layers of the refused model');
      await s.shot('refused');

      // Asked again after a refresh; Allow opens it.
      await s.runCommand('Feature Lens: Refresh Models');
      await dialog(s).waitFor({ state: 'visible', timeout: 60_000 });
      await dialog(s)
        .locator('.monaco-button', { hasText: /^Allow$/ })
        .click();
      await s.expand(s.treeItem('Models', /^Elsewhere$/));
      await s.treeItem('Models', /^hidden$/).waitFor({ state: 'visible', timeout: 60_000 });
      await s.shot('allowed');

      // Remembered for this workspace: after a reload the layers come back without a question.
      await s.page.reload();
      await s.page.waitForSelector('.statusbar-item', { timeout: 60_000 });
      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^Elsewhere$/));
      await s.treeItem('Models', /^hidden$/).waitFor({ state: 'visible', timeout: 60_000 });
      assert.equal(await dialog(s).isVisible(), false, 'no second question after Allow');
      assert.match(s.extensionLog(), /Allowed .*elsewhere\.lens\.json to use files outside the workspace/);
      await s.shot('remembered');
    },
  );
});

test('in Restricted Mode models can be viewed, and Train Model is not offered and refuses to run', { timeout: 600_000 }, async () => {
  let untrained;
  await withVSCode(
    '07-restricted',
    {
      workspaceTrust: true,
      settings: { 'security.workspace.trust.enabled': true },
      prepare: (ws) => {
        ensureTrained(path.join(ws, 'efl', 'efl.lens.json'));
        untrained = path.join(ws, 'efl-negative');
      },
    },
    async (s) => {
      // The startup question: do not trust the folder.
      await dialog(s).waitFor({ state: 'visible', timeout: 60_000 });
      await dialog(s)
        .locator('.monaco-button', { hasText: /No, I don.t trust/i })
        .click();
      await s.page
        .locator('.statusbar-item', { hasText: /Restricted Mode/i })
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 });

      // Viewing works: the trained EFL model's layers.
      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^EFL$/));
      await s.treeItem('Models', /^hidden$/).waitFor({ state: 'visible', timeout: 60_000 });
      await s.shot('restricted-view');

      // The palette offers the viewing commands but not Train Model (typed in full, so it would be the first row).
      await s.dismissQuickInput();
      await s.page.keyboard.press('Control+Shift+P');
      const input = s.page.locator('.quick-input-widget input.input');
      await input.fill('>Feature Lens: Open Model');
      await s.paletteRow('Feature Lens: Open Model').waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill('>Feature Lens: Train Model');
      // The list has been filtered for this text before the absence is checked: VS Code then offers its
      // "similar commands" (Open Model among them), which it shows only for a query.
      await s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'similar commands' }).first().waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await s.paletteRow('Feature Lens: Train Model').count(), 0, 'Train Model is not offered in Restricted Mode');
      await s.shot('palette-without-train');
      await s.page.keyboard.press('Escape');

      // The untrained lens still says how to train; running it from there gives one warning and writes nothing.
      const before = fs.readdirSync(untrained).sort();
      await s.expand(s.treeItem('Models', /^EFL negative$/));
      await s.treeItem('Models', /Not trained yet/).click();
      const warning = await s.waitForNotification(/Training is disabled in Restricted Mode/, 30_000);
      assert.ok(await warning.locator('.monaco-button', { hasText: 'Manage Workspace Trust' }).count(), 'the warning offers the way to trust the workspace');
      await s.shot('train-refused');
      // Closing the warning ends the command; the log says so. Only then is "nothing written" a finding.
      await warning.hover();
      await warning.locator('.codicon-notifications-clear').click();
      await s.until('the refused command to end', () => /Train Model not run: the workspace is not trusted/.test(s.extensionLog()), 30_000);
      assert.deepEqual(fs.readdirSync(untrained).sort(), before, 'nothing was written into the workspace');
      assert.doesNotMatch(s.extensionLog(), /Trained efl-negative/);
    },
  );
});

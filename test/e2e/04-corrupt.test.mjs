// Scenario 4: a corrupt model.json in the workspace. Opening it gives one clear error naming the file and the
// problem, with a way to the log; the extension keeps working for the other models.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ensureTrained, withVSCode } from './harness.mjs';

test('a corrupt model.json gives one clear error and the extension keeps working', { timeout: 600_000 }, async () => {
  await withVSCode(
    '04-corrupt',
    {
      prepare: (ws) => {
        const good = ensureTrained(path.join(ws, 'efl', 'efl.lens.json'));
        // A model.json cut short, as a crashed writer would leave it.
        fs.mkdirSync(path.join(ws, 'broken'), { recursive: true });
        fs.writeFileSync(path.join(ws, 'broken', 'model.json'), fs.readFileSync(good, 'utf8').slice(0, 300));
      },
    },
    async (s) => {
      await s.openFeatureLensViews();
      const broken = s.treeItem('Models', /^broken$/);
      await s.expand(broken);
      const reason = s.treeItem('Models', /not valid JSON/);
      await reason.waitFor({ state: 'visible', timeout: 60_000 });
      await s.shot('models-view-error');

      await s.openFile('broken/model.json');
      await s.runCommand('Feature Lens: Open Model');
      // Wait for the error to surface (in the panel or as a notification). Every error shown is also logged at the
      // error level: the end of this test checks that the log has exactly one, once a later request was answered.
      const errorToasts = s.page.locator('.notifications-toasts .notification-toast', { has: s.page.locator('.codicon-error') });
      const surfaced = async () => (await errorToasts.count()) + (await s.framesWith('body[data-state="error"]')).length;
      await s.until('the error to be shown', surfaced);
      await s.shot('open-corrupt');
      const panels = await s.framesWith('body[data-state="error"]');
      const toasts = await errorToasts.locator('.notification-list-item-message').allInnerTexts();
      const messages = [...toasts, ...(await Promise.all(panels.map((f) => f.locator('body').innerText())))];
      assert.equal(messages.length, 1, `exactly one error shown, got: ${JSON.stringify(messages)}`);
      assert.match(messages[0], /broken[/\\]model\.json/, 'the message names the file');
      assert.match(messages[0], /not valid JSON/i, 'the message says what is wrong');

      // Wherever it surfaced, "Show Log" opens the Feature Lens log, which has the details.
      const logLines = s.page.locator('.output-view .view-lines', { hasText: /not\svalid\sJSON/ }); // spaces are drawn as no-break spaces
      assert.equal(await logLines.count(), 0, 'the log is not on screen before Show Log');
      if (panels.length) await panels[0].locator('vscode-button', { hasText: 'Show Log' }).click();
      else await errorToasts.first().locator('.monaco-button', { hasText: 'Show Log' }).click();
      await logLines.waitFor({ state: 'visible', timeout: 30_000 });
      await s.shot('show-log');

      // Still working: the EFL model opens, and its layers are listed.
      await s.openFile('efl/efl.lens.json');
      await s.runCommand('Feature Lens: Open Model');
      const frame = await s.inspector({ page: 'model' });
      assert.match(await frame.locator('body').innerText(), /hidden/);
      await s.expand(s.treeItem('Models', /^EFL$/));
      await s.treeItem('Models', /^hidden$/).waitFor({ state: 'visible', timeout: 30_000 });
      await s.shot('still-working');
      // The EFL model's requests were answered after the broken one's: any duplicate of its error came by now.
      const errors = s
        .extensionLog()
        .split('\n')
        .filter((l) => /\[error\]/.test(l) && /not valid JSON/.test(l));
      assert.equal(errors.length, 1, `the corrupt file's error was shown once: ${JSON.stringify(errors)}`);
    },
  );
});

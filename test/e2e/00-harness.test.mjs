// The harness itself: code-server starts with the packaged VSIX installed, the workbench loads in Chromium,
// the palette runs commands, and the extension shows up in VS Code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withVSCode } from './harness.mjs';

test('VS Code loads with Feature Lens installed and the palette runs commands', { timeout: 240_000 }, async () => {
  await withVSCode('00-harness', {}, async (s) => {
    await s.runCommand('Extensions: Show Enabled Extensions');
    const item = s.page.locator('.extensions-viewlet .extension-list-item', { hasText: 'Feature Lens' }).first();
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    await s.shot('installed-extensions');
    assert.match(await item.innerText(), /Feature Lens/);
  });
});

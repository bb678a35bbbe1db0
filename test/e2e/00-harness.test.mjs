// The harness itself: code-server starts with the packaged VSIX installed, the workbench loads in Chromium,
// the palette runs the extension's commands, and the extension's log and status bar item appear.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { withVSCode } from './harness.mjs';

test('VS Code loads with Feature Lens installed; its log and status bar item appear', { timeout: 300_000 }, async () => {
  await withVSCode('00-harness', { timeout: 180_000 }, async (s) => {
    await s.runCommand('Extensions: Show Enabled Extensions');
    const item = s.page.locator('.extensions-viewlet .extension-list-item', { hasText: 'Feature Lens' }).first();
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    await s.shot('installed-extensions');

    await s.runCommand('Feature Lens: Show Log');
    // The Output panel opens on the extension's own log channel.
    const panel = s.page.locator('.part.panel');
    await panel.locator('.monaco-select-box[title="Feature Lens"], select.monaco-select-box').first().waitFor({ state: 'visible', timeout: 30_000 });
    const channel = await panel
      .locator('select.monaco-select-box')
      .first()
      .evaluate((el) => el.options[el.selectedIndex]?.text ?? '');
    assert.equal(channel, 'Feature Lens');
    // The status bar names the engine backend: the setting until the engine runs, then the backend in use. Listing
    // the sample lenses starts the engine; the status then says what the engine's log says it chose for `auto`
    // (native TensorFlow where tfjs-node is installed, else WebAssembly: never the slow cpu fallback).
    const status = s.page.locator('.statusbar-item[id="feature-lens.feature-lens.featureLens.backend"]');
    await status.waitFor({ state: 'visible', timeout: 30_000 });
    await s.openFeatureLensViews();
    const backend = await s.until('the engine to start', () => /Engine ready: backend (\w+)/.exec(s.extensionLog())?.[1]);
    assert.match(backend, /^(wasm|tensorflow)$/);
    await s.until(
      `the status bar to show the backend ${backend}`,
      async () => new RegExp(`^${backend}( ×\\d+)?$`).test((await status.innerText()).trim()),
      30_000,
    );
    await s.shot('log-and-status');
  });
});

test('an empty folder: the Models view says there is nothing yet and offers the walkthrough', { timeout: 300_000 }, async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-empty-'));
  try {
    await withVSCode('00-empty', { timeout: 180_000, samples: empty }, async (s) => {
      await s.openFeatureLensViews();
      const welcome = s.view('Models').locator('.welcome-view-content');
      await welcome.getByText('No lens file or TensorFlow.js model in this workspace yet.').waitFor({ state: 'visible', timeout: 60_000 });
      assert.ok(await welcome.getByRole('button', { name: 'Open the Walkthrough' }).count(), 'the walkthrough is one click away');
      await s.shot('empty-workspace');
    });
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

// Scenario 10: the walkthrough in an empty folder. It opens from the Models view's welcome even while VS Code's
// own walkthrough is showing; its training step offers to create the EFL sample and is not ticked while there
// is none (nor when the offer is declined); created, the step trains EFL and is ticked once the model is
// written; the next step opens node 0 of EFL's hidden layer.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { withVSCode } from './harness.mjs';

const TITLE = 'See what a network learned';

test("the walkthrough in an empty folder: opens over VS Code's own, creates the sample, ticks only what worked", { timeout: 900_000 }, async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-walkthrough-'));
  try {
    await withVSCode('10-walkthrough', { timeout: 840_000, samples: empty }, async (s) => {
      const page = s.page;
      // VS Code's own walkthrough first, as a new user sees it.
      await s.runCommand('Welcome: Open Walkthrough...');
      const firstWalkthrough = page.locator('.quick-input-list .monaco-list-row').first();
      await firstWalkthrough.waitFor({ state: 'visible' });
      const theirs = await firstWalkthrough.locator('.label-name').first().innerText();
      await page.keyboard.press('Enter'); // the first row is focused
      await page.locator('.gettingStartedContainer').waitFor({ state: 'visible' });
      await s.shot('vscode-walkthrough');

      // Ours, from the Models view's welcome.
      await s.openFeatureLensViews();
      await s.view('Models').locator('.welcome-view-content').getByRole('button', { name: 'Open the Walkthrough' }).click();
      const container = page.locator('.gettingStartedContainer');
      // The editor now shows ours (the Welcome page keeps every walkthrough's title in its DOM: check the tab).
      await page.getByRole('tab', { name: /^Walkthrough: Feature Lens/ }).waitFor({ state: 'visible', timeout: 30_000 });
      await container.locator('.getting-started-category .category-title, h2', { hasText: TITLE }).first().waitFor({ state: 'visible' });
      await s.shot('our-walkthrough');
      assert.ok(theirs.length > 0 && !theirs.includes(TITLE));

      const step = (title) => container.locator('.getting-started-step', { hasText: title }).first();
      // A ticked step's checkbox is a codicon with the class "complete".
      const isDone = async (title) => (await step(title).locator('.codicon.complete').count()) > 0;

      // The training step in a folder without the sample: an offer to create it; declined, nothing is ticked.
      await step('Train EFL').click();
      await container.getByRole('button', { name: 'Start Training' }).click();
      const offer = await s.waitForNotification(/no EFL sample/);
      await s.shot('offer-to-create');
      await offer.locator('.codicon-notifications-clear, .codicon-close').first().click();
      await offer.waitFor({ state: 'hidden' });
      assert.equal(await isDone('Train EFL'), false, 'not ticked: nothing was trained');
      assert.equal(fs.existsSync(path.join(s.workspace, 'efl')), false, 'nothing written without consent');

      // Accepted: the sample is created and trained, and only then is the step ticked.
      await container.getByRole('button', { name: 'Start Training' }).click();
      const offer2 = await s.waitForNotification(/no EFL sample/);
      await offer2.locator('.monaco-button', { hasText: 'Create Sample' }).click();
      await s.waitForNotification(/trained efl\.lens\.json/, 400_000);
      assert.ok(fs.existsSync(path.join(s.workspace, 'efl', 'efl.lens.json')), 'the sample lens file was created');
      assert.ok(fs.existsSync(path.join(s.workspace, 'efl', 'model', 'model.json')), 'the model was trained');
      await page.waitForFunction(
        (title) => [...document.querySelectorAll('.getting-started-step')].some((e) => e.textContent.includes(title) && e.querySelector('.codicon.complete')),
        'Train EFL',
        { timeout: 30_000 },
      );
      await s.shot('trained-and-ticked');

      // The next step acts on EFL: node 0 of its hidden dense layer.
      await step('Inspect a hidden node of EFL').click();
      await container.getByRole('button', { name: 'Inspect Node 0' }).click();
      const frame = await s.inspector({ page: 'node' });
      assert.match(await frame.locator('body').innerText(), /hidden/);
      assert.ok(await page.getByRole('tab', { name: /^Feature Lens: efl \/ hidden \/ node 0/ }).count(), "the panel shows EFL's hidden node 0");
      await page.waitForFunction(
        (title) => [...document.querySelectorAll('.getting-started-step')].some((e) => e.textContent.includes(title) && e.querySelector('.codicon.complete')),
        'Inspect a hidden node of EFL',
        { timeout: 30_000 },
      );
      await s.shot('inspect-step');
    });
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

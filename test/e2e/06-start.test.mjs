// `npm start` (scripts/start.mjs after packaging): serves the sample workspace with the extension installed,
// prints the URL, shows the Feature Lens view and its walkthrough, and stops code-server on Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { ROOT, RESULTS } from './harness.mjs';

test('npm start serves the samples with the Feature Lens view and walkthrough open until Ctrl-C', { timeout: 300_000 }, async () => {
  const results = path.join(RESULTS, '06-start');
  fs.rmSync(results, { recursive: true, force: true });
  fs.mkdirSync(results, { recursive: true });
  // PATH without a desktop `code`, so start.mjs takes the code-server path whatever this machine has.
  const env = {
    ...process.env,
    PATH: process.env.PATH.split(':')
      .filter((d) => !fs.existsSync(path.join(d, 'code')))
      .join(':'),
  };
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let browser;
  try {
    const deadline = Date.now() + 240_000;
    while (!/http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+/.test(out)) {
      assert.ok(Date.now() < deadline, `no URL printed: ${out}`);
      assert.equal(child.exitCode, null, `start.mjs exited early: ${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const url = out.match(/http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+/)[0];
    assert.equal(decodeURI(new URL(url).searchParams.get('folder')), path.join(ROOT, 'samples'));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // Without a click: the Feature Lens view lists the samples and its walkthrough is open.
    await page
      .locator('.pane', { has: page.locator('.pane-header h3.title', { hasText: /^Models$/i }) })
      .locator('.monaco-list-row[role="treeitem"]')
      .first()
      .waitFor({ timeout: 90_000 });
    await page.locator('.gettingStartedContainer', { hasText: 'See what a network learned' }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await page.screenshot({ path: path.join(results, '01-samples.png') });
  } finally {
    await browser?.close().catch(() => {});
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') child.kill('SIGKILL');
    fs.writeFileSync(path.join(results, 'start.log'), out);
    assert.equal(code, 0, `start.mjs stops cleanly on Ctrl-C: ${out.slice(-500)}`);
  }
  assert.match(out, /stopping code-server/);
});

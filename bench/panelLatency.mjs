#!/usr/bin/env node
// Click-to-paint latency of the inspector panel in the real VS Code (code-server + Chromium, as the e2e tests
// run it), on the MNIST sample. Not a test: it prints figures (and writes them to
// test-results/bench/panel-latency.json).
//
//   node esbuild.mjs --production && node node_modules/@vscode/vsce/vsce package --no-dependencies \
//     --no-rewrite-relative-links --out dist/feature-lens.vsix && node scripts/setup-e2e.mjs
//   node bench/panelLatency.mjs [--visits 10]
//
// Measured: a click on a node row of conv2 in the Models view to the first frame after the node page is drawn
// (the page's `painted` frame), for 10 nodes never visited before, with the top-activation index computed;
// the same for 10 other nodes while a long training runs (started with Train Model, in the jobs engine);
// and the layer page of conv2 (32 nodes × 16 input channels = 512 weight tiles, and 32 feature maps).
// Both times come from the same browser clock: the main page stamps the mousedown, the webview the frame.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, openVSCode, ROOT } from '../test/e2e/harness.mjs';

const args = process.argv.slice(2);
const visits = Number(args[args.indexOf('--visits') + 1] || 10) || 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: Math.round(median), worst: Math.round(s[s.length - 1]), all: ms.map(Math.round) };
};

async function main() {
  const s = await openVSCode('bench-panel-latency', {
    prepare: (ws) => {
      const lensFile = path.join(ws, 'mnist', 'mnist.lens.json');
      const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
      lens.training.epochs = 1;
      fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
      cli(['train', lensFile]);
      fs.writeFileSync(path.join(ws, 'mnist', 'mnist-long.lens.json'), JSON.stringify({ ...lens, name: 'MNIST long', model: 'long-model/model.json', training: { ...lens.training, epochs: 60 } }, null, 2));
    },
  });
  const out = {};
  try {
    await s.openFile('mnist/mnist.lens.json');
    await s.runCommand('Feature Lens: Compute Top Activations');
    await s.waitForNotification(/ranked \d+ images|up to date/, 300_000);
    await s.openFeatureLensViews();
    await s.expand(s.treeItem('Models', /^MNIST$/));
    const conv2Row = s.treeItem('Models', /^conv2$/);
    await s.expand(conv2Row);
    await s.page.evaluate(() => document.addEventListener('mousedown', () => (window.__clickAt = Date.now()), true));

    // The first page opens the panel (webview start-up): not counted.
    await s.treeItem('Models', /^node 31$/).click();
    const frame = await s.inspector({ page: 'node' });
    await frame.evaluate(() => {
      window.__paints = [];
      new MutationObserver(() => {
        const b = document.body.dataset;
        if (b.state === 'ready') requestAnimationFrame(() => window.__paints.push({ page: b.page, layer: b.layer, node: b.node, t: Date.now() }));
      }).observe(document.body, { attributes: true, attributeFilter: ['data-state', 'data-node', 'data-layer', 'data-page'] });
    });
    const conv2 = Number(await frame.evaluate(() => document.body.dataset.layer));

    /** Clicks a tree row and waits for the page it opens; returns milliseconds from mousedown to painted frame. */
    const visit = async (row, want) => {
      await frame.evaluate(() => (window.__paints = []));
      await row.scrollIntoViewIfNeeded();
      await row.click();
      const t = await frame.waitForFunction(
        (w) => window.__paints.find((p) => p.page === w.page && p.layer === String(w.layer) && (w.node === undefined || p.node === String(w.node)))?.t,
        want,
        { timeout: 600_000, polling: 50 },
      );
      const painted = await t.jsonValue();
      const clicked = await s.page.evaluate(() => window.__clickAt);
      await sleep(300); // let the Top Activations view's follow-up requests start, as after a real click
      return painted - clicked;
    };

    const quiet = [];
    for (let n = 0; n < visits; n++) quiet.push(await visit(s.treeItem('Models', new RegExp(`^node ${n}$`)), { page: 'node', layer: conv2, node: n }));
    out.nodeFirstVisits = stats(quiet);
    console.log(`node pages (conv2, first visits): median ${out.nodeFirstVisits.median} ms, worst ${out.nodeFirstVisits.worst} ms  ${JSON.stringify(out.nodeFirstVisits.all)}`);

    // The layer page of conv2: 512 weight tiles and 32 feature maps (clicked from another page each time).
    const layer = [];
    for (let i = 0; i < 3; i++) {
      layer.push(await visit(conv2Row, { page: 'layer', layer: conv2 }));
      await visit(s.treeItem('Models', new RegExp(`^node ${i}$`)), { page: 'node', layer: conv2, node: i });
    }
    out.layerPage = stats(layer);
    console.log(`layer page (conv2, 32 × 16 tiles): median ${out.layerPage.median} ms, worst ${out.layerPage.worst} ms  ${JSON.stringify(out.layerPage.all)}`);

    // While a long training runs in the jobs engine.
    await s.openFile('mnist/mnist-long.lens.json');
    await s.runCommand('Feature Lens: Train Model');
    const training = await s.waitForNotification(/training mnist-long\.lens\.json/, 60_000);
    const t0 = Date.now();
    while (!/epoch \d+\/60/.test(await training.innerText()) && Date.now() - t0 < 120_000) await sleep(500);
    await s.openFeatureLensViews();
    const busy = [];
    for (let n = visits; n < 2 * visits && n < 31; n++) busy.push(await visit(s.treeItem('Models', new RegExp(`^node ${n}$`)), { page: 'node', layer: conv2, node: n }));
    out.nodeFirstVisitsWhileTraining = stats(busy);
    out.trainingStillRunning = await training.isVisible();
    console.log(`node pages while MNIST trains: median ${out.nodeFirstVisitsWhileTraining.median} ms, worst ${out.nodeFirstVisitsWhileTraining.worst} ms  ${JSON.stringify(out.nodeFirstVisitsWhileTraining.all)} (training still running: ${out.trainingStillRunning})`);
    await training.hover();
    await training.locator('.monaco-button', { hasText: 'Cancel' }).click().catch(() => {});
    out._meta = { date: new Date().toISOString(), loadavg: (await import('node:os')).loadavg().map((v) => Number(v.toFixed(2))), visits };
    const file = path.join(ROOT, 'test-results', 'bench', 'panel-latency.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(`written ${path.relative(ROOT, file)}; load average ${out._meta.loadavg.join(' ')}`);
  } finally {
    await s.close(true);
  }
}

main().catch((e) => {
  console.error(`panel latency bench failed: ${e.stack ?? e}`);
  process.exitCode = 1;
});

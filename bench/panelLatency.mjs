#!/usr/bin/env node
// Click-to-paint latency of the inspector panel in the real VS Code (code-server + Chromium, as the e2e tests
// run it), on the MNIST sample. Not a test: it prints figures (and writes them to
// test-results/bench/panel-latency.json).
//
//   node esbuild.mjs --production && node node_modules/@vscode/vsce/vsce package --no-dependencies \
//     --no-rewrite-relative-links --out dist/feature-lens.vsix && node scripts/setup-e2e.mjs
//   node bench/panelLatency.mjs [--visits 10] [--only mnist|resnet]
//
// Measured: a click on a node row of conv2 in the Models view to the first frame after the node page is drawn
// (the page's `painted` frame), for 10 nodes never visited before, with the top-activation index computed;
// the same for 10 other nodes while a long training runs (started with Train Model, in the jobs engine);
// and the layer page of conv2 (32 nodes × 16 input channels = 512 weight tiles, and 32 feature maps).
// Then ResNet-18 (test/fixtures/zoo/resnet18.onnx from scripts/make-zoo.py, exported at 64×64, a lens over the sample
// photos): first visits of `layer3.0.conv1` node pages (256 weight tiles of 3×3 per node, 9 top images with
// feature maps and deconvolutions through residual blocks), with the index computed first.
// Both times come from the same browser clock: the main page stamps the mousedown, the webview the frame.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, openVSCode, ROOT } from '../test/e2e/harness.mjs';

const args = process.argv.slice(2);
const visits = Number(args[args.indexOf('--visits') + 1] || 10) || 10;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: Math.round(median), worst: Math.round(s[s.length - 1]), all: ms.map(Math.round) };
};

/** Scrolls the Models tree (a virtual list: rows out of view do not exist) until `row` is shown. */
async function reveal(s, row) {
  const tree = s.view('Models').locator('.monaco-list').first();
  for (let i = 0; i < 60 && !(await row.isVisible()); i++) {
    const box = await tree.boundingBox();
    await s.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await s.page.mouse.wheel(0, i < 30 ? 110 : -110);
    await sleep(100);
  }
}

/** Watches a panel frame for painted pages; returns `visit(row, want)` → ms from mousedown to the painted frame. */
async function latencyProbe(s, frame, refold) {
  await s.page.evaluate(() => document.addEventListener('mousedown', () => (window.__clickAt = Date.now()), true));
  await frame.evaluate(() => {
    window.__paints = [];
    new MutationObserver(() => {
      const b = document.body.dataset;
      if (b.state === 'ready') requestAnimationFrame(() => window.__paints.push({ page: b.page, layer: b.layer, node: b.node, t: Date.now() }));
    }).observe(document.body, { attributes: true, attributeFilter: ['data-state', 'data-node', 'data-layer', 'data-page'] });
  });
  return async (row, want) => {
    await frame.evaluate(() => (window.__paints = []));
    // A click on the layer row may fold it (VS Code's tree expands and collapses on click).
    if (want.page === 'node') await refold();
    await reveal(s, row);
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
}

async function resnet(out) {
  const zoo = path.join(ROOT, 'test', 'fixtures', 'zoo', 'resnet18.onnx');
  if (!fs.existsSync(zoo)) throw new Error(`${zoo} is missing: make it with python3 scripts/make-zoo.py`);
  const s = await openVSCode('bench-panel-latency-resnet', {
    prepare: (ws) => {
      const dir = path.join(ws, 'resnet');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(zoo, path.join(dir, 'resnet18.onnx'));
      const lens = {
        name: 'ResNet-18',
        model: 'resnet18.onnx',
        dataset: { format: 'imageFolder', root: '../rgb/photos', size: [64, 64], channels: 3, testFraction: 0.9, seed: 1 },
      };
      fs.writeFileSync(path.join(dir, 'resnet.lens.json'), JSON.stringify(lens, null, 2));
    },
  });
  try {
    await s.openFile('resnet/resnet.lens.json');
    await s.runCommand('Feature Lens: Compute Top Activations');
    const scanned = await s.waitForNotification(/ranked \d+ images|up to date|failed|expects/, 600_000);
    if (!/ranked|up to date/.test(await scanned.innerText())) throw new Error(`the scan failed: ${await scanned.innerText()}`);
    await s.openFeatureLensViews();
    await s.expand(s.treeItem('Models', /^ResNet-18$/));
    const layerRow = s.treeItem('Models', /^layer3\.0\.conv1$/);
    await reveal(s, layerRow);
    await s.expand(layerRow);
    // The first page opens the panel (webview start-up): not counted.
    await reveal(s, s.treeItem('Models', /^node 0$/));
    await s.treeItem('Models', /^node 0$/).click();
    const frame = await s.inspector({ page: 'node', timeout: 600_000 });
    await frame.waitForSelector('canvas[data-role="projection"]', { timeout: 600_000 });
    const layer = Number(await frame.evaluate(() => document.body.dataset.layer));
    const visit = await latencyProbe(s, frame, async () => {
      await reveal(s, layerRow);
      await s.expand(layerRow);
    });
    const ms = [];
    for (let n = 1; n <= visits; n++) ms.push(await visit(s.treeItem('Models', new RegExp(`^node ${n}$`)), { page: 'node', layer, node: n }));
    out.resnetLayer3FirstVisits = stats(ms);
    console.log(
      `ResNet-18 layer3.0.conv1 node pages (first visits, index present): median ${out.resnetLayer3FirstVisits.median} ms, worst ${out.resnetLayer3FirstVisits.worst} ms  ${JSON.stringify(out.resnetLayer3FirstVisits.all)}`,
    );
  } finally {
    await s.close(true);
  }
}

async function mnist(out) {
  const s = await openVSCode('bench-panel-latency', {
    prepare: (ws) => {
      const lensFile = path.join(ws, 'mnist', 'mnist.lens.json');
      const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
      lens.training.epochs = 1;
      fs.writeFileSync(lensFile, JSON.stringify(lens, null, 2));
      cli(['train', lensFile]);
      fs.writeFileSync(
        path.join(ws, 'mnist', 'mnist-long.lens.json'),
        JSON.stringify({ ...lens, name: 'MNIST long', model: 'long-model/model.json', training: { ...lens.training, epochs: 60 } }, null, 2),
      );
    },
  });
  try {
    await s.openFile('mnist/mnist.lens.json');
    await s.runCommand('Feature Lens: Compute Top Activations');
    await s.waitForNotification(/ranked \d+ images|up to date/, 300_000);
    await s.openFeatureLensViews();
    await s.expand(s.treeItem('Models', /^MNIST$/));
    const conv2Row = s.treeItem('Models', /^conv2$/);
    await s.expand(conv2Row);

    // The first page opens the panel (webview start-up): not counted.
    await conv2Row.click();
    const frame = await s.inspector({ page: 'layer' });
    const conv2 = Number(await frame.evaluate(() => document.body.dataset.layer));

    const visit = await latencyProbe(s, frame, () => s.expand(conv2Row));

    const quiet = [];
    for (let n = 0; n < visits; n++) quiet.push(await visit(s.treeItem('Models', new RegExp(`^node ${n}$`)), { page: 'node', layer: conv2, node: n }));
    out.nodeFirstVisits = stats(quiet);
    console.log(
      `node pages (conv2, first visits): median ${out.nodeFirstVisits.median} ms, worst ${out.nodeFirstVisits.worst} ms  ${JSON.stringify(out.nodeFirstVisits.all)}`,
    );

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
    for (let n = visits; n < 2 * visits && n < 31; n++)
      busy.push(await visit(s.treeItem('Models', new RegExp(`^node ${n}$`)), { page: 'node', layer: conv2, node: n }));
    out.nodeFirstVisitsWhileTraining = stats(busy);
    out.trainingStillRunning = await training.isVisible();
    console.log(
      `node pages while MNIST trains: median ${out.nodeFirstVisitsWhileTraining.median} ms, worst ${out.nodeFirstVisitsWhileTraining.worst} ms  ${JSON.stringify(out.nodeFirstVisitsWhileTraining.all)} (training still running: ${out.trainingStillRunning})`,
    );
    await training.hover();
    await training
      .locator('.monaco-button', { hasText: 'Cancel' })
      .click()
      .catch(() => {});
  } finally {
    await s.close(true);
  }
}

async function main() {
  const out = {};
  if (only !== 'resnet') await mnist(out);
  if (only !== 'mnist') await resnet(out);
  out._meta = { date: new Date().toISOString(), loadavg: (await import('node:os')).loadavg().map((v) => Number(v.toFixed(2))), visits };
  const file = path.join(ROOT, 'test-results', 'bench', 'panel-latency.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`written ${path.relative(ROOT, file)}; load average ${out._meta.loadavg.join(' ')}`);
}

main().catch((e) => {
  console.error(`panel latency bench failed: ${e.stack ?? e}`);
  process.exitCode = 1;
});

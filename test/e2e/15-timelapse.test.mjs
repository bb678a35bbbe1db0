// Scenario 15: the time-lapse of a node (issue 14). The MNIST sample recipe is trained with the CLI for 3 short
// epochs with `"checkpoints": {"every": 1}`; conv1's node 3 opened from the Models view shows the time-lapse
// section (the lens has a checkpoint series). The epoch slider, moved from the keyboard, computes each
// checkpoint's frame on demand (its index scanned with a progress notification); the weights canvas then shows
// that checkpoint's filter: the first epoch's pixels differ from the last's and decode to the checkpoint files'
// kernels; back to a computed epoch, the frame is the kept one (no new request); Play runs to the last epoch;
// the chart is drawn; Export GIF… proposes a new file and writes the animation (or, without the encoder
// bundled, says in one line what is missing).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, decodeSigned, maxAbsDiff, readWeight, ROOT, SIGNED_TOLERANCE, withVSCode } from './harness.mjs';

const NODE = 3;
const EPOCHS = 3;

test('the epoch slider moves the weights canvas through the checkpoints of a node', { timeout: 900_000 }, async () => {
  let lens;
  await withVSCode(
    '15-timelapse',
    {
      timeout: 840_000,
      prepare: (ws) => {
        lens = path.join(ws, 'mnist', 'mnist.lens.json');
        const json = JSON.parse(fs.readFileSync(lens, 'utf8'));
        json.training.epochs = EPOCHS;
        json.training.checkpoints = { every: 1 };
        fs.writeFileSync(lens, JSON.stringify(json, null, 2));
        cli(['train', lens], { timeout: 600_000 });
      },
    },
    async (s) => {
      const ckpt = (e) => path.join(s.workspace, 'mnist', 'model', 'model-checkpoints', `epoch-${e}.json`);
      for (let e = 1; e <= EPOCHS; e++) assert.ok(fs.existsSync(ckpt(e)), `checkpoint of epoch ${e} written`);
      // conv1's kernel [5, 5, 1, 16]: node NODE's 5×5 filter, row-major, in each checkpoint file.
      const filter = (e) => {
        const k = readWeight(ckpt(e), 'conv1/kernel');
        const n = k.shape[3];
        return Float32Array.from({ length: 25 }, (_, p) => k.data[p * n + NODE]);
      };

      await s.openFeatureLensViews();
      await s.expand(s.treeItem('Models', /^MNIST$/));
      await s.expand(s.treeItem('Models', /^conv1$/));
      await s.treeItem('Models', new RegExp(`^node ${NODE}$`)).click();
      const frame = await s.inspector({ page: 'node' });
      await frame.waitForSelector('#timelapse:not([hidden]) #timelapse-epoch', { timeout: 120_000 });
      assert.equal(await frame.getAttribute('#timelapse-epoch', 'max'), String(EPOCHS - 1), 'one slider position per checkpoint');
      assert.equal(await frame.textContent('label[for="timelapse-epoch"]'), 'Epoch', 'the slider is labelled');
      await s.shot('timelapse-section');

      const shown = async (epoch) => {
        const view = `.timelapse-frame[data-epoch="${epoch}"]`;
        const sel = `${view} canvas[data-role="timelapse-weights"][data-index="0"]`;
        await frame.waitForSelector(sel, { timeout: 300_000 });
        const pixels = await s.canvasPixels(frame, sel);
        // The frame's own legend (the page's Weights section has the trained model's): -lim, the bar, +lim.
        const lim = Number(await frame.locator(`${view} .legend`).first().locator('span').nth(2).innerText());
        assert.ok(lim > 0, `epoch ${epoch}: the weight legend shows a positive limit`);
        return { pixels, values: decodeSigned(pixels, lim), lim };
      };

      // ---- from the keyboard: Home (the first epoch), then End (the last) --------------------------------------
      await frame.focus('#timelapse-epoch');
      await frame.press('#timelapse-epoch', 'Home');
      const first = await shown(1);
      // A frame asked for again would come back as a new element; the kept one carries this mark.
      await frame.$eval('.timelapse-frame[data-epoch="1"]', (e) => void (e.dataset.mark = 'kept'));
      await s.shot('epoch-1');
      await frame.press('#timelapse-epoch', 'End');
      const last = await shown(EPOCHS);
      await s.shot(`epoch-${EPOCHS}`);
      assert.equal(first.pixels.width * first.pixels.height, 25, 'a 5×5 filter, one pixel per weight');
      const changed = first.pixels.data.filter((v, i) => v !== last.pixels.data[i]).length;
      assert.ok(changed > 0, `the weights canvas changes between epoch 1 and epoch ${EPOCHS} (${changed} channel values differ)`);
      for (const [e, got] of [
        [1, first],
        [EPOCHS, last],
      ]) {
        const err = maxAbsDiff(got.values, filter(e));
        assert.ok(err <= got.lim * SIGNED_TOLERANCE, `epoch ${e}: the canvas shows ${path.basename(ckpt(e))}'s filter (max error ${err}, limit ${got.lim})`);
      }

      // ---- back to a computed epoch: the kept frame, not asked again ------------------------------------------
      await frame.press('#timelapse-epoch', 'Home');
      const again = await shown(1);
      assert.deepEqual(again.pixels.data, first.pixels.data, 'epoch 1 drawn as before');
      assert.equal(await frame.$eval('.timelapse-frame[data-epoch="1"]', (e) => e.dataset.mark ?? ''), 'kept', 'the kept frame, not a new one');
      assert.match(await frame.textContent('#timelapse-value'), /^epoch 1 \(1 of 3\) · top score/);

      // ---- Play: through the epochs to the last, then Pause again ---------------------------------------------
      await frame.click('#timelapse-play');
      await frame.waitForSelector('#timelapse-play[aria-pressed="true"]');
      await frame.waitForSelector('#timelapse-play[aria-pressed="false"]', { timeout: 300_000 });
      assert.equal(await frame.$eval('#timelapse-epoch', (e) => e.value), String(EPOCHS - 1), 'played to the last epoch');
      await shown(EPOCHS);

      // ---- the chart: drawn, every checkpoint computed ---------------------------------------------------------
      const chart = await s.canvasPixels(frame, '#timelapse-chart');
      assert.ok(
        chart.data.some((v, i) => i % 4 === 3 && v > 0),
        'the chart is drawn',
      );
      assert.match(await frame.getAttribute('#timelapse-chart', 'aria-label'), new RegExp(`over ${EPOCHS} checkpoints, ${EPOCHS} computed`));
      await s.shot('played');

      // ---- Export GIF…: the save dialog proposes a new file beside the lens file; the engine writes the GIF -----
      // (With the encoder, gifenc, bundled into the engine; without it, the export says so in one line.)
      const bundled = fs.readFileSync(path.join(ROOT, 'dist', 'engine.js'), 'utf8').includes('NETSCAPE2.0');
      await frame.click('#timelapse-gif');
      const dialogInput = s.page.locator('.quick-input-widget input.input');
      await dialogInput.waitFor({ state: 'visible', timeout: 30_000 });
      await s.until('the save dialog proposes a GIF', async () => (await dialogInput.inputValue()).endsWith('.gif'), 15_000);
      const proposed = await dialogInput.inputValue();
      assert.match(proposed, /mnist-layer0-node3-timelapse\.gif$/, `proposed ${proposed}`);
      await dialogInput.press('Enter');
      const gifFile = path.join(s.workspace, 'mnist', 'mnist-layer0-node3-timelapse.gif');
      if (bundled) {
        await s.waitForNotification(/saved .*timelapse\.gif \(3 epochs\)/, 300_000);
        const bytes = fs.readFileSync(gifFile);
        assert.equal(bytes.subarray(0, 6).toString('latin1'), 'GIF89a');
        assert.ok(bytes.readUInt16LE(6) > 100 && bytes.readUInt16LE(8) > 100, 'a frame of weights and top images');
      } else {
        await s.waitForNotification(/Animated export needs the npm package gifenc/, 300_000);
        assert.ok(!fs.existsSync(gifFile), 'nothing written');
      }
      await s.shot('gif-export');
    },
  );
});

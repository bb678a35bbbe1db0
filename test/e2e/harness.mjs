// A real VS Code (code-server) driven through a real browser (Debian's Chromium via playwright-core).
// Every scenario gets fresh user-data and extension directories, a copy of the sample workspace in a temp
// folder (tests never modify the repository), screenshots per step under test-results/e2e/<scenario>/, and
// code-server and Chromium are always stopped, even when the scenario fails.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ensureE2E, installExtension, startCodeServer, freePort, QUIET_SETTINGS } from '../../scripts/setup-e2e.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// FEATURE_LENS_E2E_VSIX tests another build of the extension (e.g. one with a feature broken on purpose).
export const VSIX = process.env.FEATURE_LENS_E2E_VSIX ? path.resolve(process.env.FEATURE_LENS_E2E_VSIX) : path.join(ROOT, 'dist', 'feature-lens.vsix');
export const RESULTS = path.join(ROOT, 'test-results', 'e2e');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Copies the sample workspace as a fresh clone has it after prepare-samples: without temp files, and without
 * models and training results left by local runs (a scenario trains what it needs with this build).
 */
function copySamples(from, to) {
  fs.cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(from, src).split(path.sep);
      return !src.endsWith('.tmp') && !(rel.length === 2 && (rel[1] === 'model' || rel[1].endsWith('.training.json')));
    },
  });
}

/** Runs the CLI (`node dist/engine.js ...`) synchronously; returns its stdout, throws with stderr on failure. */
export function cli(args, { cwd, timeout = 300_000 } = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'engine.js'), ...args], { cwd, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`feature-lens ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * One VS Code session on a copy of the sample workspace.
 * @param {string} name scenario name: screenshots and logs go to test-results/e2e/<name>/
 * @param {{ prepare?: (workspace: string) => void | Promise<void>, settings?: object, samples?: string, workspaceTrust?: boolean }} [options]
 *   prepare runs on the workspace copy before VS Code starts (e.g. pre-training a model with the CLI);
 *   workspaceTrust turns Workspace Trust on (off otherwise, so no scenario stops at its question).
 */
export async function openVSCode(name, options = {}) {
  const { codeServer, chromium: chromiumPath } = ensureE2E();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `feature-lens-e2e-${name}-`));
  const dirs = { tmp, workspace: path.join(tmp, 'samples'), userDataDir: path.join(tmp, 'user-data'), extensionsDir: path.join(tmp, 'extensions') };
  const results = path.join(RESULTS, name);
  fs.rmSync(results, { recursive: true, force: true });
  fs.mkdirSync(results, { recursive: true });
  // FEATURE_LENS_E2E_SAMPLES points the scenarios at another sample workspace (to debug a scenario).
  const samples = options.samples ?? process.env.FEATURE_LENS_E2E_SAMPLES ?? path.join(ROOT, 'samples');
  copySamples(samples, dirs.workspace);
  fs.mkdirSync(path.join(dirs.userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.userDataDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));
  const session = new Session(name, dirs, results);
  try {
    if (options.prepare) await options.prepare(dirs.workspace);
    installExtension(codeServer, dirs.extensionsDir, dirs.userDataDir, VSIX);
    const port = await freePort();
    session.port = port;
    session.server = await startCodeServer({
      codeServer,
      ...dirs,
      port,
      logFile: path.join(results, 'code-server.log'),
      workspaceTrust: !!options.workspaceTrust,
    });
    session.browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true });
    const context = await session.browser.newContext({ viewport: { width: 1600, height: 1000 } });
    session.page = await context.newPage();
    session.page.on('console', (m) => {
      if (m.type() === 'error') session.consoleErrors.push(m.text());
    });
    session.page.setDefaultTimeout(30_000);
    await session.page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`);
    await session.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The workbench is there before its parts are; the status bar is among the last to fill in.
    await session.page.waitForSelector('.statusbar-item', { timeout: 60_000 });
    await session.shot('workbench');
  } catch (e) {
    await session.close(false);
    throw e;
  }
  return session;
}

/**
 * Runs `fn(session)` with a fresh VS Code and always closes it (also when the scenario overruns
 * `options.timeout` ms, default 6 minutes: keep the test's own timeout above it so cleanup gets to run).
 */
export async function withVSCode(name, options, fn) {
  const session = await openVSCode(name, options);
  const limit = options.timeout ?? 360_000;
  let timer;
  const overrun = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario ${name} took more than ${limit / 1000} s (last screenshot: step ${session.step})`)), limit);
  });
  let ok = false;
  try {
    await Promise.race([fn(session), overrun]);
    ok = true;
  } catch (e) {
    await session.shot('failure').catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
    await session.close(ok);
  }
}

export class Session {
  constructor(name, dirs, results) {
    this.name = name;
    Object.assign(this, dirs);
    this.results = results;
    this.step = 0;
    this.consoleErrors = [];
    /** @type {import('playwright-core').Page} */
    this.page = undefined;
    this.browser = undefined;
    this.server = undefined;
  }

  /** Saves a screenshot of the whole window as test-results/e2e/<scenario>/<nn>-<label>.png. */
  async shot(label) {
    if (!this.page) return;
    const file = path.join(this.results, `${String(++this.step).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /**
   * Runs a command from the palette by its exact title, e.g. "Feature Lens: Train Model". Commands appear in the
   * palette only once their extension host has registered them, which on a cold first start can take longer
   * than one wait. The palette also closes when focus moves while it opens (a webview panel or a tree taking
   * focus as it updates). Either way the palette is reopened (and so re-queried), up to three times.
   */
  async runCommand(title) {
    const page = this.page;
    const row = this.paletteRow(title);
    for (let attempt = 1; ; attempt++) {
      await this.dismissQuickInput();
      await page.keyboard.press('Control+Shift+P');
      const input = page.locator('.quick-input-widget input.input');
      try {
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(`>${title}`, { timeout: 5_000 });
        // Wait for the exact entry (fuzzy matches can rank others first), then pick it.
        await row.waitFor({ state: 'visible', timeout: 15_000 });
        await row.click({ timeout: 5_000 });
        return;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
  }

  /** The row of an open palette or quick pick whose label is exactly `title`. */
  paletteRow(title) {
    return this.page
      .locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(title)}$`) }) })
      .first();
  }

  /** Closes a quick input left open. */
  async dismissQuickInput() {
    if (
      await this.page
        .locator('.quick-input-widget')
        .isVisible()
        .catch(() => false)
    )
      await this.page.keyboard.press('Escape');
  }

  /**
   * VS Code's own file dialog in the browser (a quick input): types `value` (a file, or a folder ending in `/`)
   * and waits until the list shows a row with `listed`; returns the input, for the caller to press Enter. The
   * dialog fills in its starting folder after it opens: that is waited for, then replaced until it holds ours.
   */
  async typeInFileDialog(value, listed) {
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible' });
    await this.page.waitForFunction(() => (document.querySelector('.quick-input-widget input.input')?.value ?? '').length > 0);
    for (let attempt = 0; attempt < 10 && (await input.inputValue()) !== value; attempt++) {
      await input.fill(value);
      await this.page.waitForTimeout(300);
    }
    const got = await input.inputValue();
    if (got !== value) throw new Error(`the file dialog holds "${got}", not "${value}"`);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: listed }).first().waitFor({ state: 'visible', timeout: 15_000 });
    return input;
  }

  /** Picks an entry of an open quick pick by (part of) its label. */
  async pickQuickItem(text) {
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    await row.click();
  }

  /** Opens the Feature Lens activity-bar container (its Models and Top Activations views). */
  async openFeatureLensViews() {
    // The activity-bar item toggles: a click while the container is already shown (e.g. restored after a
    // reload, which can happen just after a check) hides it, so check, click, and check again.
    const models = this.view('Models');
    for (let attempt = 1; ; attempt++) {
      if (await models.isVisible()) return;
      await this.page.locator('.activitybar .action-item a.action-label[aria-label^="Feature Lens"]').first().click();
      try {
        await models.waitFor({ state: 'visible', timeout: 10_000 });
        return;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
  }

  /** Opens a workspace file in an editor with Quick Open (path relative to the workspace). */
  async openFile(relative) {
    const base = path.basename(relative);
    // Quick Open closes when focus moves while it opens (as the palette does): reopened up to three times.
    for (let attempt = 1; ; attempt++) {
      await this.dismissQuickInput();
      await this.page.keyboard.press('Control+P');
      const input = this.page.locator('.quick-input-widget input.input');
      try {
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill(relative, { timeout: 5_000 });
        await this.page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first().waitFor({ state: 'visible', timeout: 15_000 });
        await input.press('Enter', { timeout: 5_000 });
        break;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
    await this.page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ state: 'visible' });
  }

  /** The tree of a view (by its title, e.g. "Models"): the pane body following that header. */
  view(title) {
    return this.page.locator('.pane', { has: this.page.locator('.pane-header h3.title', { hasText: new RegExp(`^${escapeRe(title)}$`, 'i') }) }).first();
  }

  /** A tree item of a view whose label matches; `description` narrows it further. */
  treeItem(viewTitle, label, description) {
    let rows = this.view(viewTitle).locator('.monaco-list-row[role="treeitem"]', { has: this.page.locator('.label-name', { hasText: label }) });
    if (description) rows = rows.filter({ has: this.page.locator('.label-description', { hasText: description }) });
    return rows.first();
  }

  /** Labels of every visible row of a view's tree. */
  async treeLabels(viewTitle) {
    return this.view(viewTitle).locator('.monaco-list-row[role="treeitem"] .label-name').allInnerTexts();
  }

  /** Expands a tree row if it is collapsed. */
  async expand(row) {
    await row.waitFor({ state: 'visible' });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
  }

  /** The frame (searching nested webview iframes) where `selector` matches; waits for it. */
  async frameWith(selector, timeout = 60_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (const f of this.page.frames()) {
        try {
          if (await f.$(selector)) return f;
        } catch {
          /* frame detached while looking */
        }
      }
      if (Date.now() > deadline) throw new Error(`no frame contains ${selector} within ${timeout / 1000} s`);
      await sleep(250);
    }
  }

  /** Every frame where `selector` matches now (no waiting). */
  async framesWith(selector) {
    const out = [];
    for (const f of this.page.frames()) {
      try {
        if (await f.$(selector)) out.push(f);
      } catch {
        /* detached */
      }
    }
    return out;
  }

  /** The inspector webview's frame once its body says `data-state` is ready (or error, for the caller to assert). */
  async inspector({ state = 'ready', page, timeout = 120_000 } = {}) {
    const sel = `body[data-state="${state}"]${page ? `[data-page="${page}"]` : ''}`;
    return this.frameWith(sel, timeout);
  }

  /**
   * Pixels of a canvas in a frame, as drawn (RGBA, row-major).
   * @returns {Promise<{ width: number, height: number, data: Uint8ClampedArray }>}
   */
  async canvasPixels(frame, selector) {
    const r = await frame.$eval(selector, (c) => {
      const ctx = c.getContext('2d');
      const img = ctx.getImageData(0, 0, c.width, c.height);
      return { width: c.width, height: c.height, data: Array.from(img.data) };
    });
    return { width: r.width, height: r.height, data: Uint8ClampedArray.from(r.data) };
  }

  /**
   * Polls `condition` (sync or async) until it returns a truthy value, and returns that value; fails naming
   * `what` after `timeout` ms. For waiting on a state instead of sleeping before a check.
   */
  async until(what, condition, timeout = 60_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const v = await condition();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
      await sleep(250);
    }
  }

  /** How many lines of the extension's log match `re` (to wait for the next one: `until(() => logCount(re) > n)`). */
  logCount(re) {
    return this.extensionLog()
      .split('\n')
      .filter((l) => re.test(l)).length;
  }

  /**
   * The values of the signed tile `selector` in `frame`: its pixels decoded with the limit shown by the legend
   * labelled `legendLabel` (the legend writes -lim, the colour bar, then +lim). Returns `{ values, lim }`.
   */
  async signedValues(frame, selector, legendLabel) {
    const legend = frame.locator('.legend', { has: frame.locator('.legend-label', { hasText: new RegExp(`^${escapeRe(legendLabel)}$`) }) }).first();
    const lim = Number(await legend.locator('span').nth(2).innerText());
    if (!(lim > 0)) throw new Error(`the ${legendLabel} legend shows no positive limit`);
    return { values: decodeSigned(await this.canvasPixels(frame, selector), lim), lim };
  }

  /** Texts of the visible notification toasts. */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allInnerTexts();
  }

  /** Waits for a notification toast whose message matches; returns its locator. */
  async waitForNotification(match, timeout = 60_000) {
    const toast = this.page
      .locator('.notifications-toasts .notification-toast', { has: this.page.locator('.notification-list-item-message', { hasText: match }) })
      .first();
    await toast.waitFor({ state: 'visible', timeout });
    return toast;
  }

  /** Closes Chromium and code-server; copies VS Code's logs into the results; removes the temp folder if ok. */
  async close(ok) {
    if (this.browser) {
      const browser = this.browser;
      this.browser = undefined;
      await Promise.race([browser.close().catch(() => {}), sleep(10_000)]);
      const proc = browser.process?.();
      if (proc && proc.exitCode === null)
        try {
          proc.kill('SIGKILL');
        } catch {
          /* gone */
        }
    }
    if (this.server) {
      await this.server.stop();
      this.server = undefined;
    }
    const logs = path.join(this.userDataDir, 'logs');
    if (fs.existsSync(logs))
      try {
        fs.cpSync(logs, path.join(this.results, 'vscode-logs'), { recursive: true });
      } catch {
        /* best effort */
      }
    if (this.consoleErrors.length) fs.writeFileSync(path.join(this.results, 'browser-console-errors.txt'), this.consoleErrors.join('\n'));
    if (ok !== false || !process.env.FEATURE_LENS_E2E_KEEP) fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  /** The extension's "Feature Lens" log, as written so far. */
  extensionLog() {
    const logs = path.join(this.userDataDir, 'logs');
    if (!fs.existsSync(logs)) return '';
    const found = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/Feature Lens\.log$/.test(e.name)) found.push(p);
      }
    };
    walk(logs);
    return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
  }
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Statistics of an RGBA image: how many distinct colours, and the range of luminance. */
export function pixelStats({ data }) {
  const colours = new Set();
  let min = 255;
  let max = 0;
  let opaque = 0;
  for (let i = 0; i < data.length; i += 4) {
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    if (data[i + 3] > 0) opaque++;
    min = Math.min(min, y);
    max = Math.max(max, y);
  }
  return { colours: colours.size, minLuma: min, maxLuma: max, opaque, pixels: data.length / 4 };
}

/**
 * A weight tensor read straight from a TF.js Layers model on disk (float32 weights only), as an independent
 * reference for what the panel draws. `name` is the manifest name, e.g. `hidden/kernel`.
 * @returns {{ shape: number[], data: Float32Array }}
 */
export function readWeight(modelJson, name) {
  const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  for (const group of model.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(path.dirname(modelJson), p))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if ((w.dtype ?? 'float32') !== 'float32') throw new Error(`${name}: only float32 weights are read here`);
      if (w.name === name) return { shape: w.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n)) };
      offset += 4 * n;
    }
  }
  throw new Error(`${modelJson} has no weight named ${name}`);
}

/**
 * Signed values back from a canvas drawn with the panel's blue–white–red map (src/shared/colorScale.ts `diverging`):
 * red minus blue is monotonic in the value (−139 at the blue end, +135 at the red end).
 */
export function decodeDiverging({ data }) {
  const out = new Float32Array(data.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = data[4 * i] - data[4 * i + 2];
  return out;
}

/**
 * The values a signed tile shows, from its pixels and `lim`, the value its legend puts at full colour: the
 * inverse of src/shared/colorScale.ts `diverging` (white at 0; green falls from 255 to 24 towards #b2182b at +lim,
 * and to 102 towards #2166ac at -lim). Exact up to the colours' rounding (`SIGNED_TOLERANCE`).
 */
export function decodeSigned({ data }, lim) {
  const out = new Float32Array(data.length / 4);
  for (let i = 0; i < out.length; i++) {
    const [r, g, b] = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
    out[i] = r >= b ? ((255 - g) / (255 - 24)) * lim : -((255 - g) / (255 - 102)) * lim;
  }
  return out;
}

/**
 * How far a decoded value may be from the drawn one, as a share of `lim`: one colour step is at most lim / 153,
 * and within a step of zero the colour does not tell the sign (254, 254, 254 is +0.005 or -0.006 of lim), so two
 * steps and a half, plus the legend's three significant digits. A wrong scale or zero point is far beyond it.
 */
export const SIGNED_TOLERANCE = 1 / 50;

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a, b) {
  assertSameLength(a, b);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function assertSameLength(a, b) {
  if (a.length !== b.length) throw new Error(`arrays of ${a.length} and ${b.length} values compared`);
}

/** Pearson correlation of two equally long arrays. */
export function correlation(a, b) {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) ((ma += a[i]), (mb += b[i]));
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Welch's t statistic of the values of `v` where `mask` is 1 against where `other` is 1. */
export function welchT(v, mask, other) {
  const stats = (m) => {
    let n = 0;
    let s = 0;
    let ss = 0;
    for (let i = 0; i < v.length; i++) if (m[i]) ((n += 1), (s += v[i]), (ss += v[i] * v[i]));
    const mean = s / n;
    return { n, mean, variance: n > 1 ? (ss - n * mean * mean) / (n - 1) : 0 };
  };
  const a = stats(mask);
  const b = stats(other);
  const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
  return { t: se > 0 ? (a.mean - b.mean) / se : 0, a, b };
}

/** Trains a lens's model with the CLI unless its model file already exists (or `force`); returns the model path. */
export function ensureTrained(lensFile, { force = false } = {}) {
  const lens = JSON.parse(fs.readFileSync(lensFile, 'utf8'));
  const model = path.resolve(path.dirname(lensFile), lens.model);
  if (force || !fs.existsSync(model)) cli(['train', lensFile]);
  return model;
}

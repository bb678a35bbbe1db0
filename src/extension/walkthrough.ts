/**
 * The walkthrough's actions: each step acts on the sample it names (EFL, then MNIST), never on whatever the tree
 * has selected; a step is ticked (its context key set) only when what it did is there afterwards (a model file,
 * an index); in a folder without the samples it offers to create them. Also opens the walkthrough even while
 * VS Code's own Welcome page shows, and once per profile on the first start in a workspace with lens files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import { EXCLUDE_GLOB } from './targets';

export const WALKTHROUGH = 'featureLens.gettingStarted';
export const FIRST_RUN_KEY = 'walkthrough.openOnFirstStart';
const WELCOMED = 'featureLens.walkthroughShown';

type SampleName = 'efl' | 'mnist';
type Action = 'open' | 'train' | 'inspect' | 'scan';
const SAMPLES: Record<SampleName, { label: string; needsData?: string }> = {
  efl: { label: 'EFL' },
  mnist: {
    label: 'MNIST',
    needsData:
      'Its digits are not part of the extension: `node scripts/prepare-samples.mjs` in a Feature Lens checkout writes them to samples/mnist/data/ (copy that folder beside the lens file).',
  },
};

/** The context key a step's completion waits for. */
export function stepKey(sample: SampleName, action: Action): string {
  return `featureLens.walkthrough.${sample}.${action}`;
}

/** What the walkthrough's steps use. */
interface Deps {
  context: vscode.ExtensionContext;
  engine: EngineClient;
  log: vscode.LogOutputChannel;
  storageDir: () => Promise<string>;
}

/** Opens the walkthrough; a Welcome page already showing (VS Code's own walkthroughs) is replaced by it. */
async function openWalkthrough(walkthroughId: string): Promise<void> {
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      if (tab.input === undefined && /^(Welcome|Walkthrough: .*)$/.test(tab.label)) await vscode.window.tabGroups.close(tab);
    }
  }
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughId, false);
}

/** The sample's lens file in the workspace (the shortest path when several), or one created on request. */
async function findSample(d: Deps, name: SampleName): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles(`**/${name}.lens.json`, EXCLUDE_GLOB, 20);
  if (found.length) return found.map((u) => u.fsPath).sort((a, b) => a.length - b.length || a.localeCompare(b))[0];
  const folder = vscode.workspace.workspaceFolders?.[0];
  const { label, needsData } = SAMPLES[name];
  if (!folder) {
    const pick = await vscode.window.showInformationMessage(
      `Feature Lens: the ${label} sample goes into a folder. Open a folder first (an empty one will do).`,
      'Open Folder',
    );
    if (pick) await vscode.commands.executeCommand('workbench.action.files.openFolder');
    return undefined;
  }
  const target = path.join(folder.uri.fsPath, name, `${name}.lens.json`);
  const pick = await vscode.window.showInformationMessage(
    `Feature Lens: this workspace has no ${label} sample. Create ${vscode.workspace.asRelativePath(target)}?${needsData ? ` ${needsData}` : ''}`,
    'Create Sample',
  );
  if (pick !== 'Create Sample') return undefined;
  const text = fs.readFileSync(path.join(d.context.extensionPath, 'media', 'samples', `${name}.lens.json`), 'utf8');
  await vscode.workspace.fs.writeFile(vscode.Uri.file(target), new TextEncoder().encode(text));
  d.log.info(`Walkthrough: created the ${label} sample at ${target}.`);
  await vscode.commands.executeCommand('featureLens.refreshModels');
  return target;
}

const modelOf = async (d: Deps, lens: string): Promise<string> => (await d.engine.call('lens', { lens })).model;
const mtime = (f: string) => {
  try {
    return fs.statSync(f).mtimeMs;
  } catch {
    return undefined;
  }
};

/** Trains the sample; true when a new model file is there afterwards (the command reports its own failures). */
async function train(d: Deps, lens: string): Promise<boolean> {
  const model = await modelOf(d, lens);
  const before = mtime(model);
  await vscode.commands.executeCommand('featureLens.trainModel', { lens });
  const after = mtime(model);
  return after !== undefined && after !== before;
}

/** Runs one walkthrough step on a sample; its context key is set once what it did is there. */
async function run(d: Deps, name: SampleName, action: Action): Promise<void> {
  const lens = await findSample(d, name);
  if (!lens) return;
  let done = false;
  if (action === 'open') {
    await vscode.window.showTextDocument(vscode.Uri.file(lens), { preview: false });
    await vscode.commands.executeCommand('featureLens.models.focus');
    done = true;
  } else if (action === 'train') {
    done = await train(d, lens);
  } else if (action === 'inspect') {
    let model = await modelOf(d, lens);
    if (!fs.existsSync(model) && !(await train(d, lens))) return;
    model = await modelOf(d, lens);
    const info = await d.engine.call('modelInfo', { model });
    // EFL: a node of the hidden dense layer (its weights are the strokes); MNIST: the first conv layer's page.
    const wanted = name === 'efl' ? info.layers.find((l) => l.kind === 'dense' && l.hasWeights) : info.layers.find((l) => l.kind === 'conv');
    const layer = wanted ?? info.layers.find((l) => l.hasWeights) ?? info.layers[0];
    if (name === 'efl') await vscode.commands.executeCommand('featureLens.inspectNode', { lens, model, layer: layer.index, node: 0 });
    else await vscode.commands.executeCommand('featureLens.inspectLayer', { lens, model, layer: layer.index });
    done = true;
  } else if (action === 'scan') {
    if (!fs.existsSync(await modelOf(d, lens)) && !(await train(d, lens))) return;
    await vscode.commands.executeCommand('featureLens.computeTopActivations', { lens });
    const r = await d.engine.request('layerByClass', { lens, storageDir: await d.storageDir(), indexOnly: true });
    done = 'ok' in r && !!r.ok;
  }
  if (done) await vscode.commands.executeCommand('setContext', stepKey(name, action), true);
}

export function registerWalkthrough(
  context: vscode.ExtensionContext,
  engine: EngineClient,
  log: vscode.LogOutputChannel,
  storageDir: () => Promise<string>,
): vscode.Disposable {
  const walkthroughId = `${context.extension.id}#${WALKTHROUGH}`;
  const d: Deps = { context, engine, log, storageDir };
  const subs: vscode.Disposable[] = [
    vscode.commands.registerCommand('featureLens.openWalkthrough', () => openWalkthrough(walkthroughId)),
    vscode.commands.registerCommand('featureLens.sample', async (name?: unknown, action?: unknown) => {
      const n = (typeof name === 'string' && name in SAMPLES ? name : 'efl') as SampleName;
      const a = (typeof action === 'string' && ['open', 'train', 'inspect', 'scan'].includes(action) ? action : 'open') as Action;
      try {
        await run(d, n, a);
      } catch (e) {
        log.error(`Walkthrough step ${n} ${a}: ${String((e as Error)?.message ?? e)}`);
        void vscode.window.showErrorMessage(`Feature Lens: ${String((e as Error)?.message ?? e)}`);
      }
    }),
  ];

  // Once per profile: the first start in a workspace with lens files shows the Feature Lens view and the walkthrough.
  void (async () => {
    if (!vscode.workspace.getConfiguration('featureLens').get<boolean>(FIRST_RUN_KEY, true) || context.globalState.get(WELCOMED)) return;
    const lenses = await vscode.workspace.findFiles('**/*.lens.json', EXCLUDE_GLOB, 1);
    if (!lenses.length) return;
    await context.globalState.update(WELCOMED, true);
    await vscode.commands.executeCommand('featureLens.models.focus');
    await openWalkthrough(walkthroughId);
  })().catch((e) => log.debug(`first start: ${String(e)}`));

  return { dispose: () => subs.forEach((d) => d.dispose()) };
}

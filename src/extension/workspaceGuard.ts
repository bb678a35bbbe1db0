/**
 * Keeps lens files from reaching outside the workspace without the user's say, and keeps an untrusted workspace
 * read-only.
 *
 * A lens file names a model and dataset files by relative path; `"../../../home/me/.ssh"` or a symlinked
 * folder would have the engine read (and training write) files the user never meant to hand over by opening a
 * folder. Before the engine touches a lens, the host asks the engine for the paths the lens names (`lensPaths`,
 * which parses the JSON and reads nothing else), and when any falls outside every workspace folder, after
 * resolving symlinks, asks once per lens file in a modal dialog; the answer "Allow" is remembered in workspace
 * state for that lens and those paths.
 *
 * The vscode API is passed in rather than imported, so the logic here runs in plain Node for the tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { EngineError, MethodName } from '../shared/protocol';

/** The real path of `p`: symlinks resolved on the longest prefix that exists, the rest appended as given. */
export function realPath(p: string, realpath: (p: string) => string = fs.realpathSync.native): string {
  const abs = path.resolve(p);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(realpath(cur), ...tail.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      tail.push(path.basename(cur));
      cur = parent;
    }
  }
}

const caseless = process.platform === 'win32' || process.platform === 'darwin';

function isInside(child: string, folder: string): boolean {
  const a = caseless ? child.toLowerCase() : child;
  const b = caseless ? folder.toLowerCase() : folder;
  const rel = path.relative(b, a);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The entries of `paths` (absolute, as `LensInfo.paths` lists them) that lie outside every folder of `folders`,
 * comparing real paths (symlinks resolved where the files exist). No workspace folder: every path is outside.
 */
export function pathsOutside(folders: readonly string[], paths: readonly string[], realpath?: (p: string) => string): string[] {
  const roots = folders.map((f) => realPath(f, realpath));
  return [...new Set(paths)].filter((p) => !roots.some((r) => isInside(realPath(p, realpath), r)));
}

/** What the guard needs from its surroundings (vscode in the extension, fakes in the tests). */
export interface GuardHost {
  /** Absolute paths of the workspace folders. */
  folders(): readonly string[];
  /** The absolute paths a lens file names, read by the engine without opening any of them. */
  lensPaths(lens: string): Promise<string[]>;
  /** Asks the user; true when they allow. */
  confirm(lens: string, outside: string[]): Promise<boolean>;
  /** Persistent per-workspace storage (vscode's workspaceState). */
  state: Pick<vscode.Memento, 'get' | 'update'>;
  /** The lens file's modification stamp, so an edited lens is checked again. */
  stamp(lens: string): Promise<string>;
  log(message: string): void;
}

const ALLOWED_KEY = 'featureLens.outsidePathsAllowed';

/**
 * The lens files an engine request names: `lens`, a second one (`other`, as `compare` takes), or one inside an
 * `input` image reference. Every one of them goes through the guard.
 */
export function lensesOf(method: MethodName | string, params: unknown): string[] {
  if (method === 'lensPaths' || !params || typeof params !== 'object') return [];
  const p = params as { lens?: unknown; other?: unknown; input?: { lens?: unknown } };
  const input = p.input && typeof p.input === 'object' ? p.input.lens : undefined;
  return [p.lens, p.other, input].filter((l): l is string => typeof l === 'string');
}

/**
 * Decides, once per lens file (until it changes), whether the engine may use it: yes when every path it names is
 * inside the workspace or the user allowed the ones outside; refusals are remembered for the session only.
 */
export class LensGuard {
  private readonly decided = new Map<string, { stamp: string; error?: EngineError }>();
  private readonly inFlight = new Map<string, Promise<EngineError | undefined>>();

  constructor(private readonly host: GuardHost) {}

  /** The error to answer instead of running a request, or undefined to let it run. */
  check(method: MethodName | string, params: unknown): Promise<EngineError | undefined> | undefined {
    const lenses = lensesOf(method, params);
    if (lenses.length === 0) return undefined;
    if (lenses.length === 1) return this.checkOne(lenses[0]);
    // One after the other: each may ask its own modal question.
    return (async () => {
      for (const lens of lenses) {
        const error = await this.checkOne(lens);
        if (error) return error;
      }
      return undefined;
    })();
  }

  private checkOne(lens: string): Promise<EngineError | undefined> {
    const file = path.resolve(lens);
    let p = this.inFlight.get(file);
    if (!p) {
      p = this.decide(file).finally(() => this.inFlight.delete(file));
      this.inFlight.set(file, p);
    }
    return p;
  }

  /** Forgets the refusals of this session, so the next use of those lens files asks again. */
  forgetRefusals(): void {
    for (const [k, v] of this.decided) if (v.error) this.decided.delete(k);
  }

  private async decide(lens: string): Promise<EngineError | undefined> {
    let stamp: string;
    try {
      stamp = await this.host.stamp(lens);
    } catch {
      return undefined; // a missing lens file: the engine's own "not found" says it best
    }
    const known = this.decided.get(lens);
    if (known && known.stamp === stamp) return known.error;
    let paths: string[];
    try {
      paths = await this.host.lensPaths(lens);
    } catch {
      return undefined; // an unreadable lens file: the engine reports the problem when asked for it
    }
    const outside = pathsOutside(this.host.folders(), paths);
    let error: EngineError | undefined;
    if (outside.length) {
      const allowed = this.host.state.get<Record<string, string[]>>(ALLOWED_KEY, {});
      const already = allowed[lens] ?? [];
      if (!outside.every((p) => already.includes(p))) {
        if (await this.host.confirm(lens, outside)) {
          await this.host.state.update(ALLOWED_KEY, { ...allowed, [lens]: outside });
          this.host.log(`Allowed ${lens} to use files outside the workspace: ${outside.join(', ')}.`);
        } else {
          this.host.log(`Not allowed: ${lens} names files outside the workspace: ${outside.join(', ')}.`);
          error = {
            code: 'badInput',
            message: `${lens}: names files outside the workspace (${listPaths(outside)}), which you did not allow. Refresh the Models view to be asked again.`,
            file: lens,
          };
        }
      }
    }
    this.decided.set(lens, { stamp, error });
    return error;
  }
}

function listPaths(ps: string[]): string {
  return ps.length > 3 ? `${ps.slice(0, 3).join(', ')} and ${ps.length - 3} more` : ps.join(', ');
}

/** The modal question, with the real path beside each path that is a symlink. */
export function confirmationText(lens: string, outside: string[]): { message: string; detail: string } {
  const shown = outside.slice(0, 12).map((p) => {
    const real = realPath(p);
    return real !== path.resolve(p) ? `${p} (→ ${real})` : p;
  });
  if (outside.length > 12) shown.push(`… and ${outside.length - 12} more`);
  return {
    message: `${path.basename(lens)} uses files outside this workspace. Allow Feature Lens to read them (and training to write its model there)?`,
    detail: `${lens} names:\n${shown.join('\n')}\n\nFeature Lens asks once per lens file; nothing was read yet.`,
  };
}

/** The vscode side: modal confirmation, workspace folders, workspaceState. */
export function createLensGuard(
  api: { window: Pick<typeof vscode.window, 'showWarningMessage'>; workspace: Pick<typeof vscode.workspace, 'workspaceFolders'> },
  state: vscode.Memento,
  lensPaths: (lens: string) => Promise<string[]>,
  log: (message: string) => void,
): LensGuard {
  return new LensGuard({
    folders: () => (api.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    lensPaths,
    confirm: async (lens, outside) => {
      const { message, detail } = confirmationText(lens, outside);
      return (await api.window.showWarningMessage(message, { modal: true, detail }, 'Allow')) === 'Allow';
    },
    state,
    stamp: async (lens) => {
      const st = await fs.promises.stat(lens);
      return `${st.mtimeMs}:${st.size}`;
    },
    log,
  });
}

/**
 * Workspace Trust: in a Restricted Mode window Feature Lens views models and datasets but writes nothing into
 * the workspace (training writes the model and its results there). Returns false, after saying why, when the
 * command must not run. The top-activation index is written to the extension's own storage, not the workspace,
 * and only caches what viewing computes, so scanning stays available.
 */
export async function requireTrust(
  api: {
    window: Pick<typeof vscode.window, 'showWarningMessage'>;
    workspace: Pick<typeof vscode.workspace, 'isTrusted'>;
    commands: Pick<typeof vscode.commands, 'executeCommand'>;
  },
  what: string,
): Promise<boolean> {
  if (api.workspace.isTrusted) return true;
  const choice = await api.window.showWarningMessage(
    `Feature Lens: ${what} is disabled in Restricted Mode, because it writes files into this workspace. Viewing models, layers and nodes still works. Trust the workspace to enable it.`,
    'Manage Workspace Trust',
  );
  if (choice === 'Manage Workspace Trust') await api.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** The extension's settings (`featureLens.*` in package.json), read with their defaults when a value is unusable. */
import * as vscode from 'vscode';
import { BACKEND_SETTINGS, isScoreMetric, type BackendSetting, type ScoreMetric } from '../shared/protocol';

export const BACKEND_KEY = 'engine.backend';
export const THREADS_KEY = 'engine.threads';
export const RANK_BY_KEY = 'topActivations.rankBy';
export const MAX_MEMORY_KEY = 'engine.maxMemoryMB';

const config = () => vscode.workspace.getConfiguration('featureLens');

export function backendSetting(): BackendSetting {
  const v = config().get<string>(BACKEND_KEY, 'auto');
  return (BACKEND_SETTINGS as readonly string[]).includes(v) ? (v as BackendSetting) : 'auto';
}

/** The wasm backend's thread count per engine process (1 to 8). */
export function threadsSetting(): number {
  const v = config().get<number>(THREADS_KEY, 1);
  return Number.isInteger(v) && v >= 1 && v <= 8 ? v : 1;
}

/** The engine's memory budget in MB; 0 (the default) lets the engine derive it from the machine's memory. */
export function maxMemorySetting(): number {
  const v = config().get<number>(MAX_MEMORY_KEY, 0);
  return Number.isInteger(v) && v >= 0 ? v : 0;
}

/** The score that ranks a node's top images in the panel and the Top Activations view. */
export function rankBySetting(): ScoreMetric {
  const v = config().get<string>(RANK_BY_KEY, 'frobenius');
  return isScoreMetric(v) ? v : 'frobenius';
}

/**
 * Stores a setting for the user (every workspace), where the Settings editor shows it; in the workspace's
 * settings instead when the workspace sets it already (a user value would stay hidden under that one).
 */
export function updateUserSetting(key: string, value: unknown): Thenable<void> {
  const inWorkspace = config().inspect(key)?.workspaceValue !== undefined;
  return config().update(key, value, inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
}

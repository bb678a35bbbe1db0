/** Which files a command's pick lists first: the ones the user is looking at. No vscode import. */
import * as path from 'node:path';

/** A file the user may mean, and why (shown in the quick pick: "shown in the panel", "selected in the tree"). */
export interface TargetHint {
  file: string;
  why: string;
}

/**
 * Orders pick candidates: hinted files first (in hint order, each with its reasons), then the rest by path.
 * Pure, for tests.
 */
export function orderCandidates(files: readonly string[], hints: readonly TargetHint[]): { file: string; why?: string }[] {
  const why = new Map<string, string[]>();
  for (const h of hints) {
    const f = files.find((x) => path.resolve(x) === path.resolve(h.file));
    if (f) why.set(f, [...(why.get(f) ?? []), h.why]);
  }
  const hinted = [...why.keys()];
  const rest = files.filter((f) => !why.has(f)).sort((a, b) => a.localeCompare(b));
  return [...hinted.map((file) => ({ file, why: [...new Set(why.get(file))].join(', ') })), ...rest.map((file) => ({ file }))];
}

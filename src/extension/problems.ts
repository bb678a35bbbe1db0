import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { findFieldRange, positionOf, syntaxErrorOffset } from './jsonLocate';
import type { ModelEntry } from './treeModel';
import { problemsOf, type Problem } from './treeProblems';

/**
 * Problems of lens and model files in the Problems panel (a DiagnosticCollection), each on the JSON range of the
 * lens field at fault; and `featureLens.showProblem`, which the tree's problem rows run to open the file there.
 */
export class LensProblems extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('featureLens'));
  private generation = 0;

  constructor() {
    super();
    this._register(vscode.commands.registerCommand('featureLens.showProblem', (p?: Problem) => this.show(p)));
  }

  /** Replaces every diagnostic with the problems of these entries. */
  async update(entries: readonly ModelEntry[]): Promise<void> {
    const gen = ++this.generation;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const e of entries) {
      for (const p of problemsOf(e)) {
        const range = await this.rangeOf(p);
        const d = new vscode.Diagnostic(range, p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
        d.source = 'Feature Lens';
        if (p.field) d.code = p.field;
        const list = byFile.get(p.file) ?? [];
        list.push(d);
        byFile.set(p.file, list);
      }
    }
    if (gen !== this.generation) return;
    this.collection.clear();
    for (const [file, ds] of byFile) this.collection.set(vscode.Uri.file(file), ds);
  }

  /** Where a problem is in its file: the field's key and value, a JSON syntax error's position, else the start. */
  async rangeOf(p: Problem): Promise<vscode.Range> {
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(p.file)));
    } catch {
      return new vscode.Range(0, 0, 0, 0);
    }
    let r: { start: number; end: number } | undefined;
    if (p.field) r = findFieldRange(text, p.field);
    if (!r) {
      const off = syntaxErrorOffset(p.message, text);
      if (off !== undefined) r = { start: off, end: Math.min(off + 1, text.length) };
    }
    if (!r) {
      const firstLine = text.split('\n', 1)[0];
      return new vscode.Range(0, 0, 0, firstLine.length);
    }
    const a = positionOf(text, r.start);
    const b = positionOf(text, r.end);
    return new vscode.Range(a.line, a.character, b.line, b.character);
  }

  private async show(p?: Problem): Promise<void> {
    if (!p?.file) return;
    const range = await this.rangeOf(p);
    const editor = await vscode.window.showTextDocument(vscode.Uri.file(p.file), { selection: range, preview: true });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    void vscode.window.setStatusBarMessage(`${path.basename(p.file)}: ${p.message}`, 8000);
  }
}

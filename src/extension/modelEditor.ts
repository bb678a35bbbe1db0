import * as vscode from 'vscode';
import { InspectorPanel, type PanelDeps } from './inspectorPanel';

/**
 * "Feature Lens Model": a read-only custom editor for model files (ONNX, Keras 3, Keras 2 HDF5 by default;
 * a TF.js `model.json` through "Open With…"). It shows the file's model page (layers with kinds and shapes,
 * parameters) in the editor area; from there the layer and node pages open in the same tab. Without a lens
 * file the pages show what needs no dataset.
 */
export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'featureLens.modelFile';

  constructor(private readonly deps: PanelDeps) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    InspectorPanel.inEditor(this.deps, panel, document.uri.fsPath);
  }
}

export function registerModelEditor(deps: PanelDeps): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(ModelEditorProvider.viewType, new ModelEditorProvider(deps), { supportsMultipleEditorsPerDocument: true });
}

/** The inspector webview's HTML: one external script with a fresh nonce, a strict CSP, no inline code or style. */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export function inspectorHtml(w: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const uri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  const csp = [
    `default-src 'none'`,
    `img-src ${w.cspSource} blob: data:`,
    `style-src ${w.cspSource}`,
    `font-src ${w.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('dist', 'codicon.css')}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${uri('media', 'inspector.css')}">
<title>Feature Lens</title>
</head>
<body data-state="loading">
<div id="app" role="main"><p class="status"><span class="codicon codicon-loading codicon-modifier-spin"></span> Loading…</p></div>
<script nonce="${nonce}" src="${uri('dist', 'webview.js')}"></script>
</body>
</html>`;
}

/** The panel's webview options: scripts on, resources from the extension's dist/ and media/ only. */
export function inspectorOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

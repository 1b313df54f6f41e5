// Starts `dlp lsp` (stdio) for .dlp files. The server does the work:
// diagnostics, hover, completion, inlay hints, definition, rename, format.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("dlp").get("server.path", "dlp");
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "dlp",
    "dlp language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "dlp" }, { scheme: "untitled", language: "dlp" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

//! `dlp lsp`: a Language Server Protocol server over stdio (rust-analyzer's
//! `lsp-server` for the transport, `lsp-types` for the messages).
//!
//! Every edit re-analyzes the whole document (the analyzer is fast: a
//! pipeline is a few dozen lines) and publishes all of its errors and
//! warnings, with related spans and hints. Hover, completion, inlay hints,
//! go-to-definition, rename and formatting read the same analysis, the
//! same schema the analyzer checks against ([`crate::analyze::schema`]) and
//! the same formatter as `dlp fmt`, so a new statement or key appears
//! everywhere at once.

mod complete;
mod index;
mod query;
mod transport;

use crate::analyze::{self, Analysis, Diagnostic, Severity};
use crate::syntax::{self, File, Span};
use index::LineIndex;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, Formatting, GotoDefinition, HoverRequest, InlayHintRequest, PrepareRenameRequest,
    Rename, Request as _,
};
use lsp_types::{
    CompletionOptions, DiagnosticRelatedInformation, DiagnosticSeverity, HoverProviderCapability,
    InitializeParams, Location, NumberOrString, OneOf, PublishDiagnosticsParams, RenameOptions,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// Serves on standard input and output until the client says `exit`. A
/// malformed message is answered with JSON-RPC's error and the server
/// goes on ([`transport`]).
pub(crate) fn serve_stdio() -> crate::error::Result<()> {
    let (connection, io) = transport::stdio();
    let served = serve(&connection);
    drop(connection);
    let joined = io.join();
    served.and(joined.map_err(|e| crate::error::Error::Runtime(format!("dlp lsp: {e}"))))
}

/// What this server can do, as `initialize` answers it.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into(), "=".into(), "$".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// The message loop over an established connection.
pub(crate) fn serve(connection: &Connection) -> crate::error::Result<()> {
    let caps = serde_json::to_value(capabilities()).unwrap_or_default();
    let init = connection
        .initialize(caps)
        .map_err(|e| crate::error::Error::Runtime(format!("dlp lsp: {e}")))?;
    // The client's parameters are not needed: positions are UTF-16, the
    // protocol's default, and documents are synced whole.
    let _: Option<InitializeParams> = serde_json::from_value(init).ok();
    let mut server = Server {
        docs: HashMap::new(),
    };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection
                    .handle_shutdown(&req)
                    .map_err(|e| crate::error::Error::Runtime(format!("dlp lsp: {e}")))?
                {
                    return Ok(());
                }
                let resp = server.request(req);
                send(connection, Message::Response(resp));
            }
            Message::Notification(n) => {
                if let Some(uri) = server.notification(n) {
                    let params = server.diagnostics(&uri);
                    send(
                        connection,
                        Message::Notification(Notification::new(
                            PublishDiagnostics::METHOD.into(),
                            params,
                        )),
                    );
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn send(connection: &Connection, msg: Message) {
    // A closed channel means the client is gone; the loop ends on its own.
    let _ = connection.sender.send(msg);
}

/// One open document and what the analyzer made of it.
pub(crate) struct Doc {
    pub text: String,
    pub index: LineIndex,
    /// The tree, when the text parses.
    pub file: Option<File>,
    pub analysis: Analysis,
}

impl Doc {
    fn new(text: String, path: &std::path::Path) -> Doc {
        let file = syntax::parse(&text).ok();
        let analysis = analyze::analysis(&text, path, &[]).unwrap_or_default();
        Doc {
            index: LineIndex::new(&text),
            text,
            file,
            analysis,
        }
    }
}

struct Server {
    docs: HashMap<Uri, Doc>,
}

impl Server {
    /// Handles a notification; returns the document whose diagnostics
    /// changed.
    fn notification(&mut self, n: Notification) -> Option<Uri> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams =
                    serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri;
                self.docs
                    .insert(uri.clone(), Doc::new(p.text_document.text, &path_of(&uri)));
                Some(uri)
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams =
                    serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri;
                // Full sync: the last change holds the whole text.
                let text = p.content_changes.into_iter().last()?.text;
                self.docs
                    .insert(uri.clone(), Doc::new(text, &path_of(&uri)));
                Some(uri)
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams =
                    serde_json::from_value(n.params).ok()?;
                self.docs.remove(&p.text_document.uri);
                // Clears the closed file's diagnostics.
                Some(p.text_document.uri)
            }
            _ => None,
        }
    }

    fn diagnostics(&self, uri: &Uri) -> PublishDiagnosticsParams {
        let diagnostics = match self.docs.get(uri) {
            Some(doc) => doc
                .analysis
                .errors
                .iter()
                .chain(&doc.analysis.warnings)
                .map(|d| to_lsp(doc, uri, d))
                .collect(),
            None => Vec::new(),
        };
        PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version: None,
        }
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            HoverRequest::METHOD => self.with_doc(req, |doc, p: lsp_types::HoverParams| {
                let at = doc.index.offset(p.text_document_position_params.position);
                Ok(query::hover(doc, at))
            }),
            Completion::METHOD => self.with_doc(req, |doc, p: lsp_types::CompletionParams| {
                let at = doc.index.offset(p.text_document_position.position);
                Ok(Some(lsp_types::CompletionResponse::Array(
                    complete::complete(doc, at),
                )))
            }),
            GotoDefinition::METHOD => {
                self.with_doc(req, |doc, p: lsp_types::GotoDefinitionParams| {
                    let uri = p.text_document_position_params.text_document.uri.clone();
                    let at = doc.index.offset(p.text_document_position_params.position);
                    Ok(query::definition(doc, at).map(|span| {
                        lsp_types::GotoDefinitionResponse::Scalar(Location {
                            uri,
                            range: doc.index.range(span),
                        })
                    }))
                })
            }
            PrepareRenameRequest::METHOD => {
                self.with_doc(req, |doc, p: lsp_types::TextDocumentPositionParams| {
                    let at = doc.index.offset(p.position);
                    Ok(query::rename_target(doc, at).map(|(_, span)| {
                        lsp_types::PrepareRenameResponse::Range(doc.index.range(span))
                    }))
                })
            }
            Rename::METHOD => self.with_doc(req, |doc, p: lsp_types::RenameParams| {
                let uri = p.text_document_position.text_document.uri.clone();
                let at = doc.index.offset(p.text_document_position.position);
                let edits = query::rename(doc, at, &p.new_name)?;
                let edits = edits
                    .into_iter()
                    .map(|(span, text)| TextEdit {
                        range: doc.index.range(span),
                        new_text: text,
                    })
                    .collect();
                Ok(Some(lsp_types::WorkspaceEdit {
                    changes: Some(HashMap::from([(uri, edits)])),
                    ..Default::default()
                }))
            }),
            Formatting::METHOD => {
                self.with_doc(req, |doc, _: lsp_types::DocumentFormattingParams| {
                    let formatted = crate::fmt::format(&doc.text)
                        .map_err(|d| format!("dlp fmt: {}:{}: {}", d.line, d.column, d.message))?;
                    Ok((formatted != doc.text).then(|| {
                        vec![TextEdit {
                            range: doc.index.range(Span::new(0, doc.text.len())),
                            new_text: formatted,
                        }]
                    }))
                })
            }
            InlayHintRequest::METHOD => self.with_doc(req, |doc, p: lsp_types::InlayHintParams| {
                let from = doc.index.offset(p.range.start);
                let to = doc.index.offset(p.range.end);
                Ok(Some(query::inlay_hints(doc, from, to)))
            }),
            _ => Err(Failure(
                ErrorCode::MethodNotFound,
                format!("dlp lsp does not handle {}", req.method),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(Failure(code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    /// Decodes a request's parameters, finds its document and answers.
    fn with_doc<P, R>(
        &self,
        req: Request,
        f: impl FnOnce(&Doc, P) -> Result<R, String>,
    ) -> Result<serde_json::Value, Failure>
    where
        P: serde::de::DeserializeOwned + HasUri,
        R: serde::Serialize,
    {
        let params: P = serde_json::from_value(req.params)
            .map_err(|e| Failure(ErrorCode::InvalidParams, e.to_string()))?;
        let Some(doc) = self.docs.get(params.uri()) else {
            return Ok(serde_json::Value::Null);
        };
        let out = f(doc, params).map_err(|m| Failure(ErrorCode::RequestFailed, m))?;
        serde_json::to_value(out).map_err(|e| Failure(ErrorCode::InternalError, e.to_string()))
    }
}

struct Failure(ErrorCode, String);

/// Requests that name a document.
trait HasUri {
    fn uri(&self) -> &Uri;
}

macro_rules! has_uri {
    ($($t:ty => |$p:ident| $e:expr),* $(,)?) => {
        $(impl HasUri for $t {
            fn uri(&self) -> &Uri {
                let $p = self;
                $e
            }
        })*
    };
}

has_uri! {
    lsp_types::HoverParams => |p| &p.text_document_position_params.text_document.uri,
    lsp_types::CompletionParams => |p| &p.text_document_position.text_document.uri,
    lsp_types::GotoDefinitionParams => |p| &p.text_document_position_params.text_document.uri,
    lsp_types::TextDocumentPositionParams => |p| &p.text_document.uri,
    lsp_types::RenameParams => |p| &p.text_document_position.text_document.uri,
    lsp_types::DocumentFormattingParams => |p| &p.text_document.uri,
    lsp_types::InlayHintParams => |p| &p.text_document.uri,
}

/// The file a `file://` URI names (relative data paths resolve against
/// its folder); any other URI is taken as a name in the current folder.
fn path_of(uri: &Uri) -> PathBuf {
    let s = uri.as_str();
    let Some(rest) = s.strip_prefix("file://") else {
        return PathBuf::from("untitled.dlp");
    };
    // `file:///path` (empty host) or `file://localhost/path`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    PathBuf::from(percent_decode(rest))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A diagnostic as the protocol carries it: the hints join the message
/// (the protocol has no field for them), related spans become related
/// information, the kind is the code.
fn to_lsp(doc: &Doc, uri: &Uri, d: &Diagnostic) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    for h in &d.hints {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|r| DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: doc.index.range(r.span),
            },
            message: r.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range: doc.index.range(d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(kind_code(d.kind))),
        source: Some("dlp".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// `UnknownParameter` → `unknown-parameter`.
fn kind_code(kind: analyze::Kind) -> String {
    let name = format!("{kind:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

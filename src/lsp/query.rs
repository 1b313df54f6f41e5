//! What the cursor is on, and the answers that need the syntax tree:
//! hover, go to definition, rename, inlay hints.

use super::Doc;
use crate::analyze::{kind_of, schema};
use crate::diagnostics::line_col;
use crate::plan::{LayerPlan, Loc};
use crate::syntax::{
    Assign, Command, Compare, Expr, ExprKind, Let, Span, Statement, Value, ValueKind,
};
use lsp_types::{
    Hover, HoverContents, InlayHint, InlayHintKind, InlayHintLabel, MarkupContent, MarkupKind,
};

/// One thing in the tree a cursor can be on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub span: Span,
    pub what: What<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum What<'a> {
    /// A statement's name; `section` is "" at the top level.
    Statement {
        section: &'a str,
        cmd: &'a Command,
    },
    /// `key=` of a statement.
    Key {
        cmd: &'a Command,
        key: &'a str,
    },
    /// The `index`th positional value of a statement.
    Positional {
        section: &'a str,
        cmd: &'a Command,
        index: usize,
    },
    /// `$name`; `binding` is the `repeat` binding it reads, `None` for a
    /// `let` (or nothing).
    Var {
        name: &'a str,
        binding: Option<Span>,
    },
    /// A `repeat NAME=[…]` binding's name.
    Binding {
        name: &'a str,
        value: &'a Value,
    },
    /// A parameter of a named block (`block NAME PARAM PARAM=DEFAULT`).
    Param {
        name: &'a str,
        block: &'a str,
    },
    LetName(&'a Let),
    AssignTarget(&'a Assign),
    Metric(&'a Compare),
}

/// Every item of the tree, outermost first.
pub(crate) fn items(doc: &Doc) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    if let Some(file) = &doc.file {
        let mut scopes = Vec::new();
        block(&file.statements, "", &mut scopes, &mut out);
    }
    out
}

fn block<'a>(
    stmts: &'a [Statement],
    section: &'a str,
    scopes: &mut Vec<(&'a str, Span)>,
    out: &mut Vec<Item<'a>>,
) {
    for s in stmts {
        match s {
            Statement::Let(l) => {
                out.push(Item {
                    span: l.name.span,
                    what: What::LetName(l),
                });
                value(&l.value, scopes, out);
            }
            Statement::Assign(a) => {
                out.push(Item {
                    span: a.target.span,
                    what: What::AssignTarget(a),
                });
                value(&a.value, scopes, out);
            }
            Statement::Compare(c) => {
                out.push(Item {
                    span: c.metric.span,
                    what: What::Metric(c),
                });
                value(&c.value, scopes, out);
            }
            Statement::Command(c) => command(c, section, scopes, out),
        }
    }
}

fn command<'a>(
    c: &'a Command,
    section: &'a str,
    scopes: &mut Vec<(&'a str, Span)>,
    out: &mut Vec<Item<'a>>,
) {
    out.push(Item {
        span: c.name.span,
        what: What::Statement { section, cmd: c },
    });
    let repeat = c.name.name == "repeat";
    if c.name.name == "block" {
        return block_definition(c, section, scopes, out);
    }
    let mut index = 0;
    for a in &c.args {
        match &a.key {
            Some(k) if repeat => out.push(Item {
                span: k.span,
                what: What::Binding {
                    name: &k.name,
                    value: &a.value,
                },
            }),
            Some(k) => out.push(Item {
                span: k.span,
                what: What::Key {
                    cmd: c,
                    key: &k.name,
                },
            }),
            None => {
                out.push(Item {
                    span: a.value.span,
                    what: What::Positional {
                        section,
                        cmd: c,
                        index,
                    },
                });
                index += 1;
            }
        }
        value(&a.value, scopes, out);
    }
    let Some(body) = &c.block else { return };
    if repeat {
        let before = scopes.len();
        scopes.extend(
            c.args
                .iter()
                .filter_map(|a| a.key.as_ref().map(|k| (k.name.as_str(), k.span))),
        );
        block(body, section, scopes, out);
        scopes.truncate(before);
    } else {
        let inner = if section.is_empty() && schema::SECTIONS.contains(&c.name.name.as_str()) {
            c.name.name.as_str()
        } else {
            section
        };
        block(body, inner, scopes, out);
    }
}

fn value<'a>(v: &'a Value, scopes: &[(&'a str, Span)], out: &mut Vec<Item<'a>>) {
    match &v.kind {
        ValueKind::Expr(e) => expr(e, scopes, out),
        ValueKind::List(items) => items.iter().for_each(|i| value(i, scopes, out)),
        ValueKind::Call { args, .. } => args.iter().for_each(|a| value(a, scopes, out)),
        _ => {}
    }
}

fn expr<'a>(e: &'a Expr, scopes: &[(&'a str, Span)], out: &mut Vec<Item<'a>>) {
    match &e.kind {
        ExprKind::Var(name) => {
            let binding = scopes
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, s)| *s);
            out.push(Item {
                span: e.span,
                what: What::Var { name, binding },
            });
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs, scopes, out);
            expr(rhs, scopes, out);
        }
        _ => {}
    }
}

/// `block NAME PARAM PARAM=DEFAULT { … }`: its parameters are items, and
/// bound as variables inside its body.
fn block_definition<'a>(
    c: &'a Command,
    section: &'a str,
    scopes: &mut Vec<(&'a str, Span)>,
    out: &mut Vec<Item<'a>>,
) {
    let name = match c.args.first().map(|a| &a.value.kind) {
        Some(ValueKind::Word(w)) => w.as_str(),
        _ => "",
    };
    let before = scopes.len();
    for a in c.args.iter().skip(1) {
        let (param, span) = match (&a.key, &a.value.kind) {
            (Some(k), _) => (k.name.as_str(), k.span),
            (None, ValueKind::Word(w)) => (w.as_str(), a.value.span),
            _ => continue,
        };
        out.push(Item {
            span,
            what: What::Param {
                name: param,
                block: name,
            },
        });
        if a.key.is_some() {
            value(&a.value, scopes, out);
        }
        scopes.push((param, span));
    }
    if let Some(body) = &c.block {
        block(body, section, scopes, out);
    }
    scopes.truncate(before);
}

/// The innermost item at byte `at` (a cursor just after a name is on it).
fn at<'a>(items: &[Item<'a>], at: usize) -> Option<Item<'a>> {
    items
        .iter()
        .filter(|i| i.span.start <= at && at <= i.span.end)
        .min_by_key(|i| i.span.end - i.span.start)
        .copied()
}

/// The layers a statement became (several inside `repeat`).
pub(crate) fn layers_of<'d>(doc: &'d Doc, cmd: &Command) -> Vec<&'d LayerPlan> {
    let (line, column) = line_col(&doc.text, cmd.name.span.start);
    let loc = Loc { line, column };
    doc.analysis
        .found
        .model
        .as_ref()
        .map(|m| m.layers.iter().filter(|l| l.loc == loc).collect())
        .unwrap_or_default()
}

pub(crate) fn hover(doc: &Doc, offset: usize) -> Option<Hover> {
    let items = items(doc);
    let item = at(&items, offset)?;
    let text = match item.what {
        What::Statement { section, cmd } => statement_hover(doc, section, cmd),
        What::Key { cmd, key, .. } => param_hover(&cmd.name.name, key),
        What::Positional {
            section,
            cmd,
            index,
        } => {
            let spec = schema::spec(section, &cmd.name.name, kind_of(cmd))?;
            let key = spec.positional.get(index)?;
            let mut s = param_hover(&cmd.name.name, key);
            let choices = schema::choices(section, &cmd.name.name, key);
            if !choices.is_empty() {
                s.push_str(&format!("\n\none of: {}", choices.join(", ")));
            }
            s
        }
        What::Var { name, binding } => var_hover(doc, &items, name, binding)?,
        What::Binding { name, value } => format!(
            "**${name}**: bound by repeat, once per value of `{}`",
            doc.text.get(value.span.start..value.span.end).unwrap_or("")
        ),
        What::Param { name, block } => format!("**${name}**: a parameter of block `{block}`"),
        What::LetName(l) => var_hover(doc, &items, &l.name.name, None)?,
        What::AssignTarget(a) => format!(
            "**{}**: varied by the sweep, one trial per value",
            a.target.name
        ),
        What::Metric(c) => format!(
            "**{}**: a final metric, checked after the run",
            c.metric.name
        ),
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(doc.index.range(item.span)),
    })
}

fn param_hover(statement: &str, key: &str) -> String {
    match schema::param_doc(statement, key) {
        Some((meaning, "")) => format!("**{key}**: {meaning}"),
        Some((meaning, default)) => format!("**{key}**: {meaning}\n\ndefault: {default}"),
        None => format!("**{key}**"),
    }
}

fn statement_hover(doc: &Doc, section: &str, cmd: &Command) -> String {
    let name = cmd.name.name.as_str();
    let doc_text = match schema::statement_doc(section, name) {
        "" if section == "model" => {
            "a use of the model's block of this name: its layers, with these values for its parameters"
        }
        d => d,
    };
    let mut s = format!("**{name}**: {doc_text}");
    if let Some(spec) = schema::spec(section, name, kind_of(cmd))
        && spec.all().next().is_some()
    {
        s.push_str(&format!(
            "\n\nparameters: {}",
            spec.all().collect::<Vec<_>>().join(", ")
        ));
    }
    let found = &doc.analysis.found;
    match (section, name) {
        ("model", _) => {
            for l in layers_of(doc, cmd) {
                s.push_str(&format!(
                    "\n\n`{}`: output `{}`, {} parameters",
                    l.name, l.output, l.params
                ));
            }
        }
        ("", "model") => {
            if let Some(m) = &found.model {
                s.push_str(&format!(
                    "\n\n{} layers, input `{}`, output `{}`, {} parameters ({} trainable)",
                    m.layers.len(),
                    m.input,
                    m.output(),
                    m.total_params(),
                    m.trainable_params()
                ));
            }
        }
        ("", "data") | ("data", "source") => {
            if let Some((input, classes)) = found.data {
                s.push_str(&format!("\n\nsamples `{input}`"));
                if let Some(c) = classes {
                    s.push_str(&format!(", {c} classes"));
                }
            }
        }
        _ => {}
    }
    s
}

fn var_hover(doc: &Doc, items: &[Item], name: &str, binding: Option<Span>) -> Option<String> {
    if let Some(b) = binding {
        let param = items.iter().find_map(|i| match i.what {
            What::Param { name: n, block } if i.span == b && n == name => Some(block),
            _ => None,
        });
        if let Some(block) = param {
            return Some(format!("**${name}**: a parameter of block `{block}`"));
        }
        let value = items.iter().find_map(|i| match i.what {
            What::Binding { name: n, value } if i.span == b && n == name => Some(value),
            _ => None,
        })?;
        return Some(format!(
            "**${name}**: bound by repeat, once per value of `{}`",
            doc.text.get(value.span.start..value.span.end).unwrap_or("")
        ));
    }
    let l = items.iter().find_map(|i| match i.what {
        What::LetName(l) if l.name.name == name => Some(l),
        _ => None,
    })?;
    let written = doc
        .text
        .get(l.value.span.start..l.value.span.end)
        .unwrap_or("");
    let mut s = format!("**${name}** = `{written}`");
    if let Some(v) = doc.analysis.plan.as_ref().and_then(|p| p.vars.get(name)) {
        let shown = value_text(v);
        if shown != written {
            s.push_str(&format!(" = `{shown}`"));
        }
    }
    Some(s)
}

fn value_text(v: &crate::plan::Value) -> String {
    use crate::plan::Value as P;
    match v {
        P::Bool(b) => b.to_string(),
        P::Int(i) => i.to_string(),
        P::Float(f) => f.to_string(),
        P::Str(s) => format!("{s:?}"),
        P::List(items) => format!(
            "[{}]",
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Where the `let` (or `repeat` binding) a variable names is defined.
pub(crate) fn definition(doc: &Doc, offset: usize) -> Option<Span> {
    let items = items(doc);
    match at(&items, offset)?.what {
        What::Var {
            binding: Some(b), ..
        } => Some(b),
        What::Var {
            name,
            binding: None,
        } => let_span(&items, name),
        What::AssignTarget(a) => let_span(&items, &a.target.name),
        What::LetName(l) => Some(l.name.span),
        _ => None,
    }
}

fn let_span(items: &[Item], name: &str) -> Option<Span> {
    items.iter().find_map(|i| match i.what {
        What::LetName(l) if l.name.name == name => Some(l.name.span),
        _ => None,
    })
}

/// The `let` variable under the cursor, and the span of its name there
/// (without the `$`).
pub(crate) fn rename_target(doc: &Doc, offset: usize) -> Option<(String, Span)> {
    let items = items(doc);
    let item = at(&items, offset)?;
    let name = match item.what {
        What::Var {
            name,
            binding: None,
        } => name,
        What::LetName(l) => &l.name.name,
        What::AssignTarget(a) => &a.target.name,
        _ => return None,
    };
    let_span(&items, name)?;
    let span = match item.what {
        What::Var { .. } => name_in(doc, item.span, name),
        _ => item.span,
    };
    Some((name.to_string(), span))
}

/// The edits that rename a `let` variable: its definition, every `$name`
/// that reads it (not those a `repeat` binding of the same name shadows),
/// and sweep axes that vary it.
pub(crate) fn rename(doc: &Doc, offset: usize, new: &str) -> Result<Vec<(Span, String)>, String> {
    let (old, _) = rename_target(doc, offset).ok_or("only let variables can be renamed")?;
    let new = new.strip_prefix('$').unwrap_or(new);
    let valid = new
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && new != "let"
        && new != "true"
        && new != "false";
    if !valid {
        return Err(format!("{new:?} is not a variable name"));
    }
    let items = items(doc);
    if new != old && let_span(&items, new).is_some() {
        return Err(format!("a variable {new} exists already"));
    }
    let mut edits = Vec::new();
    for i in &items {
        match i.what {
            What::LetName(l) if l.name.name == old => edits.push((i.span, new.to_string())),
            What::AssignTarget(a) if a.target.name == old => edits.push((i.span, new.to_string())),
            What::Var {
                name,
                binding: None,
            } if name == old => edits.push((name_in(doc, i.span, name), new.to_string())),
            _ => {}
        }
    }
    Ok(edits)
}

/// The name of `$name` within a variable's span (which covers any
/// parentheses around it).
fn name_in(doc: &Doc, span: Span, name: &str) -> Span {
    let text = doc.text.get(span.start..span.end).unwrap_or("");
    let at = text.find('$').map_or(span.start, |i| span.start + i + 1);
    Span::new(at, at + name.len())
}

/// Each layer's output shape at the end of its line (a `repeat` body's
/// layer lists one shape per pass).
pub(crate) fn inlay_hints(doc: &Doc, from: usize, to: usize) -> Vec<InlayHint> {
    let items = items(doc);
    let mut out = Vec::new();
    for i in &items {
        let What::Statement {
            section: "model",
            cmd,
        } = i.what
        else {
            continue;
        };
        if cmd.span.end < from || cmd.span.start > to {
            continue;
        }
        let layers = layers_of(doc, cmd);
        if layers.is_empty() {
            continue;
        }
        let shapes: Vec<String> = layers.iter().map(|l| l.output.to_string()).collect();
        out.push(InlayHint {
            position: doc.index.position(cmd.span.end),
            label: InlayHintLabel::String(format!("→ {}", shapes.join(" | "))),
            kind: Some(InlayHintKind::TYPE),
            text_edits: None,
            tooltip: None,
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    out
}

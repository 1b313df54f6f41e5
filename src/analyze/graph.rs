//! The graph forms of the `model` section: named blocks with parameters
//! (`block NAME PARAM PARAM=DEFAULT { … }`, used as `NAME VALUE key=VALUE`)
//! and the merges `add { branch { … } branch { … } }` and `concat { … }`.
//! Each branch is a stack read from the merge's input; an empty branch is
//! the identity (a residual shortcut). The expansion appends the layers in
//! the order they run, each with the nodes it reads
//! ([`super::model::Expanded`]); shapes are checked later, with the others.

use super::context::Context;
use super::model::{Expanded, Expander, expand, nested_too_deep, stem_of};
use super::schema::{self, did_you_mean};
use super::value::Located;
use crate::diagnostics::{Diagnostic, Kind};
use crate::plan::Layer;
use crate::syntax::{Command, Span, Statement, ValueKind};
use std::collections::BTreeMap;

/// One branch of a merge: its `branch` keyword and the node it ends at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch {
    pub span: Span,
    pub end: usize,
    /// An empty branch: the merge's input itself.
    pub identity: bool,
}

/// A named block: its parameters in order (with their defaults) and body.
pub(crate) struct BlockDef<'b> {
    pub params: Vec<(String, Option<Located>)>,
    pub body: &'b [Statement],
    pub span: Span,
}

/// The `block` definitions directly inside the model block, by name.
pub(crate) fn definitions<'b>(
    cx: &mut Context,
    block: &'b [Statement],
) -> BTreeMap<String, BlockDef<'b>> {
    let mut out: BTreeMap<String, BlockDef<'b>> = BTreeMap::new();
    for s in block {
        let Statement::Command(c) = s else { continue };
        if c.name.name != "block" {
            continue;
        }
        if let Some((name, def)) = definition(cx, c) {
            if let Some(first) = out.get(&name) {
                let line = cx.loc(first.span).line;
                cx.report(
                    Diagnostic::error(
                        Kind::Duplicate,
                        c.name.span,
                        format!("block {name} is defined twice (first on line {line})"),
                    )
                    .related(first.span, format!("the first block {name} is here")),
                );
                continue;
            }
            out.insert(name, def);
        }
    }
    out
}

const BLOCK_FORM: &str = "block NAME PARAM PARAM=DEFAULT { … }";

fn definition<'b>(cx: &mut Context, c: &'b Command) -> Option<(String, BlockDef<'b>)> {
    let Some(body) = c.block.as_deref() else {
        cx.error(
            Kind::Missing,
            c.name.span,
            format!("block needs a body: {BLOCK_FORM}"),
        );
        return None;
    };
    let mut args = c.args.iter();
    let name = match args.next() {
        Some(a) if a.key.is_none() => match &a.value.kind {
            ValueKind::Word(w) => (w.clone(), a.span),
            _ => {
                cx.error(
                    Kind::Type,
                    a.span,
                    format!("a block's name is a word: {BLOCK_FORM}"),
                );
                return None;
            }
        },
        _ => {
            cx.error(
                Kind::Missing,
                c.name.span,
                format!("block needs a name: {BLOCK_FORM}"),
            );
            return None;
        }
    };
    let reserved = schema::statements("model").contains(&name.0.as_str());
    if reserved || schema::SECTIONS.contains(&name.0.as_str()) {
        cx.error(
            Kind::Conflict,
            name.1,
            format!(
                "a block cannot be called {}: that is a statement's name",
                name.0
            ),
        );
        return None;
    }
    let mut params: Vec<(String, Option<Located>)> = Vec::new();
    for a in args {
        let (pname, default) = match (&a.key, &a.value.kind) {
            (Some(k), _) => (k.name.clone(), Some(cx.eval(&a.value)?)),
            (None, ValueKind::Word(w)) => (w.clone(), None),
            (None, _) => {
                cx.error(
                    Kind::Type,
                    a.span,
                    format!("a block's parameters are names, with =DEFAULT or not: {BLOCK_FORM}"),
                );
                return None;
            }
        };
        if params.iter().any(|(p, _)| *p == pname) {
            cx.error(
                Kind::Duplicate,
                a.span,
                format!("block {} has two parameters {pname}", name.0),
            );
            return None;
        }
        params.push((pname, default));
    }
    Some((
        name.0,
        BlockDef {
            params,
            body,
            span: c.name.span,
        },
    ))
}

/// A use of a named block: binds its parameters (positional in order,
/// then by name, then defaults) and expands its body in their scope.
pub(crate) fn call(cx: &mut Context, cmd: &Command, ex: &mut Expander, depth: usize) {
    let name = cmd.name.name.clone();
    if cmd.block.is_some() {
        cx.error(
            Kind::Misplaced,
            cmd.name.span,
            format!("a use of block {name} takes no block"),
        );
        return;
    }
    if ex.calls.contains(&name) {
        cx.error(
            Kind::Conflict,
            cmd.name.span,
            format!("block {name} uses itself"),
        );
        return;
    }
    if nested_too_deep(cx, depth, cmd.name.span, "blocks are") {
        return;
    }
    let Some(def) = ex.blocks.get(&name) else {
        return;
    };
    let params = def.params.clone();
    let body = def.body;
    let mut bound: Vec<Option<Located>> = vec![None; params.len()];
    let mut next = 0;
    let mut ok = true;
    for a in &cmd.args {
        let slot = match &a.key {
            None => {
                let s = (next < params.len()).then_some(next);
                next += 1;
                if s.is_none() {
                    cx.error(
                        Kind::Type,
                        a.span,
                        format!(
                            "block {name} takes {} values, this is one more",
                            params.len()
                        ),
                    );
                    ok = false;
                    continue;
                }
                s
            }
            Some(k) => {
                let s = params.iter().position(|(p, _)| *p == k.name);
                if s.is_none() {
                    let names = params.iter().map(|(p, _)| p.as_str());
                    cx.error(
                        Kind::UnknownParameter,
                        k.span,
                        format!(
                            "block {name} has no parameter {}{}",
                            k.name,
                            did_you_mean(&k.name, names)
                        ),
                    );
                    ok = false;
                    continue;
                }
                s
            }
        };
        let Some(i) = slot else { continue };
        if bound[i].is_some() {
            cx.error(
                Kind::Duplicate,
                a.span,
                format!("block {name}'s {} is given twice", params[i].0),
            );
            ok = false;
            continue;
        }
        match cx.eval(&a.value) {
            Some(v) => bound[i] = Some(v),
            None => ok = false,
        }
    }
    let mut values = Vec::with_capacity(params.len());
    for ((p, default), given) in params.iter().zip(bound) {
        match given.or_else(|| default.clone()) {
            Some(v) => values.push((p.clone(), v)),
            None => {
                cx.error(
                    Kind::Missing,
                    cmd.name.span,
                    format!("block {name} needs {p}"),
                );
                ok = false;
            }
        }
    }
    if !ok || !ex.step(cx, cmd.name.span) {
        return;
    }
    cx.push_scope();
    for (p, v) in values {
        cx.define(&p, v);
    }
    ex.calls.push(name.clone());
    ex.uses
        .push((cmd.name.span, format!("this use of block {name}")));
    expand(cx, body, ex, depth + 1);
    ex.uses.pop();
    ex.calls.pop();
    cx.pop_scope();
}

/// `add { branch { … } branch { … } }` or `concat { … }`: each branch
/// read from the current node, then the merge of their ends.
pub(crate) fn merge(cx: &mut Context, cmd: &Command, ex: &mut Expander, depth: usize) {
    let kind = cmd.name.name.as_str();
    let form = format!("{kind} {{ branch {{ … }} branch {{ … }} }}");
    let Some(body) = &cmd.block else {
        cx.error(
            Kind::Missing,
            cmd.name.span,
            format!("{kind} needs branches: {form}"),
        );
        return;
    };
    if let Some(a) = cmd.args.first() {
        cx.error(
            Kind::UnknownParameter,
            a.span,
            format!("{kind} takes no parameters: {form}"),
        );
        return;
    }
    if nested_too_deep(cx, depth, cmd.name.span, &format!("{kind} is")) {
        return;
    }
    let start = ex.cur;
    let mut branches = Vec::new();
    for s in body {
        match s {
            Statement::Command(b) if b.name.name == "branch" => {
                if let Some(a) = b.args.first() {
                    cx.error(Kind::UnknownParameter, a.span, "branch takes no parameters");
                    continue;
                }
                ex.cur = start;
                expand(cx, b.block.as_deref().unwrap_or(&[]), ex, depth + 1);
                branches.push(Branch {
                    span: b.name.span,
                    end: ex.cur,
                    identity: ex.cur == start,
                });
            }
            Statement::Command(b) => cx.error(
                Kind::Misplaced,
                b.name.span,
                format!(
                    "{kind} holds only branch {{ … }} blocks: put {} inside a branch",
                    b.name.name
                ),
            ),
            other => cx.error(
                Kind::Misplaced,
                other.span(),
                format!("{kind} holds only branch {{ … }} blocks"),
            ),
        }
    }
    ex.cur = start;
    if ex.overflow {
        return;
    }
    if branches.len() < 2 {
        cx.error(
            Kind::Missing,
            cmd.name.span,
            format!(
                "{kind} needs at least two branches, it has {}: {form}",
                branches.len()
            ),
        );
        return;
    }
    let name = ex.name(stem_of(kind));
    let layer = if kind == "add" {
        Layer::Add
    } else {
        Layer::Concat
    };
    let inputs = branches.iter().map(|b| b.end).collect();
    ex.push(
        cx,
        Expanded {
            layer,
            name,
            span: cmd.name.span,
            inputs,
            branches,
        },
    );
}

/// Where a branch is, for messages: `branch 2 (line 14)`, `branch 1 (line
/// 9, the identity)`.
pub(crate) fn describe_branch(cx: &Context, i: usize, b: &Branch) -> String {
    let line = cx.loc(b.span).line;
    if b.identity {
        format!("branch {} (line {line}, the identity)", i + 1)
    } else {
        format!("branch {} (line {line})", i + 1)
    }
}

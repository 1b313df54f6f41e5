//! `--set NAME=VALUE`: overriding a `let` variable or a dotted path
//! (`train.optimizer.lr`, `train.batch` = its first positional) in the AST
//! before analysis, so an override is checked exactly like written text.
//! Sweeps reuse [`set`] for each trial.

use super::block::kind_of;
use super::schema::{self, did_you_mean, spec};
use crate::error::{Error, Result};
use crate::syntax::{self, Arg, Command, File, Ident, Span, Statement, Value, ValueKind};
use pest::error::ErrorVariant;

/// Applies `NAME=VALUE` overrides in order. An unknown name or a malformed
/// override is an [`Error::Usage`] that lists the valid names.
pub fn apply_overrides(file: &mut File, overrides: &[String]) -> Result<()> {
    for o in overrides {
        let Some((name, text)) = o.split_once('=') else {
            return Err(Error::Usage(format!("--set {o}: expected NAME=VALUE")));
        };
        let name = name.trim();
        let value = match syntax::parse_value(text.trim()) {
            Ok(v) => v,
            // A value that reads as one but cannot be (an integer beyond
            // 64 bits, nothing at all) says so, not "got the string".
            Err(e) if matches!(e.variant, ErrorVariant::CustomError { .. }) => {
                return Err(Error::Usage(format!("--set {o}: {}", e.variant.message())));
            }
            Err(_) => Value {
                kind: ValueKind::Str(text.trim().to_string()),
                span: Span::default(),
            },
        };
        set(file, name, value).map_err(|why| {
            Error::Usage(format!(
                "--set {name}: {why}\nvalid names: {}",
                valid_targets(file).join(", ")
            ))
        })?;
    }
    Ok(())
}

/// Every name `--set` and `sweep` accept for this file: its `let`
/// variables, `seed`, and `section.statement.param` for each section the
/// file has (model layers only as written: the first of each kind).
pub fn valid_targets(file: &File) -> Vec<String> {
    let mut out = vec!["seed".to_string()];
    for s in &file.statements {
        if let Statement::Let(l) = s {
            out.push(l.name.name.clone());
        }
    }
    for s in &file.statements {
        let Statement::Command(c) = s else { continue };
        let section = c.name.name.as_str();
        let Some(block) = &c.block else { continue };
        if !schema::SECTIONS.contains(&section) {
            continue;
        }
        for &stmt in schema::statements(section) {
            if stmt == "repeat" {
                continue;
            }
            let written = find(block, stmt);
            if section == "model" && written.is_none() {
                continue;
            }
            let Some(sp) = spec(section, stmt, written.and_then(kind_of)) else {
                continue;
            };
            if !sp.positional.is_empty() {
                out.push(format!("{section}.{stmt}"));
            }
            for p in sp.all() {
                let name = format!("{section}.{stmt}.{p}");
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

fn find<'a>(block: &'a [Statement], name: &str) -> Option<&'a Command> {
    block.iter().find_map(|s| match s {
        Statement::Command(c) if c.name.name == name => Some(c),
        _ => None,
    })
}

fn find_mut<'a>(block: &'a mut [Statement], name: &str) -> Option<&'a mut Command> {
    block.iter_mut().find_map(|s| match s {
        Statement::Command(c) if c.name.name == name => Some(c),
        _ => None,
    })
}

/// Gives every span in `value` the span `at`: diagnostics about an
/// overridden value point at what it replaced.
fn respan(value: &mut Value, at: Span) {
    value.span = at;
    match &mut value.kind {
        ValueKind::Expr(e) => respan_expr(e, at),
        ValueKind::List(items) => items.iter_mut().for_each(|v| respan(v, at)),
        ValueKind::Call { name, args } => {
            name.span = at;
            args.iter_mut().for_each(|v| respan(v, at));
        }
        _ => {}
    }
}

fn respan_expr(e: &mut syntax::Expr, at: Span) {
    e.span = at;
    if let syntax::ExprKind::Binary { lhs, rhs, .. } = &mut e.kind {
        respan_expr(lhs, at);
        respan_expr(rhs, at);
    }
}

/// Sets `target` (a `let` name, `seed`, or a dotted path) to `value`.
/// The error says why the target is not valid.
pub fn set(file: &mut File, target: &str, mut value: Value) -> std::result::Result<(), String> {
    let parts: Vec<&str> = target.split('.').collect();
    if parts.len() == 1 {
        if target == "seed" {
            return set_command(
                &mut file.statements,
                "",
                "seed",
                "seed",
                value,
                Span::default(),
            );
        }
        for s in &mut file.statements {
            if let Statement::Let(l) = s
                && l.name.name == target
            {
                respan(&mut value, l.value.span);
                l.value = value;
                return Ok(());
            }
        }
        let lets: Vec<String> = file
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Let(l) => Some(l.name.name.clone()),
                _ => None,
            })
            .collect();
        return Err(format!(
            "no variable \"{target}\"{}",
            did_you_mean(target, lets.iter().map(String::as_str))
        ));
    }
    if parts.len() > 3 {
        return Err("a path is section.statement or section.statement.param".into());
    }
    let (section, stmt) = (parts[0], parts[1]);
    if !schema::SECTIONS.contains(&section) || matches!(section, "expect" | "sweep") {
        return Err(format!(
            "unknown section \"{section}\"{}",
            did_you_mean(section, schema::SECTIONS.iter().copied())
        ));
    }
    let Some(sec) = file.statements.iter_mut().find_map(|s| match s {
        Statement::Command(c) if c.name.name == section && c.block.is_some() => Some(c),
        _ => None,
    }) else {
        return Err(format!("the pipeline has no {section} block"));
    };
    let at = sec.name.span;
    let Some(block) = sec.block.as_mut() else {
        return Err(format!("the pipeline has no {section} block"));
    };
    let known = schema::statements(section);
    if !known.contains(&stmt) || stmt == "repeat" {
        return Err(format!(
            "{section} has no statement \"{stmt}\"{}",
            did_you_mean(stmt, known.iter().copied())
        ));
    }
    if section == "model" && find(block, stmt).is_none() {
        return Err(format!("the model has no {stmt} layer"));
    }
    let sp = spec(section, stmt, find(block, stmt).and_then(kind_of))
        .ok_or_else(|| format!("{section}.{stmt} cannot be set"))?;
    let param = match parts.get(2) {
        Some(p) => *p,
        None => sp
            .positional
            .first()
            .copied()
            .ok_or_else(|| format!("{stmt} has no positional value; name a parameter"))?,
    };
    if !sp.accepts(param) {
        return Err(format!(
            "{stmt} has no parameter \"{param}\"{}",
            did_you_mean(param, sp.all())
        ));
    }
    set_command(block, section, stmt, param, value, at)
}

/// Replaces the named or positional argument `param` of the first `stmt`
/// in `block`, adding the argument (or the statement) when absent.
fn set_command(
    block: &mut Vec<Statement>,
    section: &str,
    stmt: &str,
    param: &str,
    mut value: Value,
    at: Span,
) -> std::result::Result<(), String> {
    let sp = spec(section, stmt, None).ok_or_else(|| format!("{stmt} cannot be set"))?;
    let Some(cmd) = find_mut(block, stmt) else {
        respan(&mut value, at);
        block.push(Statement::Command(Command {
            name: Ident {
                name: stmt.into(),
                span: at,
            },
            args: vec![arg(param, value, at)],
            block: None,
            span: at,
        }));
        return Ok(());
    };
    if let Some(a) = cmd
        .args
        .iter_mut()
        .find(|a| a.key.as_ref().is_some_and(|k| k.name == param))
    {
        respan(&mut value, a.value.span);
        a.value = value;
        return Ok(());
    }
    if let Some(i) = sp.positional.iter().position(|p| *p == param)
        && let Some(a) = cmd.args.iter_mut().filter(|a| a.key.is_none()).nth(i)
    {
        respan(&mut value, a.value.span);
        a.value = value;
        return Ok(());
    }
    let at = cmd.name.span;
    respan(&mut value, at);
    cmd.args.push(arg(param, value, at));
    Ok(())
}

fn arg(param: &str, value: Value, at: Span) -> Arg {
    Arg {
        key: Some(Ident {
            name: param.into(),
            span: at,
        }),
        value,
        span: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command<'a>(file: &'a File, section: &str, stmt: &str) -> &'a Command {
        let Some(Statement::Command(sec)) = file
            .statements
            .iter()
            .find(|s| matches!(s, Statement::Command(c) if c.name.name == section))
        else {
            panic!("no {section}");
        };
        find(sec.block.as_deref().unwrap_or(&[]), stmt).unwrap()
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.args
            .iter()
            .map(|a| {
                let key = a
                    .key
                    .as_ref()
                    .map_or(String::new(), |k| format!("{}=", k.name));
                let v = match &a.value.kind {
                    ValueKind::Expr(e) => format!("{:?}", e.kind),
                    ValueKind::Word(w) => w.clone(),
                    other => format!("{other:?}"),
                };
                format!("{key}{v}")
            })
            .collect()
    }

    /// (override, statement, its arguments afterwards)
    #[test]
    fn set_replaces_positional_named_or_adds() {
        let src = "let w = 1\ndata { split train=0.8 test=0.2 }\nmodel { dense 3; conv2d 4 }\ntrain { batch 32; optimizer adam lr=0.1 }";
        let table: &[(&str, (&str, &str), &[&str])] = &[
            ("train.batch=64", ("train", "batch"), &["Int(64)"]),
            (
                "train.batch.drop_last=true",
                ("train", "batch"),
                &["Int(32)", "drop_last=Bool(true)"],
            ),
            (
                "train.optimizer.lr=2",
                ("train", "optimizer"),
                &["adam", "lr=Int(2)"],
            ),
            (
                "train.optimizer=sgd",
                ("train", "optimizer"),
                &["sgd", "lr=Float(0.1)"],
            ),
            ("train.epochs=3", ("train", "epochs"), &["count=Int(3)"]),
            (
                "data.split.valid=0.1",
                ("data", "split"),
                &["train=Float(0.8)", "test=Float(0.2)", "valid=Float(0.1)"],
            ),
            (
                "model.conv2d.kernel=5",
                ("model", "conv2d"),
                &["Int(4)", "kernel=Int(5)"],
            ),
        ];
        for (o, (section, stmt), want) in table {
            let mut file = syntax::parse(src).unwrap();
            apply_overrides(&mut file, &[o.to_string()]).unwrap();
            assert_eq!(args(command(&file, section, stmt)), *want, "{o}");
        }
        for bad in [
            "model.maxpool.size=2",
            "train.optimizer.momentum=1",
            "evaluate.metrics=1",
            "x.y.z.w=1",
            "w2=3",
            "=3",
        ] {
            let mut file = syntax::parse(src).unwrap();
            let e = apply_overrides(&mut file, &[bad.to_string()]).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{bad}");
        }
    }
}

//! `--set NAME=VALUE`: overriding a `let` variable or a dotted path
//! (`train.optimizer.lr`, `train.batch` = its first positional) in the AST
//! before analysis, so an override is checked exactly like written text.
//! Sweeps reuse [`set`] for each trial.

use super::block::kind_of;
use super::layer_paths;
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
                "--set {name}: {why}{}",
                super::path_hints::hint(name, &why, &valid_targets(file))
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
            if section == "model" {
                continue;
            }
            let written = find(block, stmt);
            // An absent statement offers its default variant's parameters.
            let kind = match written {
                Some(c) => kind_of(c),
                None => schema::default_kind(section, stmt),
            };
            let Some(sp) = spec(section, stmt, kind) else {
                continue;
            };
            if !sp.positional.is_empty() {
                out.push(format!("{section}.{stmt}"));
            }
            for p in sp.all().filter(|p| *p != "kind") {
                let name = format!("{section}.{stmt}.{p}");
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        if section == "model" {
            // Layers by the names `dlp plan` shows (`dense_1`).
            for (name, i) in layer_paths::named(block).0 {
                let Some(Statement::Command(c)) = block.get(i) else {
                    continue;
                };
                let Some(sp) = spec(section, &c.name.name, kind_of(c)) else {
                    continue;
                };
                if !sp.positional.is_empty() {
                    out.push(format!("model.{name}"));
                }
                out.extend(sp.all().map(|p| format!("model.{name}.{p}")));
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

/// Where an override lands in the text of the pipeline it changes (for
/// `dlp sweep best`, which writes a trial's values into the file).
#[derive(Debug, Clone, PartialEq)]
pub enum Landing {
    /// The value written at this span is replaced.
    Replace(Span),
    /// ` KEY=VALUE` is added after this byte offset (a statement's end).
    Append { at: usize, key: String },
    /// A statement `STMT KEY=VALUE` is added to the section `section` (a
    /// top-level statement when empty).
    Statement {
        section: String,
        stmt: String,
        key: String,
    },
}

/// Sets `target` (a `let` name, `seed`, or a dotted path) to `value`.
/// The error says why the target is not valid.
pub fn set(file: &mut File, target: &str, value: Value) -> std::result::Result<(), String> {
    set_landing(file, target, value).map(|_| ())
}

/// [`set`], saying where the value lands in the source text.
pub fn set_landing(
    file: &mut File,
    target: &str,
    mut value: Value,
) -> std::result::Result<Landing, String> {
    let parts: Vec<&str> = target.split('.').collect();
    if parts.len() == 1 {
        if target == "seed" {
            return set_command(
                &mut file.statements,
                ("", "seed", None),
                "seed",
                value,
                Span::default(),
            );
        }
        for s in &mut file.statements {
            if let Statement::Let(l) = s
                && l.name.name == target
            {
                let at = l.value.span;
                respan(&mut value, at);
                l.value = value;
                return Ok(Landing::Replace(at));
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
    if section == "model" {
        return set_layer(block, stmt, parts.get(2).copied(), value);
    }
    let known = schema::statements(section);
    if !known.contains(&stmt) || stmt == "repeat" {
        return Err(format!(
            "{section} has no statement \"{stmt}\"{}",
            did_you_mean(stmt, known.iter().copied())
        ));
    }
    let written = find(block, stmt);
    let present = written.is_some();
    let sp = spec(section, stmt, written.and_then(kind_of))
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
        // A parameter of the variant the pipeline gets by default, whose
        // statement it leaves out: the statement is written with that
        // variant (`optimizer adam lr=0.01`).
        if let Some(kind) = schema::default_kind(section, stmt).filter(|_| !present)
            && spec(section, stmt, Some(kind)).is_some_and(|k| k.accepts(param))
        {
            return set_command(block, (section, stmt, Some(kind)), param, value, at);
        }
        return Err(no_parameter(stmt, param, &sp));
    }
    set_command(block, (section, stmt, None), param, value, at)
}

fn no_parameter(stmt: &str, param: &str, sp: &schema::Spec) -> String {
    let shown = || sp.all().filter(|p| *p != "kind");
    format!(
        "{stmt} has no parameter \"{param}\"{}",
        did_you_mean(param, shown())
    )
}

/// Sets `param` of the model layer `name` (a plan name such as `dense_1`,
/// or a statement name: the first such layer).
fn set_layer(
    block: &mut [Statement],
    name: &str,
    param: Option<&str>,
    value: Value,
) -> std::result::Result<Landing, String> {
    let i = layer_paths::locate(block, name)?;
    let Some(Statement::Command(cmd)) = block.get_mut(i) else {
        return Err(format!("the model has no layer {name}"));
    };
    let stmt = cmd.name.name.clone();
    let sp =
        spec("model", &stmt, kind_of(cmd)).ok_or_else(|| format!("model.{name} cannot be set"))?;
    let param =
        match param {
            Some(p) => p,
            None => sp.positional.first().copied().ok_or_else(|| {
                format!("{name} ({stmt}) has no positional value; name a parameter")
            })?,
        };
    if !sp.accepts(param) {
        return Err(no_parameter(name, param, &sp));
    }
    Ok(set_arg(cmd, sp.positional, param, value))
}

/// Replaces the named or positional argument `param` of the first `stmt`
/// in `block`, adding the argument (or the statement, of variant `kind`
/// when given) when absent.
fn set_command(
    block: &mut Vec<Statement>,
    (section, stmt, kind): (&str, &str, Option<&str>),
    param: &str,
    value: Value,
    at: Span,
) -> std::result::Result<Landing, String> {
    let sp = spec(section, stmt, None).ok_or_else(|| format!("{stmt} cannot be set"))?;
    let Some(cmd) = find_mut(block, stmt) else {
        let mut value = value;
        respan(&mut value, at);
        let mut cmd = match kind {
            Some(kind) => super::train::synthetic(stmt, kind, at),
            None => Command {
                name: Ident {
                    name: stmt.into(),
                    span: at,
                },
                args: Vec::new(),
                block: None,
                span: at,
            },
        };
        cmd.args.push(arg(param, value, at));
        block.push(Statement::Command(cmd));
        return Ok(Landing::Statement {
            section: section.to_string(),
            stmt: stmt.to_string(),
            key: param.to_string(),
        });
    };
    Ok(set_arg(cmd, sp.positional, param, value))
}

/// Replaces the named or positional argument `param` of `cmd`, adding it
/// when absent.
fn set_arg(cmd: &mut Command, positional: &[&str], param: &str, mut value: Value) -> Landing {
    if let Some(a) = cmd
        .args
        .iter_mut()
        .find(|a| a.key.as_ref().is_some_and(|k| k.name == param))
    {
        let at = a.value.span;
        respan(&mut value, at);
        a.value = value;
        return Landing::Replace(at);
    }
    if let Some(i) = positional.iter().position(|p| *p == param)
        && let Some(a) = cmd.args.iter_mut().filter(|a| a.key.is_none()).nth(i)
    {
        let at = a.value.span;
        respan(&mut value, at);
        a.value = value;
        return Landing::Replace(at);
    }
    let end = cmd
        .args
        .last()
        .map_or(cmd.name.span.end, |a| a.span.end.max(cmd.name.span.end));
    let at = cmd.name.span;
    respan(&mut value, at);
    cmd.args.push(arg(param, value, at));
    Landing::Append {
        at: end,
        key: param.to_string(),
    }
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

    /// A pipeline without an optimizer line trains with adam (Keras'
    /// default): `--set train.optimizer.lr` writes `optimizer adam lr=…`,
    /// and a parameter adam does not take is still refused.
    #[test]
    fn set_reaches_the_default_optimizer() {
        let src = "train { batch 32 }";
        let mut file = syntax::parse(src).unwrap();
        apply_overrides(&mut file, &["train.optimizer.lr=0.1".into()]).unwrap();
        assert_eq!(
            args(command(&file, "train", "optimizer")),
            ["adam", "lr=Float(0.1)"]
        );
        let mut file = syntax::parse(src).unwrap();
        let e = apply_overrides(&mut file, &["train.optimizer.momentum=0.9".into()]).unwrap_err();
        assert!(e.to_string().contains("no parameter \"momentum\""), "{e}");
    }
}

//! Model layers by the names `dlp plan` shows (`dense`, `dense_1`,
//! `max_pooling2d_1`), for `--set`, sweeps and their hints. The analyzer
//! names layers as Keras does ([`super::model::stem_of`]); here the same
//! names are given to the statements of the model block as written, so
//! `--set model.dense_1.units=8` reaches the second `dense`, and a name
//! that reaches nothing never points at another layer.
//!
//! A `repeat` block makes as many layers as its lists have values, which
//! is known only once they are evaluated: layers of a kind that a repeat
//! also makes are reached by the statement name (`model.dense`, the first)
//! up to the repeat, and not at all after it.

use super::model::stem_of;
use crate::syntax::{Command, Statement};
use std::collections::{BTreeMap, BTreeSet};

/// The top-level layer statements of a model block with their plan
/// names, in order, and the name stems made inside `repeat` blocks.
pub(crate) fn named(block: &[Statement]) -> (Vec<(String, usize)>, BTreeSet<&'static str>) {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut repeated: BTreeSet<&'static str> = BTreeSet::new();
    let mut out = Vec::new();
    for (i, s) in block.iter().enumerate() {
        let Statement::Command(c) = s else { continue };
        if c.block.is_some() {
            // repeat, add, concat, block: their layers are reached through
            // their lists or variables, not one by one.
            stems_in(c, &mut repeated);
            continue;
        }
        if !super::schema::statements("model").contains(&c.name.name.as_str()) {
            // A named block's use: its layers are the block's.
            continue;
        }
        let stem = stem_of(&c.name.name);
        let n = counts.entry(stem).or_insert(0);
        if !repeated.contains(stem) {
            out.push((
                if *n == 0 {
                    stem.to_string()
                } else {
                    format!("{stem}_{n}")
                },
                i,
            ));
        }
        *n += 1;
    }
    (out, repeated)
}

fn stems_in(repeat: &Command, out: &mut BTreeSet<&'static str>) {
    for s in repeat.block.as_deref().unwrap_or(&[]) {
        if let Statement::Command(c) = s {
            if c.block.is_some() {
                stems_in(c, out);
            } else {
                out.insert(stem_of(&c.name.name));
            }
        }
    }
}

/// The index in `block` of the layer statement `name` reaches: a layer
/// statement's name (`dense`, `maxpool`: the first of them) or a plan
/// name (`dense_1`, `max_pooling2d`). The error says why not.
pub(crate) fn locate(block: &[Statement], name: &str) -> Result<usize, String> {
    let first_of = block.iter().position(
        |s| matches!(s, Statement::Command(c) if c.name.name == name && c.name.name != "repeat"),
    );
    if let Some(i) = first_of {
        return Ok(i);
    }
    let (names, repeated) = named(block);
    if let Some((_, i)) = names.iter().find(|(n, _)| n == name) {
        return Ok(*i);
    }
    let stem = name
        .rsplit_once('_')
        .filter(|(_, n)| n.parse::<usize>().is_ok())
        .map_or(name, |(stem, _)| stem);
    if repeated.contains(stem) {
        return Err(format!(
            "the model's layer {name} is made by (or comes after) a repeat block, \
             whose layers --set cannot reach one by one; set the repeat's list or a `let` variable instead"
        ));
    }
    let shown: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    // A misspelt kind with the right number (`dnse_1`), never another
    // layer of the same kind (`dense_2` is not `dense_1`).
    let same_number = shown.iter().copied().filter(|s| suffix(s) == suffix(name));
    let hint = super::schema::suggest(name, same_number)
        .filter(|s| stem_of_name(s) != stem)
        .map(|s| format!(" — did you mean \"{s}\"?"))
        .unwrap_or_default();
    Err(format!(
        "the model has no layer {name}{hint} (its layers, as `dlp plan` names them: {})",
        shown.join(", ")
    ))
}

/// The number of a plan name (`dense_1` → `_1`, `dense` → ``).
fn suffix(name: &str) -> &str {
    &name[stem_of_name(name).len()..]
}

/// The stem of a plan name (`dense_1` → `dense`).
fn stem_of_name(name: &str) -> &str {
    name.rsplit_once('_')
        .filter(|(_, n)| n.parse::<usize>().is_ok())
        .map_or(name, |(stem, _)| stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax;

    fn model(src: &str) -> Vec<Statement> {
        let file = syntax::parse(src).unwrap();
        match &file.statements[0] {
            Statement::Command(c) => c.block.clone().unwrap(),
            _ => panic!(),
        }
    }

    #[test]
    fn plan_names_reach_their_own_statement() {
        let block = model(
            "model {\n  conv2d 8 kernel=3\n  maxpool\n  conv2d 16 kernel=3\n  maxpool\n  flatten\n  dense 32\n  dense 3\n}",
        );
        let names: Vec<(String, usize)> = named(&block).0;
        let want = [
            ("conv2d", 0),
            ("max_pooling2d", 1),
            ("conv2d_1", 2),
            ("max_pooling2d_1", 3),
            ("flatten", 4),
            ("dense", 5),
            ("dense_1", 6),
        ];
        assert_eq!(
            names,
            want.iter()
                .map(|(n, i)| (n.to_string(), *i))
                .collect::<Vec<_>>()
        );
        assert_eq!(locate(&block, "dense_1"), Ok(6));
        assert_eq!(locate(&block, "dense"), Ok(5));
        assert_eq!(locate(&block, "maxpool"), Ok(1));
        assert_eq!(locate(&block, "max_pooling2d_1"), Ok(3));
        assert_eq!(
            locate(&block, "dense_2"),
            Err("the model has no layer dense_2 (its layers, as `dlp plan` names them: conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, flatten, dense, dense_1)".into())
        );
    }

    #[test]
    fn layers_after_a_repeat_of_their_kind_are_not_guessed() {
        let block =
            model("model {\n  dense 4\n  repeat u=[8, 8] {\n    dense $u\n  }\n  dense 3\n}");
        assert_eq!(locate(&block, "dense"), Ok(0));
        let e = locate(&block, "dense_1").unwrap_err();
        assert!(e.contains("repeat block"), "{e}");
        assert_eq!(
            locate(&model("model {\n  flatten\n  dense 3\n  dense 2\n}"), "dnse_1"),
            Err("the model has no layer dnse_1 — did you mean \"dense_1\"? (its layers, as `dlp plan` names them: flatten, dense, dense_1)".into())
        );
    }
}

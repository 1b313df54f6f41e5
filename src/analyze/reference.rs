//! The language reference (`docs/language.md`), rendered from the schema
//! the analyzer, `dlp check` and the language server read ([`schema`]), so
//! the reference can never name a statement, parameter, default or choice
//! the analyzer does not have — the way ripgrep renders its man page from
//! its flag definitions. A test (`tests/it/frontend/reference.rs`) fails
//! when the checked-in file differs from [`markdown`]'s text, and rewrites
//! it when `DLP_BLESS=1` is set.
//!
//! Only the few forms the grammar defines rather than a statement's
//! parameters (`let`, `repeat`, the lines inside `expect` and `sweep`) are
//! spelled here.

use super::schema::{self, Spec};
use std::fmt::Write;

/// The command that rewrites `docs/language.md` from the schema.
pub const BLESS: &str = "DLP_BLESS=1 cargo test --release --test it frontend::reference";

/// The whole reference, as Markdown.
pub fn markdown() -> String {
    let mut out = String::new();
    intro(&mut out);
    top_level(&mut out);
    for section in schema::SECTIONS {
        block(&mut out, section);
    }
    out
}

fn intro(out: &mut String) {
    out.push_str("# The dlp language: reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from src/analyze/schema.rs by dlp::analyze::reference::markdown;\n     \
         do not edit. After a change to the schema, run:\n     {BLESS} -->\n"
    );
    out.push_str(
        "Every block and statement `dlp` accepts, with its parameters in the order\n\
         they bind. The README's *The language* section has the syntax and what the\n\
         statements compute; this page lists what each statement takes.\n\n\
         - A statement is its name, then its values, then `key=value` pairs.\n  \
         Positional parameters come first, in the order listed, and each also has\n  \
         a name (`dense 10` is `dense units=10`); keyword-only parameters are\n  \
         written `key=value` only.\n\
         - *default* is what leaving a parameter out means (`dlp plan` marks it\n  \
         `(default)`); a dash means the parameter is required, or that leaving it\n  \
         out turns off what it controls.\n\
         - *choices* are the words a parameter takes, where it takes words.\n\
         - A statement with variants (`source blobs`, `optimizer adam`) takes the\n  \
         parameters of its variant, named by its first value.\n\n",
    );
    out.push_str("Sections: [top level](#top-level)");
    for section in schema::SECTIONS {
        let _ = write!(out, ", [`{section}`](#{section})");
    }
    out.push_str(".\n");
}

fn top_level(out: &mut String) {
    out.push_str("\n## Top level\n\n");
    let blocks: Vec<String> = schema::SECTIONS.iter().map(|s| format!("`{s}`")).collect();
    let _ = writeln!(
        out,
        "A pipeline is a sequence of top-level statements (`seed`, `let`) and\n\
         blocks ({}), each block at most once.",
        blocks.join(", ")
    );
    for statement in schema::TOP_LEVEL {
        let _ = write!(out, "\n### `{statement}`\n\n");
        let _ = writeln!(out, "{}", schema::statement_doc("", statement));
        match schema::spec("", statement, None) {
            Some(spec) => parameters(out, "", statement, None, &spec),
            None => {
                let _ = write!(out, "\n{}\n", form(statement));
            }
        }
    }
}

/// One top-level block: what it holds, its head's parameters, then every
/// statement it accepts.
fn block(out: &mut String, section: &str) {
    let _ = write!(out, "\n## `{section}`\n\n");
    let _ = writeln!(out, "{}", schema::statement_doc("", section));
    let statements = schema::statements(section);
    if !statements.is_empty() {
        let list: Vec<String> = statements
            .iter()
            .map(|s| format!("[`{s}`](#{s})"))
            .collect();
        let _ = write!(out, "\nStatements: {}.\n", list.join(", "));
    }
    let body = form(section);
    if !body.is_empty() {
        let _ = write!(out, "\n{body}\n");
    }
    head(out, section);
    for statement in statements {
        let _ = write!(out, "\n### `{statement}`\n\n");
        let _ = writeln!(out, "{}", schema::statement_doc(section, statement));
        statement_parameters(out, section, statement);
    }
}

/// The parameters written on a block's head (`train seed=7 { … }`,
/// `sweep random trials=20 { … }`).
fn head(out: &mut String, section: &str) {
    let kinds = schema::kinds("", section);
    if kinds.is_empty() {
        if let Some(spec) = schema::spec("", section, None)
            && spec.all().next().is_some()
        {
            let _ = write!(out, "\nThe head, `{section} … {{ … }}`, takes:\n");
            parameters(out, "", section, None, &spec);
        }
        return;
    }
    for kind in kinds {
        let _ = write!(out, "\n### `{section} {kind}`\n");
        if let Some(spec) = schema::spec("", section, Some(kind)) {
            parameters(out, "", section, Some(kind), &spec);
        }
    }
}

/// A statement's parameters: one table, or one per variant.
fn statement_parameters(out: &mut String, section: &str, statement: &str) {
    let kinds = schema::kinds(section, statement);
    if kinds.is_empty() {
        match schema::spec(section, statement, None) {
            Some(spec) => parameters(out, section, statement, None, &spec),
            None => {
                let _ = write!(out, "\n{}\n", form(statement));
            }
        }
        return;
    }
    let list: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
    let _ = write!(out, "\nVariants: {}.\n", list.join(", "));
    for kind in kinds {
        let _ = write!(out, "\n#### `{statement} {kind}`\n");
        if let Some(spec) = schema::spec(section, statement, Some(kind)) {
            parameters(out, section, statement, Some(kind), &spec);
        }
    }
}

/// The usage line and the table of one statement (or variant).
fn parameters(out: &mut String, section: &str, statement: &str, kind: Option<&str>, spec: &Spec) {
    let _ = write!(out, "\n`{}`\n", usage(section, statement, kind, spec));
    let rows: Vec<(usize, &str)> = spec
        .all()
        .enumerate()
        .filter(|(_, key)| kind.is_none() || *key != "kind")
        .collect();
    if rows.is_empty() {
        out.push_str("\nNo parameters.\n");
        return;
    }
    out.push_str("\n| parameter | written | meaning | default | choices |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for (index, key) in rows {
        let written = if index < spec.positional.len() {
            format!("value {}", index + 1)
        } else {
            format!("`{key}=`")
        };
        let (meaning, default) = schema::param_doc(statement, key).unwrap_or(("", ""));
        let default = if default.is_empty() { "—" } else { default };
        let choices: Vec<String> = schema::choices(section, statement, key)
            .iter()
            .map(|c| format!("`{c}`"))
            .collect();
        let _ = writeln!(
            out,
            "| `{key}` | {written} | {} | {} | {} |",
            cell(meaning),
            cell(default),
            choices.join(", ")
        );
    }
    if let Some(words) = values(section, statement) {
        let words: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
        let _ = writeln!(
            out,
            "\nIts values are words, any number of them: {}.",
            words.join(", ")
        );
    }
}

/// `dense UNITS activation= l2=`: the statement, its variant word,
/// positional parameters as upper-case placeholders, then `key=`s.
fn usage(section: &str, statement: &str, kind: Option<&str>, spec: &Spec) -> String {
    let mut parts = vec![statement.to_string()];
    for key in spec.positional {
        match kind {
            Some(k) if *key == "kind" => parts.push(k.to_string()),
            _ => parts.push(key.to_uppercase()),
        }
    }
    if values(section, statement).is_some() {
        parts.push("WORD…".into());
    }
    parts.extend(spec.named.iter().map(|key| format!("{key}=")));
    if section.is_empty() && schema::SECTIONS.contains(&statement) {
        parts.push("{ … }".into());
    }
    parts.join(" ")
}

/// Statements whose values are a list of words beside their parameters.
fn values(section: &str, statement: &str) -> Option<&'static [&'static str]> {
    match (section, statement) {
        ("evaluate", "metrics") => Some(schema::METRICS),
        _ => None,
    }
}

/// The forms the grammar gives rather than a parameter list.
fn form(name: &str) -> &'static str {
    match name {
        "let" => {
            "`let NAME = VALUE`: any value a statement takes (a number, word, string\n\
             or list), or arithmetic on numbers and `$NAME`s (`+ - * /` and\n\
             parentheses; `/` divides as floats). Each name is defined once."
        }
        "repeat" => {
            "`repeat N { … }`: the block N times. `repeat NAME=[A, B, …] { … }`: the\n\
             block once per value, with `$NAME` bound to it; several lists of one\n\
             length step together. A model expands to at most 10,000 layers."
        }
        "block" => {
            "`block NAME PARAM PARAM=DEFAULT { … }`, directly inside `model`: a named\n\
             block of layers, used like a layer, `NAME VALUE PARAM=VALUE` (values in\n\
             order, then by name), with `$PARAM` bound inside. Defined anywhere in\n\
             the model; a block may use other blocks, not itself."
        }
        "add" | "concat" => {
            "`add { branch { … } branch { … } }`, `concat { … }`: two or more\n\
             branches, each a stack reading the merge's input (`branch {}` is the\n\
             input itself), merged: `add` sums them (one shape; Keras `Add`),\n\
             `concat` joins them along the channels or features (one height and\n\
             width; Keras `Concatenate(axis=-1)`, PyTorch `torch.cat(dim=1)`)."
        }
        "branch" => "`branch { … }`: one path of an `add` or `concat`, only inside them.",
        "expect" => {
            "Each line is `METRIC OP NUMBER`, with `OP` one of `>=`, `>`, `<=`, `<`,\n\
             `==`, and `METRIC` a final metric of the run (`test_accuracy`, `val_loss`, …)."
        }
        "sweep" => {
            "Each line is `PATH = [A, B, …]`, or in a random sweep also\n\
             `PATH = uniform(A, B)` or `PATH = loguniform(A, B)`; `PATH` is what\n\
             `--set` takes (`train.optimizer.lr`, `seed`, a `let` variable)."
        }
        _ => "",
    }
}

/// Text fit for a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

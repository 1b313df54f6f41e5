//! `docs/language.md` is the text `dlp::analyze::reference::markdown`
//! renders from the schema: a new statement, parameter, default or choice
//! fails here until the reference is regenerated. With `DLP_BLESS=1` the
//! test writes the file instead (as insta and trybuild bless snapshots).

use dlp::analyze::{reference, schema};
use std::io::Write;
use std::path::Path;

const FILE: &str = "docs/language.md";

#[test]
fn language_reference_is_generated_from_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    let generated = reference::markdown();
    if std::env::var_os("DLP_BLESS").is_some_and(|v| v == "1") {
        // Written to a temporary file beside it and renamed, so an
        // interrupted bless leaves the old reference whole.
        let dir = path.parent().expect("docs/ has a parent");
        std::fs::create_dir_all(dir).unwrap();
        let mut tmp = tempfile::NamedTempFile::new_in(dir).unwrap();
        tmp.write_all(generated.as_bytes()).unwrap();
        tmp.persist(&path).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let line = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()));
        panic!(
            "{FILE} is not the reference the schema (src/analyze/schema.rs) gives: \
             first difference at line {}:\n  checked in: {:?}\n  generated:  {:?}\n\
             Regenerate it with:\n  {}",
            line + 1,
            checked_in.lines().nth(line).unwrap_or("(end of file)"),
            generated.lines().nth(line).unwrap_or("(end of file)"),
            reference::BLESS
        );
    }
}

/// Every section, statement and parameter of the schema has its place in
/// the reference, and the values shown are the schema's own.
#[test]
fn language_reference_lists_every_statement_and_parameter() {
    let text = reference::markdown();
    for section in schema::SECTIONS {
        assert!(
            text.contains(&format!("\n## `{section}`\n")),
            "no heading for {section}"
        );
        for statement in schema::statements(section) {
            assert!(
                text.contains(&format!("\n### `{statement}`\n")),
                "no heading for {section}.{statement}"
            );
        }
    }
    assert!(text.contains("\n#### `optimizer adamw`\n"));
    // One row, read back cell by cell: `conv2d`'s padding.
    let conv = text
        .split("\n### `conv2d`\n")
        .nth(1)
        .and_then(|t| t.split("\n### ").next())
        .unwrap();
    assert!(conv.contains("`conv2d FILTERS kernel= stride= padding= activation= l2= use_bias=`"));
    let (meaning, default) = schema::param_doc("conv2d", "padding").unwrap();
    assert!(
        conv.contains(&format!(
            "| `padding` | `padding=` | {meaning} | {default} | `same`, `valid` |"
        )),
        "{conv}"
    );
    assert!(conv.contains("| `filters` | value 1 | output channels | — |  |"));
}

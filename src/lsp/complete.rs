//! Completion. Read from the text before the cursor, not the tree: while a
//! statement is being typed the file rarely parses. Names come from the
//! analyzer's schema: statements by section, `key=` names per statement
//! (and variant), the words a key takes, `let` and `repeat` variables.

use super::Doc;
use crate::analyze::{TEST_METRICS, TRAIN_METRICS, VAL_METRICS, schema};
use crate::syntax::Span;
use lsp_types::{CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, TextEdit};

/// Where the cursor stands.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Context {
    /// The heads of the enclosing blocks, outermost first (`["model",
    /// "repeat filters=[8, 16]"]`).
    pub blocks: Vec<String>,
    /// The words of the statement before the cursor, the one being typed
    /// last (empty right after a space).
    pub words: Vec<String>,
    /// Where the word being typed starts.
    pub word_start: usize,
    /// In a comment or a string: nothing to complete.
    pub quiet: bool,
}

/// Reads the text before `at`.
pub(crate) fn context(text: &str, at: usize) -> Context {
    let at = (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &text[..at];
    let mut blocks: Vec<String> = Vec::new();
    let mut stmt_start = 0;
    let (mut in_string, mut escaped, mut in_comment) = (false, false, false);
    let mut nesting = 0usize; // [ and ( : newlines inside do not end a statement
    for (i, c) in before.char_indices() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                if nesting == 0 {
                    stmt_start = i + 1;
                }
            }
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') | (false, '\n') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => in_comment = true,
            '[' | '(' => nesting += 1,
            ']' | ')' => nesting = nesting.saturating_sub(1),
            '{' => {
                blocks.push(before[stmt_start..i].trim().to_string());
                stmt_start = i + 1;
                nesting = 0;
            }
            '}' => {
                blocks.pop();
                stmt_start = i + 1;
                nesting = 0;
            }
            ';' => stmt_start = i + 1,
            '\n' if nesting == 0 => stmt_start = i + 1,
            _ => {}
        }
    }
    let current = &before[stmt_start..];
    let mut words: Vec<String> = current.split_whitespace().map(str::to_string).collect();
    let typing = !current.is_empty() && !current.ends_with(char::is_whitespace);
    let word_start = if typing {
        before.len() - words.last().map_or(0, String::len)
    } else {
        words.push(String::new());
        before.len()
    };
    Context {
        blocks,
        words,
        word_start,
        quiet: in_string || in_comment,
    }
}

/// Completion items at byte `at` of the document.
pub(crate) fn complete(doc: &Doc, at: usize) -> Vec<CompletionItem> {
    let cx = context(&doc.text, at);
    if cx.quiet {
        return Vec::new();
    }
    let section = cx
        .blocks
        .first()
        .and_then(|h| h.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let typed = cx.words.last().cloned().unwrap_or_default();
    let replace = |from: usize| Span::new(from, at);
    let mut out = Items {
        doc,
        items: Vec::new(),
    };

    // `$…`: the variables in scope.
    if let Some(dollar) = typed.rfind('$') {
        let range = replace(cx.word_start + dollar);
        for (name, what) in variables(&doc.text, &cx.blocks) {
            out.push(
                &format!("${name}"),
                CompletionItemKind::VARIABLE,
                &what,
                range,
            );
        }
        return out.items;
    }

    // The statement's name.
    if cx.words.len() == 1 {
        let range = replace(cx.word_start);
        let names: Vec<&str> = match section.as_str() {
            "" => schema::SECTIONS
                .iter()
                .chain(schema::TOP_LEVEL)
                .copied()
                .collect(),
            "expect" => {
                for m in metric_names() {
                    out.push(&m, CompletionItemKind::FIELD, "a final metric", range);
                }
                return out.items;
            }
            "sweep" => {
                for (name, what) in variables(&doc.text, &[]) {
                    out.push(&name, CompletionItemKind::VARIABLE, &what, range);
                }
                for path in sweep_paths(&doc.text, at) {
                    let what = match path.split('.').collect::<Vec<_>>()[..] {
                        [_, stmt, param] => schema::param_doc(stmt, param).map_or("", |d| d.0),
                        [section, stmt] => schema::statement_doc(section, stmt),
                        _ => "",
                    };
                    out.push(&path, CompletionItemKind::FIELD, what, range);
                }
                return out.items;
            }
            s => schema::statements(s).to_vec(),
        };
        for n in names {
            let doc = schema::statement_doc(&section, n);
            let kind = if section.is_empty() {
                CompletionItemKind::MODULE
            } else {
                CompletionItemKind::KEYWORD
            };
            out.push(n, kind, doc, range);
        }
        return out.items;
    }

    // A value or a `key=`.
    let stmt = cx.words[0].as_str();
    // At the top level the statement is a section head (`train seed=…`).
    let (spec_section, spec_stmt) = (section.as_str(), stmt);
    let variant = cx.words[1..cx.words.len() - 1]
        .iter()
        .find(|w| !w.contains('='))
        .map(String::as_str);
    let Some(spec) = schema::spec(spec_section, spec_stmt, variant) else {
        return out.items;
    };
    if let Some((key, _)) = typed.split_once('=') {
        let range = replace(cx.word_start + key.len() + 1);
        value_items(&mut out, spec_section, spec_stmt, key, range);
        return out.items;
    }
    let range = replace(cx.word_start);
    let given: Vec<&str> = cx.words[1..cx.words.len() - 1]
        .iter()
        .filter_map(|w| w.split_once('=').map(|(k, _)| k))
        .collect();
    let positional = cx.words[1..cx.words.len() - 1]
        .iter()
        .filter(|w| !w.contains('='))
        .count();
    if let Some(next) = spec.positional.get(positional) {
        value_items(&mut out, spec_section, spec_stmt, next, range);
    }
    for (i, key) in spec.all().enumerate() {
        let is_given = given.contains(&key) || (i < spec.positional.len() && i < positional);
        if key == "kind" || is_given || stmt == "repeat" {
            continue;
        }
        let doc = schema::param_doc(stmt, key)
            .map(|(m, d)| {
                if d.is_empty() {
                    m.to_string()
                } else {
                    format!("{m} (default: {d})")
                }
            })
            .unwrap_or_default();
        out.push(
            &format!("{key}="),
            CompletionItemKind::PROPERTY,
            &doc,
            range,
        );
    }
    out.items
}

/// The words `key` takes, the metric names for monitors.
fn value_items(out: &mut Items, section: &str, stmt: &str, key: &str, range: Span) {
    for w in schema::choices(section, stmt, key) {
        out.push(w, CompletionItemKind::ENUM_MEMBER, key, range);
    }
    if key == "monitor" {
        for m in metric_names()
            .into_iter()
            .filter(|m| !m.starts_with("test_"))
        {
            out.push(&m, CompletionItemKind::FIELD, "a per-epoch metric", range);
        }
    }
}

/// Every metric name a run can write.
fn metric_names() -> Vec<String> {
    let mut names: Vec<String> = TRAIN_METRICS.iter().map(|m| m.to_string()).collect();
    names.extend(VAL_METRICS.iter().map(|m| format!("val_{m}")));
    names.extend(TEST_METRICS.iter().map(|m| format!("test_{m}")));
    names
}

/// What a sweep (and `--set`) can vary in this file besides its
/// variables: `seed` and the dotted paths (`train.optimizer.lr`,
/// `model.dense.units`), read from the text without the line being typed,
/// which rarely parses yet.
fn sweep_paths(text: &str, at: usize) -> Vec<String> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let rest = format!("{}{}", &text[..start], &text[end..]);
    match crate::syntax::parse(&rest) {
        Ok(file) => crate::analyze::valid_targets(&file)
            .into_iter()
            .filter(|p| p.contains('.') || p == "seed")
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The `let` variables of the text and the `repeat` bindings of the
/// enclosing blocks, each with what it is bound to.
fn variables(text: &str, blocks: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("let ") else {
            continue;
        };
        if let Some((name, value)) = rest.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !out.iter().any(|(n, _): &(String, String)| n == name) {
                let value = value.split('#').next().unwrap_or("").trim();
                out.push((name.to_string(), format!("let {name} = {value}")));
            }
        }
    }
    for head in blocks {
        let Some(rest) = head.strip_prefix("repeat") else {
            continue;
        };
        for part in rest.split(']') {
            if let Some((name, list)) = part.split_once("=[") {
                let name = name.trim_start_matches([',', ' ']).trim();
                if !name.is_empty() {
                    out.push((name.to_string(), format!("repeat {name}=[{list}]")));
                }
            }
        }
    }
    out
}

struct Items<'d> {
    doc: &'d Doc,
    items: Vec<CompletionItem>,
}

impl Items<'_> {
    fn push(&mut self, label: &str, kind: CompletionItemKind, detail: &str, range: Span) {
        if self.items.iter().any(|i| i.label == label) {
            return;
        }
        self.items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            documentation: (!detail.is_empty()).then(|| Documentation::String(detail.to_string())),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: self.doc.index.range(range),
                new_text: label.to_string(),
            })),
            ..CompletionItem::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_reads_blocks_and_words() {
        let text = "model {\n  repeat n=[1, 2] {\n    dense $n act";
        let cx = context(text, text.len());
        assert_eq!(cx.blocks, vec!["model", "repeat n=[1, 2]"]);
        assert_eq!(cx.words, vec!["dense", "$n", "act"]);
        assert_eq!(cx.word_start, text.len() - 3);
        let cx = context("train { loss mse; optimizer ", 28);
        assert_eq!(cx.words, vec!["optimizer", ""]);
        assert!(context("x \"a b", 6).quiet);
        assert!(context("# model {", 9).quiet);
        assert!(context("model { } # x\n", 15).blocks.is_empty());
    }
}

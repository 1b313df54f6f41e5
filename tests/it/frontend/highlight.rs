//! The VS Code extension's TextMate grammar against `grammar/dlp.pest`:
//! every token rule of the pest grammar has a scope, every literal of the
//! grammar is matched, and a line of each token class gets its scope when
//! tokenized the way TextMate does (earliest match first, then rule order).

use fancy_regex::Regex;
use serde_json::Value;

const TM: &str = include_str!("../../../editors/vscode/syntaxes/dlp.tmLanguage.json");
const PEST: &str = include_str!("../../../grammar/dlp.pest");

/// The pest rules a reader sees as tokens, and the repository entry that
/// colours each. Structure-only rules (a statement, a value) map to "".
const RULES: &[(&str, &str)] = &[
    ("WHITESPACE", ""),
    ("COMMENT", "comment"),
    ("file", ""),
    ("sep", "punctuation"),
    ("block", "punctuation"),
    ("statement", ""),
    ("let_stmt", "let"),
    ("kw_let", "let"),
    ("compare_stmt", "comparison"),
    ("assign_stmt", "assignment"),
    ("command", "statement"),
    ("kwarg", "kwarg"),
    ("value", ""),
    ("tight_expr", "operator"),
    ("operand", ""),
    ("paren", "punctuation"),
    ("loose_value", ""),
    ("loose_expr", "operator"),
    ("list", "punctuation"),
    ("call", "call"),
    ("call_args", "punctuation"),
    ("op", "operator"),
    ("cmp_op", "comparison"),
    ("number", "number"),
    ("var", "var"),
    ("boolean", "boolean"),
    ("path", "path"),
    ("word", "word"),
    ("ident", "word"),
    ("string", "string"),
    ("string_inner", "string"),
    ("ident_raw", ""),
    ("ident_char", ""),
    ("override_value", ""),
];

fn grammar() -> Value {
    serde_json::from_str(TM).unwrap_or_default()
}

/// Every rule name defined in the pest grammar.
fn pest_rules() -> Vec<String> {
    PEST.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter_map(|l| {
            let (name, rest) = l.split_once('=')?;
            let name = name.trim();
            (rest.trim_start().starts_with(['{', '_', '@', '$', '!'])
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.is_empty())
            .then(|| name.to_string())
        })
        .collect()
}

/// Every double-quoted literal of the pest grammar.
fn pest_literals() -> Vec<String> {
    let mut out = Vec::new();
    for line in PEST.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            // `"\""` and `"\\"`: escaped quote or backslash.
            let (lit, used) = if let Some(r) = after.strip_prefix("\\\"\"") {
                ("\"".to_string(), after.len() - r.len())
            } else if let Some(r) = after.strip_prefix("\\\\\"") {
                ("\\".to_string(), after.len() - r.len())
            } else {
                match after.find('"') {
                    Some(end) => (after[..end].to_string(), end + 1),
                    None => break,
                }
            };
            out.push(lit);
            rest = &after[used..];
        }
    }
    out
}

/// A pattern of the grammar, flattened: (regex, scope of the whole match,
/// scopes of captures, end regex for begin/end patterns).
struct Pattern {
    re: Regex,
    name: String,
    captures: Vec<(usize, String)>,
    end: Option<Regex>,
    /// Patterns inside a begin/end pair (a string's escapes).
    inner: Vec<Regex>,
}

fn patterns(g: &Value, list: &Value, out: &mut Vec<Pattern>) {
    for p in list.as_array().into_iter().flatten() {
        if let Some(inc) = p["include"].as_str() {
            let key = inc.trim_start_matches('#');
            let entry = &g["repository"][key];
            if entry["patterns"].is_array() && entry["match"].is_null() && entry["begin"].is_null()
            {
                patterns(g, &entry["patterns"], out);
            } else {
                patterns(g, &Value::Array(vec![entry.clone()]), out);
            }
            continue;
        }
        let re = p["match"].as_str().or(p["begin"].as_str()).unwrap_or("");
        let captures = p["captures"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v["name"].as_str()?.to_string())))
            .collect();
        out.push(Pattern {
            re: Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}")),
            name: p["name"].as_str().unwrap_or("").to_string(),
            captures,
            end: p["end"]
                .as_str()
                .map(|e| Regex::new(e).unwrap_or_else(|x| panic!("{e}: {x}"))),
            inner: p["patterns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| Regex::new(i["match"].as_str()?).ok())
                .collect(),
        });
    }
}

/// Tokenizes one line: (text, scope) of each coloured piece.
fn tokenize(line: &str) -> Vec<(String, String)> {
    let g = grammar();
    let mut ps = Vec::new();
    patterns(&g, &g["patterns"], &mut ps);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < line.len() {
        let best = ps
            .iter()
            .filter_map(|p| {
                let m = p.re.captures_from_pos(line, pos).ok()??;
                let whole = m.get(0)?;
                Some((whole.start(), p, m))
            })
            .filter(|(_, _, m)| m.get(0).is_some_and(|w| w.end() > w.start()))
            .min_by_key(|(start, _, _)| *start);
        let Some((_, p, m)) = best else { break };
        let Some(whole) = m.get(0) else { break };
        let mut end = whole.end();
        if let Some(e) = &p.end {
            // Inner patterns first where they match before the end.
            loop {
                let close = e.find_from_pos(line, end).ok().flatten();
                let skip = p
                    .inner
                    .iter()
                    .filter_map(|r| r.find_from_pos(line, end).ok().flatten())
                    .min_by_key(|m| m.start());
                match (close, skip) {
                    (Some(c), Some(s))
                        if s.start() < c.start()
                            || (s.start() == c.start() && s.end() > c.end()) =>
                    {
                        end = s.end()
                    }
                    (Some(c), _) => {
                        end = c.end();
                        break;
                    }
                    (None, _) => {
                        end = line.len();
                        break;
                    }
                }
            }
            out.push((line[whole.start()..end].to_string(), p.name.clone()));
        } else if p.captures.is_empty() {
            out.push((whole.as_str().to_string(), p.name.clone()));
        } else {
            for (i, scope) in &p.captures {
                if let Some(c) = m.get(*i) {
                    out.push((c.as_str().to_string(), scope.clone()));
                }
            }
        }
        pos = end.max(pos + 1);
    }
    out
}

#[test]
fn every_pest_rule_has_a_scope() {
    let g = grammar();
    let repo = g["repository"].as_object().cloned().unwrap_or_default();
    for rule in pest_rules() {
        let Some((_, key)) = RULES.iter().find(|(r, _)| *r == rule) else {
            panic!("grammar/dlp.pest rule {rule} has no entry in RULES: which scope colours it?");
        };
        assert!(
            key.is_empty() || repo.contains_key(*key),
            "{rule} → {key}: not in the TextMate repository"
        );
    }
    assert!(pest_rules().len() >= 30);
}

#[test]
fn every_pest_literal_is_matched() {
    let g = grammar();
    let mut ps = Vec::new();
    patterns(&g, &g["patterns"], &mut ps);
    // Characters that only occur inside a token (a number's point and
    // exponent, a word's `:0`, a path's dots, a string's escapes).
    // Spaces are not coloured.
    let inner = [".", ":", "e", "E", "\\", " ", r"\t"];
    let literals = pest_literals();
    assert!(literals.iter().any(|l| l == "let") && literals.iter().any(|l| l == ">="));
    for lit in literals.iter().filter(|l| !inner.contains(&l.as_str())) {
        // Alone, or as the start of a token (`$` of `$x`, `#` of a comment).
        let hit = [format!(" {lit} "), format!(" {lit}x ")]
            .iter()
            .any(|text| {
                ps.iter().any(|p| {
                    p.re.find(text)
                        .ok()
                        .flatten()
                        .is_some_and(|m| m.start() <= 1 && m.end() > lit.len())
                })
            });
        assert!(
            hit,
            "the pest literal {lit:?} is matched by no TextMate pattern"
        );
    }
}

#[test]
fn each_token_class_gets_its_scope() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "let width = 32 # w",
            &[
                ("let", "storage.type.let.dlp"),
                ("width", "variable.other.definition.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("32", "constant.numeric.dlp"),
                ("# w", "comment.line.number-sign.dlp"),
            ],
        ),
        (
            "model {",
            &[
                ("model", "keyword.control.section.dlp"),
                ("{", "punctuation.section.block.dlp"),
            ],
        ),
        (
            "  conv2d $w*2 kernel=3 padding=same; relu",
            &[
                ("conv2d", "entity.name.function.statement.dlp"),
                ("$w", "variable.other.dlp"),
                ("*", "keyword.operator.arithmetic.dlp"),
                ("2", "constant.numeric.dlp"),
                ("kernel", "variable.parameter.key.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("3", "constant.numeric.dlp"),
                ("padding", "variable.parameter.key.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("same", "constant.other.word.dlp"),
                (";", "punctuation.terminator.statement.dlp"),
                ("relu", "entity.name.function.statement.dlp"),
            ],
        ),
        (
            "  source csv \"a\\\"b.csv\" label=y",
            &[
                ("source", "entity.name.function.statement.dlp"),
                ("csv", "constant.other.word.dlp"),
                ("\"a\\\"b.csv\"", "string.quoted.double.dlp"),
                ("label", "variable.parameter.key.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("y", "constant.other.word.dlp"),
            ],
        ),
        (
            "  train.optimizer.lr = loguniform(1e-4, 1e-2)",
            &[
                ("train.optimizer.lr", "variable.other.property.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("loguniform", "support.function.dlp"),
                ("(", "punctuation.section.parens.dlp"),
                ("1e-4", "constant.numeric.dlp"),
                (",", "punctuation.separator.comma.dlp"),
                ("1e-2", "constant.numeric.dlp"),
                (")", "punctuation.section.parens.dlp"),
            ],
        ),
        (
            "expect { test_accuracy >= 0.8 }",
            &[
                ("expect", "keyword.control.section.dlp"),
                ("{", "punctuation.section.block.dlp"),
                ("test_accuracy", "entity.name.function.statement.dlp"),
                (">=", "keyword.operator.comparison.dlp"),
                ("0.8", "constant.numeric.dlp"),
                ("}", "punctuation.section.block.dlp"),
            ],
        ),
        (
            "  device cuda:0; early_stop restore_best=true x=[1, -2]",
            &[
                ("device", "entity.name.function.statement.dlp"),
                ("cuda:0", "constant.other.word.dlp"),
                (";", "punctuation.terminator.statement.dlp"),
                ("early_stop", "entity.name.function.statement.dlp"),
                ("restore_best", "variable.parameter.key.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("true", "constant.language.boolean.dlp"),
                ("x", "variable.parameter.key.dlp"),
                ("=", "keyword.operator.assignment.dlp"),
                ("[", "punctuation.section.brackets.dlp"),
                ("1", "constant.numeric.dlp"),
                (",", "punctuation.separator.comma.dlp"),
                ("-2", "constant.numeric.dlp"),
                ("]", "punctuation.section.brackets.dlp"),
            ],
        ),
    ];
    for (line, want) in cases {
        let got = tokenize(line);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want, "{line}");
    }
}

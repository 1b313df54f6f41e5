//! The crate's floor plan: every top-level module has a floor, and code
//! may only use the modules on floors below its own (`crate::…` paths
//! outside comments and `#[cfg(test)]` items). Rooms on one floor do not
//! use each other either, so no import cycle can form between top-level
//! modules. A new module must be given its floor here; CONTRIBUTING.md
//! shows the same table.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom first. A module may use any module on a lower floor.
const FLOORS: &[&[&str]] = &[
    &["alloc", "fault", "rng", "metrics", "syntax"],
    &["diagnostics"],
    &["error"],
    &["plan", "lockfile", "file_format"],
    &["data", "ops", "records"],
    &["nn", "optim", "analyze", "terminal", "report", "diff"],
    &["fmt", "track"],
    &["run", "lsp"],
    &["sweeps", "export"],
    &["cli"],
    &["commands"],
];

fn floor_of() -> BTreeMap<&'static str, usize> {
    FLOORS
        .iter()
        .enumerate()
        .flat_map(|(i, rooms)| rooms.iter().map(move |r| (*r, i)))
        .collect()
}

/// One import that does not go down: the file, its line, the module the
/// file belongs to and the module it uses.
#[derive(Debug, PartialEq)]
struct Climb {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The text of `source` without comments and without the items marked
/// `#[cfg(test)]` (test code may use anything), lines kept in place.
fn production_code(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut skip_depth: Option<i32> = None;
    let mut pending_test_attr = false;
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        if let Some(depth) = skip_depth.as_mut() {
            *depth += brace_balance(code);
            out.push('\n');
            if *depth <= 0 && (code.contains('}') || code.contains(';')) {
                skip_depth = None;
            }
            continue;
        }
        if code.trim_start().starts_with("#[cfg(test)]") {
            pending_test_attr = true;
            out.push('\n');
            continue;
        }
        if pending_test_attr && !code.trim().is_empty() && !code.trim_start().starts_with("#[") {
            pending_test_attr = false;
            let depth = brace_balance(code);
            if depth > 0 {
                skip_depth = Some(depth);
            }
            out.push('\n');
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn brace_balance(code: &str) -> i32 {
    code.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// The top-level modules a line of code names through `crate::`, including
/// the groups of `use crate::{a, b::c}`.
fn used_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `dlp_crate::` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

/// Every import of `files` (path relative to `src/`, text) that climbs.
fn climbs(files: &[(String, String)]) -> Result<Vec<Climb>, String> {
    let floors = floor_of();
    let mut out = Vec::new();
    for (file, text) in files {
        let from = file
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        if from == "lib" || from == "main" {
            continue;
        }
        let Some(&own) = floors.get(from.as_str()) else {
            return Err(format!(
                "src/{file}: module `{from}` has no floor in tests/it/floor_plan.rs"
            ));
        };
        for (i, line) in production_code(text).lines().enumerate() {
            for to in used_modules(line) {
                if to == from {
                    continue;
                }
                let Some(&theirs) = floors.get(to.as_str()) else {
                    return Err(format!(
                        "src/{file}:{}: `crate::{to}` is not a module with a floor",
                        i + 1
                    ));
                };
                if theirs >= own {
                    out.push(Climb {
                        file: file.clone(),
                        line: i + 1,
                        from: from.clone(),
                        to,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_module_uses_one_on_its_own_floor_or_above() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 100, "read {} files", files.len());
    let climbs = climbs(&files).unwrap_or_else(|e| panic!("{e}"));
    let listed: Vec<String> = climbs
        .iter()
        .map(|c| format!("src/{}:{}: {} uses {}", c.file, c.line, c.from, c.to))
        .collect();
    assert!(
        listed.is_empty(),
        "imports that climb the floor plan:\n{}",
        listed.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_floor() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let floors = floor_of();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().split("mod ").nth(1))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    assert!(declared.len() >= floors.len(), "{declared:?}");
    for m in &declared {
        assert!(
            floors.contains_key(m),
            "src/lib.rs declares `{m}`, which has no floor"
        );
    }
}

#[test]
fn a_planted_upward_import_is_caught_with_its_line() {
    let files = vec![
        (
            "error.rs".to_string(),
            "//! Errors.\n// crate::run in a comment is fine\nuse crate::diagnostics::Report;\nuse crate::run::Outcome;\n"
                .to_string(),
        ),
        (
            "nn/model.rs".to_string(),
            "use crate::{plan::Shape, optim};\n#[cfg(test)]\nmod tests {\n    use crate::commands;\n}\nfn f() { crate::ops::relu(); }\n"
                .to_string(),
        ),
    ];
    let found = climbs(&files).unwrap();
    assert_eq!(
        found,
        vec![
            Climb {
                file: "error.rs".into(),
                line: 4,
                from: "error".into(),
                to: "run".into()
            },
            Climb {
                file: "nn/model.rs".into(),
                line: 1,
                from: "nn".into(),
                to: "optim".into()
            },
        ]
    );
    let unplaced = vec![("newroom/mod.rs".to_string(), String::new())];
    assert_eq!(
        climbs(&unplaced).unwrap_err(),
        "src/newroom/mod.rs: module `newroom` has no floor in tests/it/floor_plan.rs"
    );
}

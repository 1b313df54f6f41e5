//! `dlp fmt`: one canonical layout for `.dlp` files, printed from the
//! syntax tree, with the comments and blank-line paragraphs of the source.
//!
//! The layout:
//! - two spaces of indentation per block; one statement per line (`;`
//!   separators become line ends), except that a block written on one line
//!   (`{` and `}` on the same line, no comment inside) stays on one line,
//!   its statements joined by `; `, while it fits in [`WIDTH`] columns;
//! - one space between a statement's values, `key=value` without spaces
//!   (the grammar's rule), spaces around `=` in `let` and sweep assignments,
//!   around comparison operators, and around arithmetic operators where the
//!   grammar allows spaces (after `=` in `let`/sweep/expect, inside lists,
//!   calls and parentheses); in a statement's values arithmetic stays tight
//!   (`$width*2`);
//! - parentheses only where precedence needs them; lists and calls on one
//!   line as `[a, b]` and `f(a, b)`, no trailing comma;
//! - numbers, strings, words and paths exactly as written (`1e-4` stays);
//! - `let`s are not aligned: aligning makes one new long name re-indent
//!   every other line of a diff;
//! - a comment stays where it was: on its own line at the indentation of
//!   the statement it precedes (or of the block it closes), or after the
//!   statement it followed on the same line, one space before `#`;
//! - blank lines between statements are kept, runs of them become one, and
//!   none stay at the start or end of a block or the file; line ends are
//!   `\n`, and the file ends with one.
//!
//! A value holding a comment (a list written over several lines with a
//! comment between items) keeps its statement's text as written.
//!
//! Formatting refuses input that does not parse (the parse error), and
//! checks its own output: it must parse to the same tree, spans aside,
//! or nothing is returned.

use crate::analyze::Diagnostic;
use crate::syntax::{self, BinOp, Command, CompareOp, Expr, ExprKind, Span, Statement, Value};
use crate::syntax::{File, ValueKind};

/// The column a one-line block must fit in.
pub(crate) const WIDTH: usize = 100;

/// Formats a whole pipeline. The error is the parse error (or, were the
/// formatter ever to change the tree, a diagnostic saying so at 1:1).
pub fn format(source: &str) -> Result<String, Box<Diagnostic>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let file = syntax::parse(source).map_err(|e| Box::new(Diagnostic::syntax(&e, source)))?;
    let mut p = Printer {
        src: source,
        comments: comments(source),
        next: 0,
        out: String::new(),
    };
    p.block(&file.statements, 0, source.len());
    let mut out = p.out.trim_end().to_string();
    out.push('\n');
    if out == "\n" {
        out.clear();
    }
    // The formatter's own check: same tree, spans aside.
    let same = syntax::parse(&out).is_ok_and(|f| strip(f) == strip(file));
    if !same {
        return Err(Box::new(
            Diagnostic::error(
                crate::analyze::Kind::Syntax,
                Span::default(),
                "dlp fmt would change what this pipeline means; it is left as is \
                 (please report this file)",
            )
            .locate(source),
        ));
    }
    Ok(out)
}

/// A `#` comment: from `#` to the end of its line.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    end: usize,
}

/// Every comment of a source that parses: a `#` outside a string.
fn comments(src: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '#' {
                let text = line[i..].trim_end();
                out.push(Comment {
                    start: offset + i,
                    end: offset + i + text.len(),
                });
                break;
            }
        }
        offset += line.len();
    }
    out
}

struct Printer<'s> {
    src: &'s str,
    comments: Vec<Comment>,
    /// The first comment not printed yet.
    next: usize,
    out: String,
}

impl Printer<'_> {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn text(&self, span: Span) -> &str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// Whether the source between `a` and `b` holds a blank line.
    fn blank_between(&self, a: usize, b: usize) -> bool {
        self.src
            .get(a.min(b)..b)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    fn same_line(&self, a: usize, b: usize) -> bool {
        self.src
            .get(a.min(b)..b.max(a))
            .is_some_and(|gap| !gap.contains('\n'))
    }

    /// The comment that follows `at` on its line, if any, printed after
    /// a space.
    fn trailing(&mut self, at: usize) {
        if let Some(c) = self.comments.get(self.next).cloned()
            && c.start >= at
            && self.same_line(at, c.start)
        {
            self.out.push(' ');
            self.out.push_str(&self.src[c.start..c.end]);
            self.next += 1;
        }
    }

    /// Comments on lines of their own before `before`, each at `depth`;
    /// `last` is where the previous item ended (for blank lines). Returns
    /// where the last comment ended.
    fn leading(&mut self, before: usize, depth: usize, mut last: usize, first: bool) -> usize {
        let mut first = first;
        while let Some(c) = self.comments.get(self.next).cloned()
            && c.start < before
        {
            if !first && self.blank_between(last, c.start) {
                self.out.push('\n');
            }
            self.indent(depth);
            self.out.push_str(&self.src[c.start..c.end]);
            self.out.push('\n');
            self.next += 1;
            last = c.end;
            first = false;
        }
        last
    }

    /// The statements of a block (or the file) at `depth`; `end` is where
    /// the block closes (its `}` or the end of the file).
    fn block(&mut self, stmts: &[Statement], depth: usize, end: usize) {
        let mut last = 0;
        let mut first = true;
        for s in stmts {
            let span = s.span();
            let before = self.next;
            last = self.leading(span.start, depth, last, first);
            let wrote_comment = self.next > before;
            if (!first || wrote_comment) && self.blank_between(last, span.start) {
                self.out.push('\n');
            }
            first = false;
            self.indent(depth);
            self.statement(s, depth);
            self.trailing(span.end);
            self.out.push('\n');
            last = span.end;
        }
        self.leading(end, depth, last, first);
    }

    fn statement(&mut self, s: &Statement, depth: usize) {
        let span = s.span();
        if self.has_comment_inside(s) {
            let text = self.text(span).to_string();
            self.out.push_str(&text);
            while self
                .comments
                .get(self.next)
                .is_some_and(|c| c.start < span.end)
            {
                self.next += 1;
            }
            return;
        }
        match s {
            Statement::Let(l) => {
                let v = self.value(&l.value, true);
                self.out
                    .push_str(&format!("let {} = {v}", self.text(l.name.span)));
            }
            Statement::Assign(a) => {
                let v = self.value(&a.value, true);
                self.out.push_str(&format!("{} = {v}", a.target.name));
            }
            Statement::Compare(c) => {
                let v = self.value(&c.value, true);
                let op = match c.op {
                    CompareOp::Ge => ">=",
                    CompareOp::Gt => ">",
                    CompareOp::Le => "<=",
                    CompareOp::Lt => "<",
                    CompareOp::Eq => "==",
                };
                self.out.push_str(&format!("{} {op} {v}", c.metric.name));
            }
            Statement::Command(c) => self.command(c, depth),
        }
    }

    /// A comment inside a statement's values (not in its block, which
    /// prints its own).
    fn has_comment_inside(&self, s: &Statement) -> bool {
        let values: Vec<Span> = match s {
            Statement::Let(l) => vec![l.value.span],
            Statement::Assign(a) => vec![a.value.span],
            Statement::Compare(c) => vec![c.value.span],
            Statement::Command(c) => c.args.iter().map(|a| a.span).collect(),
        };
        self.comments[self.next..]
            .iter()
            .any(|c| values.iter().any(|v| c.start > v.start && c.start < v.end))
    }

    fn head(&self, c: &Command) -> String {
        let mut line = c.name.name.clone();
        for a in &c.args {
            line.push(' ');
            if let Some(k) = &a.key {
                line.push_str(&k.name);
                line.push('=');
            }
            line.push_str(&self.value(&a.value, false));
        }
        line
    }

    fn command(&mut self, c: &Command, depth: usize) {
        let head = self.head(c);
        self.out.push_str(&head);
        let Some(block) = &c.block else { return };
        let close = c.span.end.saturating_sub(1);
        let args_end = c.args.last().map_or(c.name.span.end, |a| a.span.end);
        let open = self.src[args_end..close]
            .find('{')
            .map_or(args_end, |i| args_end + i);
        if let Some(line) = self.one_line(c) {
            let width = 2 * depth + line.len();
            if width <= WIDTH {
                self.out.truncate(self.out.len() - head.len());
                self.out.push_str(&line);
                return;
            }
        }
        self.out.push_str(" {");
        self.trailing(open + 1);
        self.out.push('\n');
        self.block(block, depth + 1, close);
        self.indent(depth);
        self.out.push('}');
    }

    /// The command on one line, when its block was written on one line
    /// with no comment inside (blocks inside it included).
    fn one_line(&self, c: &Command) -> Option<String> {
        let head = self.head(c);
        let Some(block) = &c.block else {
            return Some(head);
        };
        let args_end = c.args.last().map_or(c.name.span.end, |a| a.span.end);
        let inside = self.text(Span::new(args_end, c.span.end));
        if inside.contains('\n')
            || inside.contains('#') && self.has_comment_in(args_end, c.span.end)
        {
            return None;
        }
        if block.is_empty() {
            return Some(format!("{head} {{}}"));
        }
        let mut parts = Vec::new();
        for s in block {
            parts.push(match s {
                Statement::Command(inner) => self.one_line(inner)?,
                Statement::Let(l) => {
                    format!("let {} = {}", l.name.name, self.value(&l.value, true))
                }
                Statement::Assign(a) => {
                    format!("{} = {}", a.target.name, self.value(&a.value, true))
                }
                Statement::Compare(cmp) => {
                    let op = match cmp.op {
                        CompareOp::Ge => ">=",
                        CompareOp::Gt => ">",
                        CompareOp::Le => "<=",
                        CompareOp::Lt => "<",
                        CompareOp::Eq => "==",
                    };
                    format!("{} {op} {}", cmp.metric.name, self.value(&cmp.value, true))
                }
            });
        }
        Some(format!("{head} {{ {} }}", parts.join("; ")))
    }

    fn has_comment_in(&self, a: usize, b: usize) -> bool {
        self.comments.iter().any(|c| c.start >= a && c.start < b)
    }

    /// A value; `loose` where the grammar allows spaces in arithmetic.
    fn value(&self, v: &Value, loose: bool) -> String {
        match &v.kind {
            ValueKind::Expr(e) => self.expr(e, loose, 0, false),
            ValueKind::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.value(i, true)).collect();
                format!("[{}]", items.join(", "))
            }
            ValueKind::Call { name, args } => {
                let args: Vec<String> = args.iter().map(|a| self.value(a, true)).collect();
                format!("{}({})", name.name, args.join(", "))
            }
            ValueKind::Str(_) | ValueKind::Word(_) | ValueKind::Path(_) | ValueKind::Bool(_) => {
                self.text(v.span).to_string()
            }
        }
    }

    /// An expression, parenthesised where its parent's precedence needs it.
    fn expr(&self, e: &Expr, loose: bool, parent: u8, right: bool) -> String {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Var(_) => self
                .text(e.span)
                .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
                .to_string(),
            ExprKind::Binary { op, lhs, rhs } => {
                let p = precedence(*op);
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                };
                let wrap = p < parent || (right && p == parent);
                // Inside parentheses spaces are allowed again.
                let inner_loose = loose || wrap;
                let l = self.expr(lhs, inner_loose, p, false);
                let r = self.expr(rhs, inner_loose, p, true);
                let body = if inner_loose {
                    format!("{l} {sym} {r}")
                } else {
                    format!("{l}{sym}{r}")
                };
                if wrap { format!("({body})") } else { body }
            }
        }
    }
}

fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Add | BinOp::Sub => 1,
        BinOp::Mul | BinOp::Div => 2,
    }
}

/// The tree with every span zeroed: what must not change.
pub(crate) fn strip(mut file: File) -> File {
    fn value(v: &mut Value) {
        v.span = Span::default();
        match &mut v.kind {
            ValueKind::Expr(e) => expr(e),
            ValueKind::List(items) => items.iter_mut().for_each(value),
            ValueKind::Call { name, args } => {
                name.span = Span::default();
                args.iter_mut().for_each(value);
            }
            _ => {}
        }
    }
    fn expr(e: &mut Expr) {
        e.span = Span::default();
        if let ExprKind::Binary { lhs, rhs, .. } = &mut e.kind {
            expr(lhs);
            expr(rhs);
        }
    }
    fn statement(s: &mut Statement) {
        match s {
            Statement::Let(l) => {
                l.span = Span::default();
                l.name.span = Span::default();
                value(&mut l.value);
            }
            Statement::Assign(a) => {
                a.span = Span::default();
                a.target.span = Span::default();
                value(&mut a.value);
            }
            Statement::Compare(c) => {
                c.span = Span::default();
                c.metric.span = Span::default();
                value(&mut c.value);
            }
            Statement::Command(c) => {
                c.span = Span::default();
                c.name.span = Span::default();
                for a in &mut c.args {
                    a.span = Span::default();
                    if let Some(k) = &mut a.key {
                        k.span = Span::default();
                    }
                    value(&mut a.value);
                }
                if let Some(b) = &mut c.block {
                    b.iter_mut().for_each(statement);
                }
            }
        }
    }
    file.statements.iter_mut().for_each(statement);
    file
}

#[cfg(test)]
mod tests {
    use super::format;

    fn f(src: &str) -> String {
        format(src).unwrap_or_else(|d| panic!("{src:?}: {}", d.message))
    }

    #[test]
    fn layout_rules() {
        let table: &[(&str, &str)] = &[
            // separators, spacing, indentation
            ("seed 1;let x=2", "seed 1\nlet x = 2\n"),
            (
                "model {\ndense   10    activation=relu\n    dropout 0.5\n}",
                "model {\n  dense 10 activation=relu\n  dropout 0.5\n}\n",
            ),
            // a one-line block stays one line; `;` joins its statements
            (
                "train {loss mse;epochs 3}",
                "train { loss mse; epochs 3 }\n",
            ),
            ("evaluate {  }", "evaluate {}\n"),
            // arithmetic: tight in values, spaced after `=`, minimal parens
            ("x ($a * 2) 3", "x $a*2 3\n"),
            ("let w = ($a*2)+(1)", "let w = $a * 2 + 1\n"),
            ("let w = $a-($b-1)", "let w = $a - ($b - 1)\n"),
            ("x (1+2)*3 -1", "x (1 + 2)*3 -1\n"),
            ("let l = [1e-4,\n 2 ,3,]", "let l = [1e-4, 2, 3]\n"),
            (
                "sweep random { lr=loguniform( 1e-4 ,1e-2 ) }",
                "sweep random { lr = loguniform(1e-4, 1e-2) }\n",
            ),
            (
                "expect{test_accuracy>=0.8}",
                "expect { test_accuracy >= 0.8 }\n",
            ),
            // comments and paragraphs
            (
                "# head\n\n\nseed 1 # s\n\n\nmodel { # layers\n\n  dense 1\n\n  # last\n}\n# end\n",
                "# head\n\nseed 1 # s\n\nmodel { # layers\n  dense 1\n\n  # last\n}\n# end\n",
            ),
            (
                "source csv \"a#b.csv\" label=y",
                "source csv \"a#b.csv\" label=y\n",
            ),
            // a comment inside a value keeps the statement as written
            (
                "sweep grid {\n lr = [0.1,  # big\n   0.01]\n}",
                "sweep grid {\n  lr = [0.1,  # big\n   0.01]\n}\n",
            ),
            ("", ""),
            ("\n\n# only\n\n", "# only\n"),
        ];
        for (src, want) in table {
            let got = f(src);
            assert_eq!(&got, want, "{src:?}");
            assert_eq!(f(&got), got, "not idempotent: {src:?}");
        }
    }

    #[test]
    fn long_one_line_blocks_open_up() {
        let long = format!("model {{ dense 1; {} }}", "relu; ".repeat(20));
        let got = f(&long);
        assert!(got.starts_with("model {\n  dense 1\n  relu\n"), "{got}");
        assert_eq!(f(&got), got);
    }

    #[test]
    fn refuses_invalid_syntax_with_the_parse_error() {
        let d = format("model {\n  dense 10 activation = relu\n}").unwrap_err();
        assert_eq!(d.kind, crate::analyze::Kind::Syntax);
        assert_eq!((d.line, d.column), (2, 23));
    }
}

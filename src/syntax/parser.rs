//! The pest parser and the conversion of its parse tree into [`super::ast`].
//! Syntax errors are pest's own, with rule names renamed into words a user
//! understands (see [`rule_name`]).

use super::ast::*;
use pest::Parser;
use pest::error::{Error as PestError, ErrorVariant};
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/dlp.pest"]
pub(crate) struct DlpParser;

/// A syntax error, located in the source, already renamed for users.
pub(crate) type SyntaxError = PestError<Rule>;

/// Parses a whole `.dlp` source text.
pub fn parse(source: &str) -> Result<File, Box<SyntaxError>> {
    let _span = tracing::info_span!("parse").entered();
    let mut pairs = DlpParser::parse(Rule::file, source).map_err(|e| Box::new(rename(e)))?;
    let file = pairs.next().map(|p| p.into_inner()).into_iter().flatten();
    let mut statements = Vec::new();
    for pair in file {
        if let Some(s) = statement(pair)? {
            statements.push(s);
        }
    }
    Ok(File { statements })
}

/// Parses one value on its own (the `VALUE` of `--set NAME=VALUE`).
pub fn parse_value(text: &str) -> Result<Value, Box<SyntaxError>> {
    let mut pairs =
        DlpParser::parse(Rule::override_value, text).map_err(|e| Box::new(rename(e)))?;
    let inner = pairs
        .next()
        .and_then(|p| p.into_inner().find(|p| p.as_rule() != Rule::EOI));
    match inner {
        Some(p) => value(p),
        None => Err(Box::new(PestError::new_from_pos(
            ErrorVariant::CustomError {
                message: "expected a value".into(),
            },
            pest::Position::from_start(text),
        ))),
    }
}

/// What a user reads instead of an internal rule name.
pub(crate) fn rule_name(rule: &Rule) -> String {
    match rule {
        Rule::EOI => "end of file",
        Rule::file => "a pipeline",
        Rule::sep => "end of statement",
        Rule::block => "a block `{ … }`",
        Rule::let_stmt => "`let NAME = VALUE`",
        Rule::kw_let => "`let`",
        Rule::compare_stmt => "`METRIC OP NUMBER`",
        Rule::assign_stmt => "`PATH = VALUES`",
        Rule::command => "a statement",
        Rule::kwarg => "`key=value`",
        Rule::tight_expr | Rule::loose_expr => "a number or expression",
        Rule::paren => "`( … )`",
        Rule::list => "a list `[ … ]`",
        Rule::call => "a call `name(…)`",
        Rule::call_args => "`( … )`",
        Rule::op => "an operator (+ - * /)",
        Rule::cmp_op => "a comparison (>= > <= < ==)",
        Rule::number => "a number",
        Rule::var => "a variable `$NAME`",
        Rule::boolean => "true or false",
        Rule::path => "a dotted path",
        Rule::word => "a word",
        Rule::ident => "a name",
        Rule::string => "a string",
        Rule::string_inner => "string characters",
        Rule::override_value => "a value",
        Rule::statement
        | Rule::value
        | Rule::loose_value
        | Rule::operand
        | Rule::ident_raw
        | Rule::ident_char
        | Rule::WHITESPACE
        | Rule::COMMENT => "a value",
    }
    .to_string()
}

fn rename(e: SyntaxError) -> SyntaxError {
    e.renamed_rules(rule_name)
}

fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

/// The message for an integer literal beyond 64 bits: a range error, not
/// a slip of syntax (see [`is_too_large`]).
fn too_large(text: &str) -> String {
    format!("integer {text} is too large")
}

/// Whether a custom parse error's message is [`too_large`]'s, so that the
/// diagnostic is headed by it as `--set` shows it, not by "invalid syntax".
pub(crate) fn is_too_large(message: &str) -> bool {
    message.starts_with("integer ") && message.ends_with(" is too large")
}

fn custom(pair: &Pair<Rule>, message: String) -> Box<SyntaxError> {
    Box::new(PestError::new_from_span(
        ErrorVariant::CustomError { message },
        pair.as_span(),
    ))
}

fn ident(pair: Pair<Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

fn statement(pair: Pair<Rule>) -> Result<Option<Statement>, Box<SyntaxError>> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let mut next = || inner.next();
    Ok(Some(match rule {
        Rule::let_stmt => {
            next(); // `let`
            let (Some(name), Some(v)) = (next(), next()) else {
                return Ok(None);
            };
            Statement::Let(Let {
                name: ident(name),
                value: value(v)?,
                span,
            })
        }
        Rule::compare_stmt => {
            let (Some(m), Some(op), Some(v)) = (next(), next(), next()) else {
                return Ok(None);
            };
            let op = match op.as_str() {
                ">=" => CompareOp::Ge,
                ">" => CompareOp::Gt,
                "<=" => CompareOp::Le,
                "<" => CompareOp::Lt,
                _ => CompareOp::Eq,
            };
            Statement::Compare(Compare {
                metric: ident(m),
                op,
                value: value(v)?,
                span,
            })
        }
        Rule::assign_stmt => {
            let (Some(t), Some(v)) = (next(), next()) else {
                return Ok(None);
            };
            Statement::Assign(Assign {
                target: ident(t),
                value: value(v)?,
                span,
            })
        }
        Rule::command => {
            let Some(name) = next() else { return Ok(None) };
            let mut args: Vec<Arg> = Vec::new();
            let mut block = None;
            let mut block_end = None;
            for p in inner {
                match p.as_rule() {
                    Rule::kwarg => {
                        let arg_span = span_of(&p);
                        let mut kv = p.into_inner();
                        let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
                            continue;
                        };
                        args.push(Arg {
                            key: Some(ident(k)),
                            value: value(v)?,
                            span: arg_span,
                        });
                    }
                    Rule::block => {
                        block_end = Some(p.as_span().end());
                        let mut stmts = Vec::new();
                        for s in p.into_inner() {
                            if let Some(s) = statement(s)? {
                                stmts.push(s);
                            }
                        }
                        block = Some(stmts);
                    }
                    _ => {
                        let v = value(p)?;
                        args.push(Arg {
                            key: None,
                            span: v.span,
                            value: v,
                        });
                    }
                }
            }
            // pest's span of a command without a block runs on over the
            // spaces and comment after its last value: end at the value.
            let name = ident(name);
            let end = block_end
                .or(args.last().map(|a| a.span.end))
                .unwrap_or(name.span.end);
            Statement::Command(Command {
                name,
                args,
                block,
                span: Span::new(span.start, end),
            })
        }
        // Separators and end of input.
        _ => return Ok(None),
    }))
}

fn value(pair: Pair<Rule>) -> Result<Value, Box<SyntaxError>> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::string => {
            let raw = pair.into_inner().next().map_or("", |p| p.as_str());
            ValueKind::Str(raw.replace("\\\"", "\"").replace("\\\\", "\\"))
        }
        Rule::list => {
            let mut items = Vec::new();
            for p in pair.into_inner() {
                items.push(value(p)?);
            }
            ValueKind::List(items)
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let (Some(name), Some(args)) = (inner.next(), inner.next()) else {
                return Err(custom_span(span, "malformed call"));
            };
            let mut values = Vec::new();
            for p in args.into_inner() {
                values.push(value(p)?);
            }
            ValueKind::Call {
                name: ident(name),
                args: values,
            }
        }
        Rule::tight_expr | Rule::loose_expr => ValueKind::Expr(expr(pair)?),
        Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
        Rule::path => ValueKind::Path(pair.as_str().to_string()),
        Rule::word | Rule::ident => ValueKind::Word(pair.as_str().to_string()),
        _ => ValueKind::Expr(operand(pair)?),
    };
    Ok(Value { kind, span })
}

fn custom_span(_span: Span, message: &str) -> Box<SyntaxError> {
    Box::new(PestError::new_from_pos(
        ErrorVariant::CustomError {
            message: message.into(),
        },
        pest::Position::from_start(""),
    ))
}

/// `operand (op operand)*` with the usual precedence, left associative.
fn expr(pair: Pair<Rule>) -> Result<Expr, Box<SyntaxError>> {
    let mut operands: Vec<Expr> = Vec::new();
    let mut ops: Vec<BinOp> = Vec::new();
    let reduce = |operands: &mut Vec<Expr>, ops: &mut Vec<BinOp>| {
        if let (Some(op), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) {
            let span = Span::new(lhs.span.start, rhs.span.end);
            operands.push(Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            });
        }
    };
    for p in pair.into_inner() {
        if p.as_rule() == Rule::op {
            let op = match p.as_str() {
                "+" => BinOp::Add,
                "-" => BinOp::Sub,
                "*" => BinOp::Mul,
                _ => BinOp::Div,
            };
            while ops.last().is_some_and(|top| top.binds_before(op)) {
                reduce(&mut operands, &mut ops);
            }
            ops.push(op);
        } else {
            operands.push(operand(p)?);
        }
    }
    while !ops.is_empty() {
        reduce(&mut operands, &mut ops);
    }
    operands
        .pop()
        .ok_or_else(|| custom_span(Span::default(), "empty expression"))
}

fn operand(pair: Pair<Rule>) -> Result<Expr, Box<SyntaxError>> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::number => {
            let text = pair.as_str();
            let kind = if text.contains(['.', 'e', 'E']) {
                text.parse::<f64>()
                    .map(ExprKind::Float)
                    .map_err(|_| custom(&pair, format!("invalid number {text}")))?
            } else {
                text.parse::<i64>()
                    .map(ExprKind::Int)
                    .map_err(|_| custom(&pair, too_large(text)))?
            };
            Ok(Expr { kind, span })
        }
        Rule::var => Ok(Expr {
            kind: ExprKind::Var(pair.as_str().trim_start_matches('$').to_string()),
            span,
        }),
        Rule::paren => {
            let inner = pair
                .into_inner()
                .next()
                .ok_or_else(|| custom_span(span, "empty parentheses"))?;
            let mut e = expr(inner)?;
            e.span = span;
            Ok(e)
        }
        Rule::tight_expr | Rule::loose_expr => expr(pair),
        _ => Err(custom(&pair, "expected a number or expression".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(e: &Expr) -> f64 {
        match &e.kind {
            ExprKind::Int(i) => *i as f64,
            ExprKind::Float(f) => *f,
            ExprKind::Var(_) => f64::NAN,
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (eval(lhs), eval(rhs));
                match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                }
            }
        }
    }

    fn args(src: &str) -> Vec<Arg> {
        let f = parse(src).unwrap();
        match &f.statements[0] {
            Statement::Command(c) => c.args.clone(),
            other => panic!("not a command: {other:?}"),
        }
    }

    #[test]
    fn tokens_and_precedence() {
        // (source, number of args, value of the first arg)
        let table: &[(&str, usize, f64)] = &[
            ("scale 1/255", 1, 1.0 / 255.0),
            ("resize 32 -1", 2, 32.0),
            ("x 1+2*3", 1, 7.0),
            ("x (1 + 2)*3", 1, 9.0),
            ("x ($a * 2) 3", 2, f64::NAN),
            ("x 10-4-3", 1, 3.0),
            ("x 1e-4", 1, 1e-4),
            ("x -0.5", 1, -0.5),
            ("x 8/2/2", 1, 2.0),
            ("x 2*-3", 1, -6.0),
        ];
        for (src, n, v) in table {
            let a = args(src);
            assert_eq!(a.len(), *n, "{src}");
            match &a[0].value.kind {
                ValueKind::Expr(e) if v.is_nan() => assert!(eval(e).is_nan(), "{src}"),
                ValueKind::Expr(e) => assert!((eval(e) - v).abs() < 1e-12, "{src}"),
                other => panic!("{src}: {other:?}"),
            }
        }
    }

    #[test]
    fn statement_forms() {
        let f = parse(
            "let w = $a * 2\nmodel { dense 3; relu }\nexpect { test_accuracy >= 0.8 }\n\
             sweep grid { train.optimizer.lr = [1e-1,\n 1e-2] }\ndevice cuda:0 # c\n\
             source csv \"a \\\"b\\\".csv\" label=y",
        )
        .unwrap();
        assert_eq!(f.statements.len(), 6);
        assert!(matches!(f.statements[0], Statement::Let(_)));
        let Statement::Command(m) = &f.statements[1] else {
            panic!()
        };
        assert_eq!(m.block.as_ref().map(Vec::len), Some(2));
        let Statement::Command(s) = &f.statements[5] else {
            panic!()
        };
        assert_eq!(s.args[1].value.kind, ValueKind::Str("a \"b\".csv".into()));
        assert_eq!(
            s.args[2].key.as_ref().map(|k| k.name.as_str()),
            Some("label")
        );
        let Statement::Command(d) = &f.statements[4] else {
            panic!()
        };
        assert_eq!(d.args[0].value.kind, ValueKind::Word("cuda:0".into()));
    }

    #[test]
    fn rejects() {
        for src in [
            "x .5",
            "x 3x",
            "dense 10 activation = relu",
            "model {",
            "x \"open",
        ] {
            assert!(parse(src).is_err(), "{src}");
        }
    }
}

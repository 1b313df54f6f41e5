//! The typed syntax tree of a `.dlp` file. Nothing is resolved yet:
//! variables, `repeat` blocks and defaults are the analyzer's work. Every
//! node keeps its byte span in the source.

/// A byte range `[start, end)` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A name with its span (a statement name, a key, a variable).
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole file: its top-level statements.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `NAME value* key=value* [{ … }]`.
    Command(Command),
    /// `let NAME = EXPR`.
    Let(Let),
    /// `PATH = VALUES` (sweeps).
    Assign(Assign),
    /// `METRIC OP VALUE` (expectations).
    Compare(Compare),
}

impl Statement {
    pub(crate) fn span(&self) -> Span {
        match self {
            Statement::Command(c) => c.span,
            Statement::Let(l) => l.span,
            Statement::Assign(a) => a.span,
            Statement::Compare(c) => c.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub block: Option<Vec<Statement>>,
    /// From the name to the end of the last argument (or the block's `}`).
    pub span: Span,
}

/// One argument: positional (`32`) or named (`kernel=3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
    /// The whole argument, key included.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    /// A dotted path or a `let` variable name.
    pub target: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    pub metric: Ident,
    pub op: CompareOp,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// Numbers, variables and arithmetic.
    Expr(Expr),
    /// A double-quoted string, escapes resolved.
    Str(String),
    /// A bare word (`relu`, `cuda:0`).
    Word(String),
    /// A dotted path (`train.optimizer.lr`).
    Path(String),
    Bool(bool),
    List(Vec<Value>),
    /// `uniform(a, b)`, `loguniform(a, b)`.
    Call {
        name: Ident,
        args: Vec<Value>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Var(String),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
        }
    }

    /// Whether `self` binds at least as tightly as `other` (left associative).
    pub(crate) fn binds_before(self, other: BinOp) -> bool {
        self.precedence() >= other.precedence()
    }
}

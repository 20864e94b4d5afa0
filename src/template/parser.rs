//! Builds the syntax tree from tokens and checks it (known functions,
//! argument counts, declared variables, block structure, nesting depth).

use serde_json::Value;

use super::TemplateError;
use super::funcs::Func;
use super::lexer::{LineIndex, Tok, Token};

/// Deepest nesting of blocks and parentheses a template may use.
pub(crate) const MAX_DEPTH: usize = 64;

/// Where a node starts (a byte offset into the source); turned into a line
/// and column only when an error is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos(pub usize);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextPart {
    Literal(String),
    /// The `$content` placeholder.
    Content,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(Vec<TextPart>),
    Action(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    With {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Range {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    pub pos: Pos,
    /// Variables declared (`:=`) or assigned (`=`) by this pipeline.
    pub vars: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Call {
        pos: Pos,
        func: Func,
        args: Vec<Operand>,
    },
    Value(Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operand {
    pub pos: Pos,
    pub term: Term,
    /// Field steps after the term: `.a.b` is `Dot` with `["a", "b"]`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    Dot,
    Var(String),
    /// A literal: string, number, `true`/`false` or `nil` (null).
    Const(Value),
    Pipe(Box<Pipeline>),
}

/// Why a list of nodes stopped.
enum Stop {
    Eof,
    End,
    Else(ElseKind),
}

enum ElseKind {
    Plain,
    If(Pipeline),
    With(Pipeline),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    If,
    With,
    Range,
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Block::If => "if",
            Block::With => "with",
            Block::Range => "range",
        }
    }
}

pub(crate) struct Parser<'s> {
    tokens: Vec<Token>,
    at: usize,
    lines: LineIndex<'s>,
    vars: Vec<String>,
    depth: usize,
    loops: usize,
    source_len: usize,
}

type PResult<T> = Result<T, TemplateError>;

impl<'s> Parser<'s> {
    pub fn new(source: &'s str, tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            at: 0,
            lines: LineIndex::new(source),
            vars: vec!["$".to_owned()],
            depth: 0,
            loops: 0,
            source_len: source.len(),
        }
    }

    pub fn parse_template(mut self) -> PResult<Vec<Node>> {
        let (nodes, stop) = self.list()?;
        match stop {
            Stop::Eof => Ok(nodes),
            Stop::End => {
                Err(self
                    .error_at_prev_open("{{end}} without a matching {{if}}, {{range}} or {{with}}"))
            }
            Stop::Else(_) => Err(self
                .error_at_prev_open("{{else}} without a matching {{if}}, {{range}} or {{with}}")),
        }
    }

    fn pos_of(&self, offset: usize) -> Pos {
        Pos(offset)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> TemplateError {
        let (line, column) = self.lines.position(offset);
        TemplateError {
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at the most recent `{{` (for keywords that are wrong as a whole).
    fn error_at_prev_open(&self, message: &str) -> TemplateError {
        let offset = self.tokens[..self.at.min(self.tokens.len())]
            .iter()
            .rev()
            .find(|t| t.tok == Tok::Open)
            .map_or(0, |t| t.start);
        self.error_at(offset, message)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.source_len, |t| t.start)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Text(_) => "text".into(),
            Tok::Open => "{{".into(),
            Tok::Close => "}}".into(),
            Tok::Dot => "'.'".into(),
            Tok::Field(f) => format!("field .{f}"),
            Tok::Variable(v) => format!("variable {v}"),
            Tok::Ident(i) => format!("'{i}'"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Pipe => "'|'".into(),
            Tok::Comma => "','".into(),
            Tok::Declare => "':='".into(),
            Tok::Assign => "'='".into(),
        }
    }

    fn expect_close(&mut self, after: &str) -> PResult<()> {
        match self.next() {
            Some(Token {
                tok: Tok::Close, ..
            }) => Ok(()),
            Some(t) => Err(self.error_at(
                t.start,
                format!(
                    "unexpected {} after {after}; expected }}}}",
                    Self::describe(&t.tok)
                ),
            )),
            None => Err(self.error_at(self.source_len, "unclosed action")),
        }
    }

    fn enter(&mut self, offset: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                offset,
                format!("the template is nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Parses nodes until end of input, `{{end}}` or `{{else …}}`.
    fn list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        while let Some(token) = self.next() {
            match token.tok {
                Tok::Text(text) => nodes.push(Node::Text(split_content(&text))),
                Tok::Open => {
                    let open = token.start;
                    match self.action(open)? {
                        ActionResult::Node(n) => nodes.push(n),
                        ActionResult::Stop(stop) => return Ok((nodes, stop)),
                    }
                }
                other => {
                    return Err(self.error_at(
                        token.start,
                        format!("unexpected {}", Self::describe(&other)),
                    ));
                }
            }
        }
        Ok((nodes, Stop::Eof))
    }

    fn action(&mut self, open: usize) -> PResult<ActionResult> {
        let keyword = match self.peek_tok() {
            Some(Tok::Ident(name)) => Some(name.clone()),
            _ => None,
        };
        let kw_offset = self.offset();
        match keyword.as_deref() {
            Some("if") => {
                self.at += 1;
                self.block(open, Block::If).map(ActionResult::Node)
            }
            Some("with") => {
                self.at += 1;
                self.block(open, Block::With).map(ActionResult::Node)
            }
            Some("range" | "for") => {
                self.at += 1;
                self.range(open).map(ActionResult::Node)
            }
            Some("end") => {
                self.at += 1;
                self.expect_close("end")?;
                Ok(ActionResult::Stop(Stop::End))
            }
            Some("else") => {
                self.at += 1;
                let kind = match self.peek_tok() {
                    Some(Tok::Ident(k)) if k == "if" => {
                        self.at += 1;
                        ElseKind::If(self.pipeline("if", false)?)
                    }
                    Some(Tok::Ident(k)) if k == "with" => {
                        self.at += 1;
                        ElseKind::With(self.pipeline("with", false)?)
                    }
                    _ => {
                        self.expect_close("else")?;
                        ElseKind::Plain
                    }
                };
                Ok(ActionResult::Stop(Stop::Else(kind)))
            }
            Some(word @ ("break" | "continue")) => {
                if self.loops == 0 {
                    return Err(
                        self.error_at(kw_offset, format!("{{{{{word}}}}} outside {{{{range}}}}"))
                    );
                }
                let node = if word == "break" {
                    Node::Break
                } else {
                    Node::Continue
                };
                self.at += 1;
                self.expect_close(word)?;
                Ok(ActionResult::Node(node))
            }
            Some(word @ ("define" | "template" | "block")) => Err(self.error_at(
                kw_offset,
                format!("{{{{{word}}}}} is not supported in notification templates"),
            )),
            _ => {
                // `{{ $x := … }}` prints nothing but still runs.
                let pipe = self.pipeline("command", false)?;
                Ok(ActionResult::Node(Node::Action(pipe)))
            }
        }
    }

    /// `if` and `with`, with their `else if`/`else with`/`else` chains.
    fn block(&mut self, open: usize, kind: Block) -> PResult<Node> {
        self.enter(open)?;
        let mark = self.vars.len();
        let mut branches = Vec::new();
        let mut cond = self.pipeline(kind.name(), false)?;
        let otherwise = loop {
            let cond_mark = self.vars.len();
            let (body, stop) = self.list()?;
            self.vars.truncate(cond_mark);
            branches.push((cond, body));
            match stop {
                Stop::End => break Vec::new(),
                Stop::Eof => return Err(self.missing_end(open, kind)),
                Stop::Else(ElseKind::Plain) => {
                    let (body, stop) = self.list()?;
                    self.vars.truncate(mark);
                    match stop {
                        Stop::End => break body,
                        Stop::Eof => return Err(self.missing_end(open, kind)),
                        Stop::Else(_) => {
                            return Err(self.error_at_prev_open(
                                "another {{else}} after {{else}}; expected {{end}}",
                            ));
                        }
                    }
                }
                Stop::Else(ElseKind::If(p)) if kind == Block::If => cond = p,
                Stop::Else(ElseKind::With(p)) if kind == Block::With => cond = p,
                Stop::Else(_) => {
                    return Err(self.error_at_prev_open(&format!(
                        "inside {{{{{}}}}} only {{{{else}}}} or {{{{else {}}}}} may follow",
                        kind.name(),
                        kind.name()
                    )));
                }
            }
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(match kind {
            Block::With => Node::With {
                branches,
                otherwise,
            },
            _ => Node::If {
                branches,
                otherwise,
            },
        })
    }

    fn range(&mut self, open: usize) -> PResult<Node> {
        self.enter(open)?;
        let mark = self.vars.len();
        let pipe = self.pipeline("range", true)?;
        self.loops += 1;
        let (body, stop) = self.list()?;
        self.loops -= 1;
        // The range variables are not bound in the {{else}} branch.
        self.vars.truncate(mark);
        let otherwise = match stop {
            Stop::End => Vec::new(),
            Stop::Eof => return Err(self.missing_end(open, Block::Range)),
            Stop::Else(ElseKind::Plain) => {
                let (body, stop) = self.list()?;
                match stop {
                    Stop::End => body,
                    Stop::Eof => return Err(self.missing_end(open, Block::Range)),
                    Stop::Else(_) => {
                        return Err(self.error_at_prev_open(
                            "another {{else}} after {{else}}; expected {{end}}",
                        ));
                    }
                }
            }
            Stop::Else(_) => {
                return Err(
                    self.error_at_prev_open("inside {{range}} only a plain {{else}} may follow")
                );
            }
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(Node::Range {
            pipe,
            body,
            otherwise,
        })
    }

    fn missing_end(&self, open: usize, kind: Block) -> TemplateError {
        self.error_at(
            open,
            format!("this {{{{{}}}}} has no matching {{{{end}}}}", kind.name()),
        )
    }

    /// A pipeline up to `}}`, with an optional declaration in front.
    fn pipeline(&mut self, context: &str, in_range: bool) -> PResult<Pipeline> {
        let start = self.offset();
        let pos = self.pos_of(start);
        let (vars, assign) = self.declaration(in_range)?;
        let cmds = self.commands(false)?;
        if cmds.is_empty() {
            return Err(self.error_at(start, format!("missing value for {context}")));
        }
        self.expect_close(context)?;
        // Declared variables become visible after the whole pipeline.
        if !assign {
            self.vars.extend(vars.iter().cloned());
        }
        Ok(Pipeline {
            pos,
            vars,
            assign,
            cmds,
        })
    }

    fn declaration(&mut self, in_range: bool) -> PResult<(Vec<String>, bool)> {
        let toks: Vec<Option<&Tok>> = (0..4)
            .map(|i| self.tokens.get(self.at + i).map(|t| &t.tok))
            .collect();
        let (names, assign, used): (Vec<String>, bool, usize) = match toks.as_slice() {
            [Some(Tok::Variable(a)), Some(Tok::Declare), ..] => (vec![a.clone()], false, 2),
            [Some(Tok::Variable(a)), Some(Tok::Assign), ..] => (vec![a.clone()], true, 2),
            [
                Some(Tok::Variable(a)),
                Some(Tok::Comma),
                Some(Tok::Variable(b)),
                Some(Tok::Declare | Tok::Assign),
            ] => {
                if !in_range {
                    return Err(self.error_at(
                        self.offset(),
                        "two variables may only be declared in {{range}}",
                    ));
                }
                let assign = toks[3] == Some(&Tok::Assign);
                (vec![a.clone(), b.clone()], assign, 4)
            }
            _ => return Ok((Vec::new(), false)),
        };
        let offset = self.offset();
        for name in &names {
            if name == "$" {
                return Err(self.error_at(offset, "$ cannot be declared or assigned"));
            }
            if assign && !self.vars.contains(name) {
                return Err(self.error_at(offset, format!("undefined variable {name}")));
            }
        }
        self.at += used;
        Ok((names, assign))
    }

    /// Commands separated by `|`, up to `}}` (or `)` inside parentheses).
    fn commands(&mut self, in_paren: bool) -> PResult<Vec<Command>> {
        let mut cmds = Vec::new();
        loop {
            let start = self.offset();
            let mut operands: Vec<(usize, Operand)> = Vec::new();
            let mut func: Option<(usize, Func)> = None;
            loop {
                match self.peek_tok() {
                    None => return Err(self.error_at(self.source_len, "unclosed action")),
                    Some(Tok::Close) if !in_paren => break,
                    Some(Tok::Close) => {
                        return Err(self.error_at(self.offset(), "unclosed left parenthesis"));
                    }
                    Some(Tok::RParen) if in_paren => break,
                    Some(Tok::RParen) => {
                        return Err(self.error_at(self.offset(), "unexpected right parenthesis"));
                    }
                    Some(Tok::Pipe) => break,
                    Some(Tok::Ident(name))
                        if operands.is_empty()
                            && func.is_none()
                            && !matches!(name.as_str(), "true" | "false" | "nil") =>
                    {
                        let offset = self.offset();
                        let name = name.clone();
                        match Func::lookup(&name) {
                            Some(f) => func = Some((offset, f)),
                            None => {
                                return Err(self
                                    .error_at(offset, format!("function \"{name}\" not defined")));
                            }
                        }
                        self.at += 1;
                    }
                    Some(_) => {
                        let offset = self.offset();
                        let operand = self.operand()?;
                        operands.push((offset, operand));
                    }
                }
            }
            let piped = !cmds.is_empty();
            let cmd = match func {
                Some((offset, func)) => {
                    let count = operands.len() + usize::from(piped);
                    let (min, max) = func.arity();
                    if count < min || max.is_some_and(|m| count > m) {
                        let want = match max {
                            Some(m) if m == min => format!("{min}"),
                            Some(m) => format!("{min} to {m}"),
                            None => format!("at least {min}"),
                        };
                        return Err(self.error_at(
                            offset,
                            format!(
                                "wrong number of arguments for {}: want {want}, got {count}",
                                func.name()
                            ),
                        ));
                    }
                    Command::Call {
                        pos: self.pos_of(offset),
                        func,
                        args: operands.into_iter().map(|(_, o)| o).collect(),
                    }
                }
                None => {
                    let mut iter = operands.into_iter();
                    match (iter.next(), iter.next()) {
                        (None, _) => {
                            if cmds.is_empty() && !matches!(self.peek_tok(), Some(Tok::Pipe)) {
                                // An empty pipeline; the caller decides.
                                if in_paren {
                                    return Err(
                                        self.error_at(start, "missing value in parentheses")
                                    );
                                }
                                return Ok(cmds);
                            }
                            return Err(self.error_at(start, "missing command after '|'"));
                        }
                        (Some((offset, _)), _) if piped => {
                            return Err(self.error_at(
                                offset,
                                "can't pipe into a value; only a function can follow '|'",
                            ));
                        }
                        (Some(_), Some((offset, _))) => {
                            return Err(self.error_at(
                                offset,
                                "can't give an argument to a non-function (is a function name missing?)",
                            ));
                        }
                        (Some((_, operand)), None) => {
                            if operand.term == Term::Const(Value::Null) && operand.fields.is_empty()
                            {
                                return Err(self.error_at(start, "nil is not a command"));
                            }
                            Command::Value(operand)
                        }
                    }
                }
            };
            cmds.push(cmd);
            if matches!(self.peek_tok(), Some(Tok::Pipe)) {
                self.at += 1;
                continue;
            }
            return Ok(cmds);
        }
    }

    fn operand(&mut self) -> PResult<Operand> {
        let Some(token) = self.next() else {
            return Err(self.error_at(self.source_len, "unclosed action"));
        };
        let pos = self.pos_of(token.start);
        let mut fields = Vec::new();
        let term = match token.tok {
            Tok::Dot => Term::Dot,
            Tok::Field(name) => {
                fields.push(name);
                Term::Dot
            }
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.error_at(token.start, format!("undefined variable {name}")));
                }
                Term::Var(name)
            }
            Tok::Str(s) => Term::Const(Value::String(s)),
            Tok::Int(i) => Term::Const(Value::from(i)),
            Tok::Float(f) => Term::Const(Value::from(f)),
            Tok::Ident(word) => match word.as_str() {
                "true" => Term::Const(Value::Bool(true)),
                "false" => Term::Const(Value::Bool(false)),
                "nil" => Term::Const(Value::Null),
                _ => {
                    return Err(self.error_at(
                        token.start,
                        match Func::lookup(&word) {
                            Some(_) => format!(
                                "function \"{word}\" used as an argument needs parentheses: ({word} …)"
                            ),
                            None => format!("function \"{word}\" not defined"),
                        },
                    ));
                }
            },
            Tok::LParen => {
                self.enter(token.start)?;
                let start = self.offset();
                let cmds = self.commands(true)?;
                if cmds.is_empty() {
                    return Err(self.error_at(start, "missing value in parentheses"));
                }
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {}
                    _ => return Err(self.error_at(token.start, "unclosed left parenthesis")),
                }
                self.leave();
                Term::Pipe(Box::new(Pipeline {
                    pos,
                    vars: Vec::new(),
                    assign: false,
                    cmds,
                }))
            }
            other => {
                return Err(self.error_at(
                    token.start,
                    format!("unexpected {} in operand", Self::describe(&other)),
                ));
            }
        };
        let fields_allowed = matches!(term, Term::Dot | Term::Var(_) | Term::Pipe(_));
        let mut end = self
            .at
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(token.end, |t| t.end);
        while let Some(next) = self.peek().filter(|t| t.start == end) {
            match &next.tok {
                Tok::Field(name) if fields_allowed && !(term == Term::Dot && fields.is_empty()) => {
                    fields.push(name.clone());
                    end = next.end;
                    self.at += 1;
                }
                Tok::Field(_) | Tok::Dot | Tok::Variable(_) | Tok::Ident(_) | Tok::Str(_) => {
                    return Err(self.error_at(
                        next.start,
                        "bad field syntax: expected a space or a field name like .name here",
                    ));
                }
                _ => break,
            }
        }
        Ok(Operand { pos, term, fields })
    }
}

enum ActionResult {
    Node(Node),
    Stop(Stop),
}

/// Splits text on the `$content` placeholder.
fn split_content(text: &str) -> Vec<TextPart> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("$content") {
        if i > 0 {
            parts.push(TextPart::Literal(rest[..i].to_owned()));
        }
        parts.push(TextPart::Content);
        rest = &rest[i + "$content".len()..];
    }
    if !rest.is_empty() {
        parts.push(TextPart::Literal(rest.to_owned()));
    }
    parts
}

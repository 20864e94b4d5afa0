//! Runs a parsed template over JSON data, counting steps and output bytes.

use std::rc::Rc;

use serde_json::Value;

use super::funcs::{self, Func, FuncError};
use super::lexer::LineIndex;
use super::parser::{Command, Node, Operand, Pipeline, Pos, Term, TextPart};
use super::{Escape, RenderError, RenderOptions};

/// A value during evaluation: missing, borrowed from the data or the
/// template, or produced by a function.
#[derive(Debug, Clone)]
enum Val<'a> {
    Missing,
    Ref(&'a Value),
    Own(Rc<Value>),
}

impl<'a> Val<'a> {
    fn get(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::Ref(v) => Some(v),
            Val::Own(v) => Some(v),
        }
    }

    fn own(v: Value) -> Self {
        Val::Own(Rc::new(v))
    }

    /// A part of this value (a field, an item), borrowed when possible.
    fn sub(&self, pick: impl Fn(&Value) -> Option<&Value>) -> Val<'a> {
        match self {
            Val::Missing => Val::Missing,
            Val::Ref(v) => pick(v).map_or(Val::Missing, Val::Ref),
            Val::Own(v) => pick(v).map_or(Val::Missing, |x| Val::own(x.clone())),
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type EResult<T> = Result<T, Failure>;

/// An evaluation failure; positions become line/column in [`Evaluator::run`].
enum Failure {
    Render(RenderError),
    At(Pos, String),
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Self {
        Failure::Render(e)
    }
}

fn eval_error(pos: Pos, message: impl Into<String>) -> Failure {
    Failure::At(pos, message.into())
}

pub(crate) struct Evaluator<'a> {
    source: &'a str,
    root: &'a Value,
    options: &'a RenderOptions,
    out: String,
    steps: u64,
    vars: Vec<(&'a str, Val<'a>)>,
}

impl<'a> Evaluator<'a> {
    pub fn new(source: &'a str, root: &'a Value, options: &'a RenderOptions) -> Self {
        Evaluator {
            source,
            root,
            options,
            out: String::new(),
            steps: 0,
            vars: Vec::new(),
        }
    }

    pub fn run(mut self, nodes: &'a [Node]) -> Result<String, RenderError> {
        self.vars.push(("$", Val::Ref(self.root)));
        let dot = Val::Ref(self.root);
        match self.nodes(nodes, &dot) {
            Ok(_) => Ok(self.out),
            Err(Failure::Render(e)) => Err(e),
            Err(Failure::At(Pos(offset), message)) => {
                let (line, column) = LineIndex::new(self.source).position(offset);
                Err(RenderError::Eval {
                    line,
                    column,
                    message,
                })
            }
        }
    }

    fn step(&mut self) -> EResult<()> {
        self.steps += 1;
        if self.steps > self.options.max_steps {
            return Err(RenderError::TooManySteps.into());
        }
        Ok(())
    }

    fn write_raw(&mut self, s: &str) -> EResult<()> {
        if self.out.len() + s.len() > self.options.max_output_bytes {
            return Err(RenderError::TooLarge(self.options.max_output_bytes).into());
        }
        self.out.push_str(s);
        Ok(())
    }

    /// Writes a printed value, escaped as the options ask.
    fn write_value(&mut self, s: &str) -> EResult<()> {
        match self.options.escape {
            Escape::None => self.write_raw(s),
            Escape::Json => self.write_raw(&funcs::json_escape(s)),
        }
    }

    fn nodes(&mut self, nodes: &'a [Node], dot: &Val<'a>) -> EResult<Flow> {
        for node in nodes {
            self.step()?;
            match self.node(node, dot)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn node(&mut self, node: &'a Node, dot: &Val<'a>) -> EResult<Flow> {
        match node {
            Node::Text(parts) => {
                for part in parts {
                    match part {
                        TextPart::Literal(s) => self.write_raw(s)?,
                        TextPart::Content => match &self.options.content {
                            Some(content) => self.write_value(content)?,
                            None => self.write_raw("$content")?,
                        },
                    }
                }
                Ok(Flow::Normal)
            }
            Node::Action(pipe) => {
                let value = self.pipeline(pipe, dot)?;
                if pipe.vars.is_empty() {
                    let text = funcs::display(value.get());
                    self.write_value(&text)?;
                } else {
                    self.bind(pipe, &[value])?;
                }
                Ok(Flow::Normal)
            }
            Node::If {
                branches,
                otherwise,
            }
            | Node::With {
                branches,
                otherwise,
            } => {
                let is_with = matches!(node, Node::With { .. });
                let mark = self.vars.len();
                let mut chosen: Option<(&'a [Node], Val<'a>)> = None;
                for (cond, body) in branches {
                    let value = self.pipeline(cond, dot)?;
                    if !cond.vars.is_empty() {
                        self.bind(cond, std::slice::from_ref(&value))?;
                    }
                    if funcs::truthy(value.get()) {
                        chosen = Some((body, value));
                        break;
                    }
                }
                let flow = match chosen {
                    Some((body, value)) if is_with => self.nodes(body, &value),
                    Some((body, _)) => self.nodes(body, dot),
                    None => self.nodes(otherwise, dot),
                };
                self.vars.truncate(mark);
                flow
            }
            Node::Range {
                pipe,
                body,
                otherwise,
            } => {
                let mark = self.vars.len();
                let flow = self.range(pipe, body, otherwise, dot);
                self.vars.truncate(mark);
                flow
            }
            Node::Break => Ok(Flow::Break),
            Node::Continue => Ok(Flow::Continue),
        }
    }

    fn range(
        &mut self,
        pipe: &'a Pipeline,
        body: &'a [Node],
        otherwise: &'a [Node],
        dot: &Val<'a>,
    ) -> EResult<Flow> {
        let value = self.pipeline(pipe, dot)?;
        let items: Vec<(Val<'a>, Val<'a>)> = match value.get() {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => (0..items.len())
                .map(|i| (Val::own(Value::from(i)), value.sub(|v| v.get(i))))
                .collect(),
            Some(Value::Object(map)) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.into_iter()
                    .map(|k| {
                        let key = k.clone();
                        let item = value.sub(|v| v.get(k.as_str()));
                        (Val::own(Value::String(key)), item)
                    })
                    .collect()
            }
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                let count = n.as_i64().unwrap_or(0).max(0);
                if u64::try_from(count).unwrap_or(u64::MAX) > self.options.max_steps {
                    return Err(RenderError::TooManySteps.into());
                }
                (0..count)
                    .map(|i| (Val::own(Value::from(i)), Val::own(Value::from(i))))
                    .collect()
            }
            other => {
                return Err(eval_error(
                    pipe.pos,
                    format!("range can't iterate over a {}", funcs::kind(other)),
                ));
            }
        };
        if items.is_empty() {
            return self.nodes(otherwise, dot);
        }
        let mark = self.vars.len();
        for (key, item) in items {
            self.step()?;
            self.vars.truncate(mark);
            match pipe.vars.len() {
                0 => {}
                1 => self.bind(pipe, std::slice::from_ref(&item))?,
                _ => self.bind(pipe, &[key, item.clone()])?,
            }
            match self.nodes(body, &item)? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        Ok(Flow::Normal)
    }

    /// Declares (`:=`) or assigns (`=`) the pipeline's variables.
    fn bind(&mut self, pipe: &'a Pipeline, values: &[Val<'a>]) -> EResult<()> {
        for (name, value) in pipe.vars.iter().zip(values) {
            if pipe.assign {
                match self
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| *n == name.as_str())
                {
                    Some(slot) => slot.1 = value.clone(),
                    None => return Err(eval_error(pipe.pos, format!("undefined variable {name}"))),
                }
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, pipe: &'a Pipeline, dot: &Val<'a>) -> EResult<Val<'a>> {
        let mut value: Option<Val<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        Ok(value.unwrap_or(Val::Missing))
    }

    fn command(
        &mut self,
        cmd: &'a Command,
        dot: &Val<'a>,
        piped: Option<Val<'a>>,
    ) -> EResult<Val<'a>> {
        self.step()?;
        match cmd {
            Command::Value(operand) => self.operand(operand, dot),
            Command::Call { pos, func, args } => match func {
                Func::And | Func::Or => {
                    let want = *func == Func::Or;
                    let mut last = Val::Missing;
                    for arg in args {
                        last = self.operand(arg, dot)?;
                        if funcs::truthy(last.get()) == want {
                            return Ok(last);
                        }
                    }
                    Ok(piped.unwrap_or(last))
                }
                _ => {
                    let mut values = Vec::with_capacity(args.len() + 1);
                    for arg in args {
                        values.push(self.operand(arg, dot)?);
                    }
                    values.extend(piped);
                    if *func == Func::Index {
                        return self.index(*pos, &values);
                    }
                    let refs: Vec<Option<&Value>> = values.iter().map(Val::get).collect();
                    match funcs::call(*func, &refs, self.options.max_output_bytes) {
                        Ok(v) => Ok(Val::own(v)),
                        Err(FuncError::TooLarge) => {
                            Err(RenderError::TooLarge(self.options.max_output_bytes).into())
                        }
                        Err(FuncError::Msg(m)) => {
                            Err(eval_error(*pos, format!("{}: {m}", func.name())))
                        }
                    }
                }
            },
        }
    }

    /// `index`, keeping borrowed values borrowed.
    fn index(&self, pos: Pos, values: &[Val<'a>]) -> EResult<Val<'a>> {
        let Some((first, keys)) = values.split_first() else {
            return Ok(Val::Missing);
        };
        let mut current = first.clone();
        for key in keys {
            match funcs::index_one(current.get(), key.get()) {
                Ok(_) => {}
                Err(FuncError::Msg(m)) => return Err(eval_error(pos, format!("index: {m}"))),
                Err(FuncError::TooLarge) => {
                    return Err(RenderError::TooLarge(self.options.max_output_bytes).into());
                }
            }
            current = current.sub(|c| funcs::index_one(Some(c), key.get()).ok().flatten());
        }
        Ok(current)
    }

    fn operand(&mut self, operand: &'a Operand, dot: &Val<'a>) -> EResult<Val<'a>> {
        let mut value = match &operand.term {
            Term::Dot => dot.clone(),
            Term::Var(name) => match self.vars.iter().rev().find(|(n, _)| *n == name.as_str()) {
                Some((_, v)) => v.clone(),
                None => {
                    return Err(eval_error(
                        operand.pos,
                        format!("undefined variable {name}"),
                    ));
                }
            },
            Term::Const(v) => Val::Ref(v),
            Term::Pipe(pipe) => self.pipeline(pipe, dot)?,
        };
        for field in &operand.fields {
            match funcs::present(value.get()) {
                None | Some(Value::Object(_)) => {}
                other => {
                    return Err(eval_error(
                        operand.pos,
                        format!(
                            "can't read field .{field} of a {} (only maps have fields)",
                            funcs::kind(other)
                        ),
                    ));
                }
            }
            value = value.sub(|v| v.get(field.as_str()));
        }
        Ok(value)
    }
}

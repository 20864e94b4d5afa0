//! Notification templates: a small Go `text/template` dialect over JSON.
//!
//! Admins write these at runtime (webhook bodies, chat messages), so they are
//! parsed and checked on save ([`check`], [`Template::parse`]) with a 1-based
//! line and column for every error, and rendered with bounded time and output
//! ([`RenderOptions`]). The data is the Alertmanager v4 payload as JSON plus
//! Herald's `startTime`, `endTime` and `dispatchRuleName` (see [`sample_alert`]).
//!
//! # Syntax
//!
//! - Text with actions `{{ … }}`; comments `{{/* … */}}`; trim markers
//!   `{{- ` and ` -}}` remove all adjacent ASCII whitespace (space, tab, CR,
//!   LF) before/after the action. As in Go the `-` must be followed/preceded
//!   by a space: `{{-3}}` is the number −3.
//! - Values: `.` (dot), `.a.b.c`, `$` (the root), `$.a`, `$x`, `$x.a`,
//!   `(pipeline).a`, strings `"…"` (Go escapes) and `` `raw` ``, numbers
//!   (`42`, `-3`, `1.5`, `1e3`, `0x1F`), `true`, `false`, `nil`.
//! - Pipelines: `f a b`, `.x | printf "%s"` (the piped value becomes the last
//!   argument), parenthesised `(eq .a "b")`.
//! - Variables: `{{ $x := … }}` declares, `{{ $x = … }}` assigns; both print
//!   nothing. A variable lives until the `{{end}}` of the block declaring it.
//! - `{{if p}}…{{else if p}}…{{else}}…{{end}}`, `{{with p}}…{{else with p}}…
//!   {{else}}…{{end}}` (dot becomes the value), `{{range p}}…{{else}}…{{end}}`
//!   with `{{range $e := p}}`, `{{range $i, $e := p}}`, `{{break}}`,
//!   `{{continue}}`. Lists iterate in order, maps in sorted key order (the key
//!   in `$k`), an integer `n` over `0..n`; missing/null runs the `else`.
//! - **`for` is an alias of `range`** (`{{ for .alerts }}…{{ end }}`), because
//!   the Alibaba Cloud sample templates that admins copy write it that way.
//!   Go itself rejects `for`.
//! - **`\"…\"` inside an action is a string**, with JSON escapes, so a
//!   template stored inside a JSON string literal works unchanged:
//!   `"text": "{{if eq \"app\" .kind}}…{{end}}"`.
//! - `define`, `template`, `block` and character constants (`'a'`) are not
//!   supported (parse error).
//!
//! # Functions
//!
//! `and`, `or` (short-circuit; return the deciding value, like Go), `not`,
//! `eq a b c…` (a == b or a == c…), `ne`, `lt`, `le`, `gt`, `ge`, `len`,
//! `index x k…`, `slice x i j`, `print`, `printf`, `println`, `html`, `js`,
//! `urlquery`. Unknown functions and wrong argument counts are parse errors.
//!
//! Differences from Go, chosen so that alert data never breaks a send:
//! - **A missing key prints the empty string**, not Go's `<no value>`: admins
//!   write `{{ .commonLabels.cluster }}` for labels that are often absent.
//!   `.missing.deeper` is also missing, not an error. JSON `null` behaves
//!   like a missing value.
//! - `eq`/`ne` never fail: values of different kinds are unequal; a missing
//!   value equals only a missing value (or `nil`); numbers compare by value
//!   (`1` equals `1.0`). `lt`/`le`/`gt`/`ge` compare numbers with numbers and
//!   strings with strings (an error otherwise) and are false when a side is
//!   missing.
//! - `len` counts **characters** (Unicode scalar values) of a string, not
//!   bytes; `slice` on strings also counts characters, and clamps positions
//!   past the end. `len` of a missing value is 0.
//! - `index` of a missing key, of a list position out of range, or of a
//!   missing value gives a missing value; indexing a string, number or bool
//!   is an error.
//! - `printf "%s"` prints any value like `%v`; other wrong verbs print Go's
//!   markers (`%!d(string=x)`).
//!
//! # Printing
//!
//! Strings as-is, integers without a decimal point (JSON integers stay
//! integers), floats like Go's `%v` (`1.5`, `1e+06`), `true`/`false`,
//! missing/null as "", lists and maps as compact JSON. With [`Escape::Json`]
//! every value printed by an action is escaped for the inside of a JSON string
//! literal; literal template text is never changed.
//!
//! # `$content`
//!
//! The text `$content` in the template text (outside actions) is replaced by
//! [`RenderOptions::content`] when set (escaped like a printed value), and
//! left as-is otherwise.
//!
//! # Limits
//!
//! Nesting (blocks and parentheses) is limited to 64 levels at parse time.
//! Every node, command and loop iteration is a step ([`RenderError::TooManySteps`]
//! past `max_steps`); the output and every string built by a function are
//! limited to `max_output_bytes` ([`RenderError::TooLarge`]).

mod eval;
mod funcs;
mod lexer;
mod parser;
mod sample;

#[cfg(test)]
mod tests;

pub use sample::sample_alert;

/// A parsed, checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    nodes: Vec<parser::Node>,
}

/// A template that does not parse, with the 1-based position (column in
/// characters) of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// How values printed by actions are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Printed as-is.
    None,
    /// Escaped for the inside of a JSON string literal (quotes, backslashes,
    /// control characters as `\n`, `\t`, `\u00XX`). Literal template text is
    /// never changed.
    Json,
}

/// Options for [`Template::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    pub escape: Escape,
    /// Upper bound on the output, and on any string built while rendering.
    pub max_output_bytes: usize,
    /// Upper bound on evaluated nodes, commands and loop iterations.
    pub max_steps: u64,
    /// Replaces `$content` in the template text when set.
    pub content: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            escape: Escape::None,
            max_output_bytes: 64 * 1024,
            max_steps: 100_000,
            content: None,
        }
    }
}

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the output would exceed {0} bytes")]
    TooLarge(usize),
    #[error("the template took too many steps (loops too large)")]
    TooManySteps,
    #[error("line {line}, column {column}: {message}")]
    Eval {
        line: usize,
        column: usize,
        message: String,
    },
}

impl Template {
    /// Parses and checks a template.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let tokens = lexer::lex(source).map_err(|e| {
            let (line, column) = lexer::LineIndex::new(source).position(e.offset);
            TemplateError {
                line,
                column,
                message: e.message,
            }
        })?;
        let nodes = parser::Parser::new(source, tokens).parse_template()?;
        Ok(Template {
            source: source.to_owned(),
            nodes,
        })
    }

    /// Renders the template over `data`.
    pub fn render(
        &self,
        data: &serde_json::Value,
        options: &RenderOptions,
    ) -> Result<String, RenderError> {
        eval::Evaluator::new(&self.source, data, options).run(&self.nodes)
    }
}

/// Checks a template field's text; convenience for form validation.
pub fn check(source: &str) -> Result<(), TemplateError> {
    Template::parse(source).map(|_| ())
}

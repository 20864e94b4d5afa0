//! Splits a template into text and action tokens.
//!
//! Positions are byte offsets into the source; [`LineIndex`] turns them into
//! 1-based line and column (in characters) for error messages.

/// A lexing failure at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Literal text between actions, already trimmed by `{{-`/`-}}`.
    Text(String),
    /// `{{` (or `{{- `): the start of an action.
    Open,
    /// `}}` (or ` -}}`): the end of an action.
    Close,
    /// A lone `.`.
    Dot,
    /// `.name`: one field step.
    Field(String),
    /// `$` or `$name`.
    Variable(String),
    /// A keyword, function name, `true`, `false` or `nil`.
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    Pipe,
    Comma,
    Declare,
    Assign,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Maps byte offsets to 1-based (line, column); columns count characters.
pub(crate) struct LineIndex<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub fn new(source: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            source,
            line_starts,
        }
    }

    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .source
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line, column + 1)
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn trim_space_end(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

fn trim_space_start(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        offset,
        message: message.into(),
    })
}

/// Tokenizes the whole template.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    loop {
        let open = src[pos..].find("{{").map(|i| pos + i);
        let text_end = open.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        if trim_next_text {
            text = trim_space_start(text);
        }
        let Some(open) = open else {
            push_text(&mut out, text, pos, text_end);
            return Ok(out);
        };
        let mut cursor = open + 2;
        let trim_left = src[cursor..].starts_with('-')
            && src[cursor + 1..].chars().next().is_some_and(is_space);
        if trim_left {
            text = trim_space_end(text);
            cursor += 1;
        }
        push_text(&mut out, text, pos, text_end);

        // A comment: `{{/* … */}}`, whitespace and trim markers allowed around it.
        let after_space = cursor + (src[cursor..].len() - trim_space_start(&src[cursor..]).len());
        if src[after_space..].starts_with("/*") {
            let Some(close) = src[after_space + 2..].find("*/") else {
                return err(open, "unclosed comment");
            };
            let mut p = after_space + 2 + close + 2;
            let rest = trim_space_start(&src[p..]);
            let skipped = src[p..].len() - rest.len();
            p += skipped;
            if rest.starts_with("}}") {
                trim_next_text = false;
                pos = p + 2;
            } else if skipped > 0 && rest.starts_with("-}}") {
                trim_next_text = true;
                pos = p + 3;
            } else {
                return err(p, "a comment must end right before the closing }}");
            }
            continue;
        }

        out.push(Token {
            tok: Tok::Open,
            start: open,
            end: cursor,
        });
        let (end, trim_right) = lex_action(src, open, cursor, &mut out)?;
        trim_next_text = trim_right;
        pos = end;
    }
}

fn push_text(out: &mut Vec<Token>, text: &str, start: usize, end: usize) {
    if !text.is_empty() {
        out.push(Token {
            tok: Tok::Text(text.to_owned()),
            start,
            end,
        });
    }
}

/// Lexes the inside of one action; returns the offset after `}}` and whether
/// it ended with a right trim marker.
fn lex_action(
    src: &str,
    open: usize,
    mut p: usize,
    out: &mut Vec<Token>,
) -> Result<(usize, bool), LexError> {
    loop {
        let rest = trim_space_start(&src[p..]);
        let skipped = src[p..].len() - rest.len();
        p += skipped;
        let rest = &src[p..];
        if rest.is_empty() {
            return err(open, "unclosed action: this {{ has no matching }}");
        }
        if rest.starts_with("}}") {
            out.push(Token {
                tok: Tok::Close,
                start: p,
                end: p + 2,
            });
            return Ok((p + 2, false));
        }
        if rest.starts_with("-}}") && skipped > 0 {
            out.push(Token {
                tok: Tok::Close,
                start: p,
                end: p + 3,
            });
            return Ok((p + 3, true));
        }
        let mut chars = rest.chars();
        let c = chars.next().unwrap_or(' ');
        let next = chars.next();
        let start = p;
        let single = |tok: Tok, len: usize| Token {
            tok,
            start,
            end: start + len,
        };
        let token = match c {
            '(' => single(Tok::LParen, 1),
            ')' => single(Tok::RParen, 1),
            '|' => single(Tok::Pipe, 1),
            ',' => single(Tok::Comma, 1),
            '=' => single(Tok::Assign, 1),
            ':' if next == Some('=') => single(Tok::Declare, 2),
            '"' => lex_quoted(src, start)?,
            '`' => match src[start + 1..].find('`') {
                Some(len) => Token {
                    tok: Tok::Str(src[start + 1..start + 1 + len].to_owned()),
                    start,
                    end: start + len + 2,
                },
                None => return err(start, "unterminated raw string"),
            },
            '\\' if next == Some('"') => lex_json_quoted(src, start)?,
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => lex_number(src, start)?,
            '.' if next.is_some_and(is_ident_char) => {
                let name = ident_at(&src[start + 1..]);
                Token {
                    tok: Tok::Field(name.to_owned()),
                    start,
                    end: start + 1 + name.len(),
                }
            }
            '.' => single(Tok::Dot, 1),
            '$' => {
                let name = ident_at(&src[start + 1..]);
                Token {
                    tok: Tok::Variable(format!("${name}")),
                    start,
                    end: start + 1 + name.len(),
                }
            }
            '0'..='9' => lex_number(src, start)?,
            '+' | '-'
                if next.is_some_and(|n| n.is_ascii_digit())
                    || (next == Some('.')
                        && rest[2..].chars().next().is_some_and(|n| n.is_ascii_digit())) =>
            {
                lex_number(src, start)?
            }
            '\'' => {
                return err(
                    start,
                    "character constants ('x') are not supported; use a \"string\"",
                );
            }
            c if is_ident_char(c) => {
                let name = ident_at(rest);
                Token {
                    tok: Tok::Ident(name.to_owned()),
                    start,
                    end: start + name.len(),
                }
            }
            '-' => {
                return err(
                    start,
                    "unexpected '-' in action (for a key containing '-', write index .labels \"the-key\")",
                );
            }
            c => return err(start, format!("unexpected character {c:?} in action")),
        };
        p = token.end;
        out.push(token);
    }
}

fn ident_at(s: &str) -> &str {
    let len = s
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(s.len(), |(i, _)| i);
    &s[..len]
}

/// Reads one character at an offset: `Ok(Some((char, next offset)))`.
type CharReader = fn(&str, usize) -> Result<Option<(char, usize)>, LexError>;

/// Reads one character of raw source at `p`: `(char, next offset)`.
fn raw_char(src: &str, p: usize) -> Result<Option<(char, usize)>, LexError> {
    Ok(src[p..].chars().next().map(|c| (c, p + c.len_utf8())))
}

/// Reads one character of source that is inside a JSON string literal,
/// decoding the JSON escape at `p` if there is one.
fn json_char(src: &str, p: usize) -> Result<Option<(char, usize)>, LexError> {
    let mut chars = src[p..].chars();
    let Some(c) = chars.next() else {
        return Ok(None);
    };
    if c != '\\' {
        return Ok(Some((c, p + c.len_utf8())));
    }
    let decoded = match chars.next() {
        Some('"') => '"',
        Some('\\') => '\\',
        Some('/') => '/',
        Some('n') => '\n',
        Some('t') => '\t',
        Some('r') => '\r',
        Some('b') => '\u{8}',
        Some('f') => '\u{c}',
        Some('u') => {
            let hex = src.get(p + 2..p + 6).unwrap_or("");
            return match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                Some(ch) if hex.len() == 4 => Ok(Some((ch, p + 6))),
                _ => err(p, "bad \\u escape in a \\\"…\\\" string"),
            };
        }
        Some(other) => {
            return err(
                p,
                format!("bad JSON escape \\{other} in a \\\"…\\\" string"),
            );
        }
        None => return Ok(None),
    };
    Ok(Some((decoded, p + 2)))
}

/// A Go interpreted string literal whose opening quote ends just before
/// `body`; `next` reads characters (raw, or JSON-decoded for `\"…\"`).
fn go_string(src: &str, start: usize, body: usize, next: CharReader) -> Result<Token, LexError> {
    let mut value = String::new();
    let mut p = body;
    while let Some((c, after)) = next(src, p)? {
        match c {
            '"' => {
                return Ok(Token {
                    tok: Tok::Str(value),
                    start,
                    end: after,
                });
            }
            '\n' => break,
            '\\' => {
                let Some((e, mut after_escape)) = next(src, after)? else {
                    break;
                };
                let simple = match e {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    'r' => Some('\r'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'v' => Some('\u{b}'),
                    _ => None,
                };
                if let Some(ch) = simple {
                    value.push(ch);
                    p = after_escape;
                    continue;
                }
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    _ => return err(p, format!("unknown escape sequence \\{e} in string")),
                };
                let mut code = 0u32;
                for _ in 0..digits {
                    match next(src, after_escape)? {
                        Some((d, a)) if d.is_ascii_hexdigit() => {
                            code = code * 16 + d.to_digit(16).unwrap_or(0);
                            after_escape = a;
                        }
                        _ => return err(p, "bad hexadecimal escape in string"),
                    }
                }
                match char::from_u32(code) {
                    Some(ch) => value.push(ch),
                    None => return err(p, "escape is not a valid character"),
                }
                p = after_escape;
            }
            c => {
                value.push(c);
                p = after;
            }
        }
    }
    err(start, "unterminated quoted string")
}

/// A Go interpreted string literal `"…"` with its escapes.
fn lex_quoted(src: &str, start: usize) -> Result<Token, LexError> {
    go_string(src, start, start + 1, raw_char)
}

/// `\"…\"`: a string written inside a JSON string literal, as the seed
/// templates do (`{{if eq \"app\" .x}}` in a JSON body). The source is
/// JSON-decoded first, then read as a Go string.
fn lex_json_quoted(src: &str, start: usize) -> Result<Token, LexError> {
    go_string(src, start, start + 2, json_char)
}

fn lex_number(src: &str, start: usize) -> Result<Token, LexError> {
    let rest = &src[start..];
    let bytes = rest.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let hex = rest[i..].starts_with("0x") || rest[i..].starts_with("0X");
    let mut is_float = false;
    if hex {
        i += 2;
        while i < bytes.len() && (bytes[i].is_ascii_hexdigit() || bytes[i] == b'_') {
            i += 1;
        }
    } else {
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            is_float = true;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            is_float = true;
            i += 1;
            if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                i += 1;
            }
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if rest[i..]
        .chars()
        .next()
        .is_some_and(|c| is_ident_char(c) || c == '.')
    {
        return err(start, "bad number syntax");
    }
    let text: String = rest[..i].chars().filter(|&c| c != '_').collect();
    let tok = if hex {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text.trim_start_matches('+')),
        };
        match i64::from_str_radix(&digits[2..], 16) {
            Ok(v) if neg => Tok::Int(-v),
            Ok(v) => Tok::Int(v),
            Err(_) => return err(start, "bad number syntax"),
        }
    } else if is_float {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Tok::Float(v),
            _ => return err(start, "bad number syntax"),
        }
    } else {
        match text.parse::<i64>() {
            Ok(v) => Tok::Int(v),
            Err(_) => return err(start, "number out of range or bad number syntax"),
        }
    };
    Ok(Token {
        tok,
        start,
        end: start + i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        match lex(src) {
            Ok(t) => t.into_iter().map(|t| t.tok).collect(),
            Err(e) => panic!("lex error {e:?}"),
        }
    }

    #[test]
    fn text_and_fields() {
        assert_eq!(
            toks("a {{ .b.c $x.y $ . }}z"),
            vec![
                Tok::Text("a ".into()),
                Tok::Open,
                Tok::Field("b".into()),
                Tok::Field("c".into()),
                Tok::Variable("$x".into()),
                Tok::Field("y".into()),
                Tok::Variable("$".into()),
                Tok::Dot,
                Tok::Close,
                Tok::Text("z".into()),
            ]
        );
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(
            toks(r#"{{-3 1.5 0x1F 1e3 "a\n\u00e9" `r\n` \"j\\\"q\\n\" \"\" }}"#),
            vec![
                Tok::Open,
                Tok::Int(-3),
                Tok::Float(1.5),
                Tok::Int(31),
                Tok::Float(1000.0),
                Tok::Str("a\né".into()),
                Tok::Str("r\\n".into()),
                Tok::Str("j\"q\n".into()),
                Tok::Str(String::new()),
                Tok::Close,
            ]
        );
    }

    #[test]
    fn trims_and_comments() {
        assert_eq!(
            toks("a \n {{- 1 -}} \n b {{/* c */}} d {{- /* e */ -}}\tf"),
            vec![
                Tok::Text("a".into()),
                Tok::Open,
                Tok::Int(1),
                Tok::Close,
                Tok::Text("b ".into()),
                Tok::Text(" d".into()),
                Tok::Text("f".into()),
            ]
        );
    }

    #[test]
    fn positions() {
        let idx = LineIndex::new("ab\ncdé\nf");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(8), (3, 1));
        assert_eq!(idx.position(7), (2, 4));
    }
}

//! Built-in functions, value printing, truthiness, comparisons and escapes.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

/// The functions a template may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

const ALL: [Func; 18] = [
    Func::And,
    Func::Or,
    Func::Not,
    Func::Len,
    Func::Index,
    Func::Slice,
    Func::Print,
    Func::Printf,
    Func::Println,
    Func::Html,
    Func::Js,
    Func::Urlquery,
    Func::Eq,
    Func::Ne,
    Func::Lt,
    Func::Le,
    Func::Gt,
    Func::Ge,
];

impl Func {
    pub fn lookup(name: &str) -> Option<Func> {
        ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::And => "and",
            Func::Or => "or",
            Func::Not => "not",
            Func::Len => "len",
            Func::Index => "index",
            Func::Slice => "slice",
            Func::Print => "print",
            Func::Printf => "printf",
            Func::Println => "println",
            Func::Html => "html",
            Func::Js => "js",
            Func::Urlquery => "urlquery",
            Func::Eq => "eq",
            Func::Ne => "ne",
            Func::Lt => "lt",
            Func::Le => "le",
            Func::Gt => "gt",
            Func::Ge => "ge",
        }
    }

    /// Minimum and maximum (None: unlimited) argument counts.
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::And | Func::Or | Func::Index | Func::Printf => (1, None),
            Func::Not | Func::Len => (1, Some(1)),
            Func::Slice => (1, Some(3)),
            Func::Print | Func::Println | Func::Html | Func::Js | Func::Urlquery => (0, None),
            Func::Eq => (2, None),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (2, Some(2)),
        }
    }
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FuncError {
    /// A message for the user; the caller adds the position.
    Msg(String),
    /// A produced string would exceed the output limit.
    TooLarge,
}

fn msg<T>(m: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError::Msg(m.into()))
}

/// `None` is a missing value; JSON `null` is treated the same.
pub(crate) fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// Go truthiness: missing/null, false, 0, "", empty array/object are false.
pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match present(v) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) => false,
    }
}

/// A short type name for messages.
pub(crate) fn kind(v: Option<&Value>) -> &'static str {
    match present(v) {
        None | Some(Value::Null) => "missing value",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_f64() => "float",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "list",
        Some(Value::Object(_)) => "map",
    }
}

/// Formats a float like Go's `%v` (`%g`, shortest): exponent form below
/// 1e-4 and from 1e+06 up (`1000000.0` prints `1e+06`, as in Go).
pub(crate) fn format_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let e = format!("{f:e}");
    let Some((mantissa, exp)) = e.split_once('e') else {
        return format!("{f}");
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// How a value prints: strings as-is, integers without a decimal point,
/// missing/null as "", lists and maps as compact JSON.
pub(crate) fn display(v: Option<&Value>) -> String {
    match present(v) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => {
            if n.is_f64() {
                n.as_f64().map_or_else(|| n.to_string(), format_float)
            } else {
                n.to_string()
            }
        }
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    match (a.as_i64(), b.as_u64()) {
        (Some(_), Some(_)) => return Some(Ordering::Less),
        _ if a.as_u64().is_some() && b.as_i64().is_some() && !a.is_f64() && !b.is_f64() => {
            return Some(Ordering::Greater);
        }
        _ => {}
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Equality: missing/null equals only missing/null; numbers compare by
/// value (1 == 1.0); values of different kinds are simply unequal.
pub(crate) fn equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (present(a), present(b)) {
        (None, None) => true,
        (None, _) | (_, None) => false,
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            compare_numbers(x, y) == Some(Ordering::Equal)
        }
        (Some(x), Some(y)) => x == y,
    }
}

/// Ordering for lt/le/gt/ge: numbers with numbers, strings with strings.
/// `Ok(None)` when a side is missing (the comparison is then false).
pub(crate) fn order(a: Option<&Value>, b: Option<&Value>) -> Result<Option<Ordering>, FuncError> {
    match (present(a), present(b)) {
        (None, _) | (_, None) => Ok(None),
        (Some(Value::Number(x)), Some(Value::Number(y))) => Ok(compare_numbers(x, y)),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(Some(x.cmp(y))),
        (x, y) => msg(format!(
            "can't compare a {} with a {} (only numbers with numbers and strings with strings)",
            kind(x),
            kind(y)
        )),
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn sprint(args: &[Option<&Value>]) -> String {
    let mut out = String::new();
    let mut prev_string = true;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(present(*a), Some(Value::String(_)));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&display(*a));
        prev_string = is_string;
    }
    out
}

fn sprintln(args: &[Option<&Value>]) -> String {
    let mut out = args
        .iter()
        .map(|a| display(*a))
        .collect::<Vec<_>>()
        .join(" ");
    out.push('\n');
    out
}

fn limited(s: String, limit: usize) -> Result<Value, FuncError> {
    if s.len() > limit {
        Err(FuncError::TooLarge)
    } else {
        Ok(Value::String(s))
    }
}

/// Calls a function that is not `and`/`or` (those short-circuit in eval).
/// `limit` bounds the length of produced strings.
pub(crate) fn call(func: Func, args: &[Option<&Value>], limit: usize) -> Result<Value, FuncError> {
    let arg = |i: usize| args.get(i).copied().flatten();
    match func {
        Func::And | Func::Or => {
            // Handled lazily by the evaluator; kept total here.
            let pick = args
                .iter()
                .find(|a| truthy(**a) == (func == Func::Or))
                .or(args.last())
                .copied()
                .flatten();
            Ok(pick.cloned().unwrap_or(Value::Null))
        }
        Func::Not => Ok(Value::Bool(!truthy(arg(0)))),
        Func::Len => match present(arg(0)) {
            None => Ok(Value::from(0)),
            Some(Value::String(s)) => Ok(Value::from(s.chars().count())),
            Some(Value::Array(a)) => Ok(Value::from(a.len())),
            Some(Value::Object(o)) => Ok(Value::from(o.len())),
            other => msg(format!("len of a {} is not defined", kind(other))),
        },
        Func::Index => {
            let mut current = arg(0);
            for key in args.iter().skip(1) {
                current = index_one(current, *key)?;
            }
            Ok(current.cloned().unwrap_or(Value::Null))
        }
        Func::Slice => slice(args),
        Func::Print => limited(sprint(args), limit),
        Func::Println => limited(sprintln(args), limit),
        Func::Printf => {
            let format = match present(arg(0)) {
                Some(Value::String(s)) => s.as_str(),
                other => {
                    return msg(format!(
                        "the first argument of printf must be a format string, not a {}",
                        kind(other)
                    ));
                }
            };
            limited(sprintf(format, args.get(1..).unwrap_or(&[]), limit)?, limit)
        }
        Func::Html => limited(html_escape(&sprint(args)), limit),
        Func::Js => limited(js_escape(&sprint(args)), limit),
        Func::Urlquery => limited(query_escape(&sprint(args)), limit),
        Func::Eq => {
            let first = arg(0);
            Ok(Value::Bool(
                args.iter().skip(1).any(|other| equal(first, *other)),
            ))
        }
        Func::Ne => Ok(Value::Bool(!equal(arg(0), arg(1)))),
        Func::Lt | Func::Le | Func::Gt | Func::Ge => {
            let result = order(arg(0), arg(1))?.is_some_and(|o| match func {
                Func::Lt => o == Ordering::Less,
                Func::Le => o != Ordering::Greater,
                Func::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            });
            Ok(Value::Bool(result))
        }
    }
}

/// One step of `index`: maps by string key, lists by integer position.
/// Missing keys, positions out of range and indexing a missing value give a
/// missing value.
pub(crate) fn index_one<'v>(
    container: Option<&'v Value>,
    key: Option<&Value>,
) -> Result<Option<&'v Value>, FuncError> {
    match (present(container), present(key)) {
        (None, _) => Ok(None),
        (Some(Value::Object(m)), Some(Value::String(k))) => Ok(m.get(k)),
        (Some(Value::Object(_)), k) => {
            msg(format!("a map is indexed by a string, not a {}", kind(k)))
        }
        (Some(Value::Array(a)), Some(Value::Number(n))) => match n.as_i64() {
            Some(i) => Ok(usize::try_from(i).ok().and_then(|i| a.get(i))),
            None => msg("a list is indexed by a whole number"),
        },
        (Some(Value::Array(_)), k) => {
            msg(format!("a list is indexed by a number, not a {}", kind(k)))
        }
        (Some(other), _) => msg(format!("can't index a {}", kind(Some(other)))),
    }
}

fn slice_bound(v: Option<&Value>, len: usize) -> Result<usize, FuncError> {
    match present(v) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if i >= 0 => Ok(usize::try_from(i).unwrap_or(usize::MAX).min(len)),
            _ => msg("slice positions must be whole numbers ≥ 0"),
        },
        other => msg(format!(
            "slice positions must be numbers, not a {}",
            kind(other)
        )),
    }
}

/// `slice x i j`: characters of a string or items of a list; positions past
/// the end are clamped.
fn slice(args: &[Option<&Value>]) -> Result<Value, FuncError> {
    let target = present(args.first().copied().flatten());
    let len = match target {
        None => return Ok(Value::Null),
        Some(Value::String(s)) => s.chars().count(),
        Some(Value::Array(a)) => a.len(),
        other => return msg(format!("can't slice a {}", kind(other))),
    };
    let from = match args.get(1) {
        Some(v) => slice_bound(*v, len)?,
        None => 0,
    };
    let to = match args.get(2) {
        Some(v) => slice_bound(*v, len)?,
        None => len,
    };
    if from > to {
        return msg(format!("slice: start {from} is after end {to}"));
    }
    Ok(match target {
        Some(Value::String(s)) => Value::String(s.chars().skip(from).take(to - from).collect()),
        Some(Value::Array(a)) => Value::Array(a[from..to].to_vec()),
        _ => Value::Null,
    })
}

/// Escapes text for the inside of a JSON string literal.
pub(crate) fn json_escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

pub(crate) fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    json_escape_into(&mut out, s);
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Like Go's `url.QueryEscape`: space becomes `+`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn go_type(v: Option<&Value>) -> &'static str {
    match present(v) {
        None | Some(Value::Null) => "<nil>",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_f64() => "float64",
        Some(Value::Number(_)) => "int",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

fn bad_verb(verb: char, v: Option<&Value>) -> String {
    match present(v) {
        None => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), display(v)),
    }
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, body: String, numeric: bool) -> String {
        let Some(width) = self.width else { return body };
        let len = body.chars().count();
        if len >= width {
            return body;
        }
        let fill = width - len;
        if self.minus {
            format!("{body}{}", " ".repeat(fill))
        } else if self.zero && numeric {
            let (sign, digits) = match body.strip_prefix(['-', '+']) {
                Some(rest) => (&body[..1], rest),
                None => ("", body.as_str()),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }

    fn sign(&self, body: String) -> String {
        if body.starts_with('-') {
            body
        } else if self.plus {
            format!("+{body}")
        } else if self.space {
            format!(" {body}")
        } else {
            body
        }
    }
}

fn read_number(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    limit: usize,
) -> Result<Option<usize>, FuncError> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        let v = n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize);
        if v > limit {
            return Err(FuncError::TooLarge);
        }
        n = Some(v);
    }
    Ok(n)
}

/// A subset of Go's `fmt.Sprintf`: verbs `v s d f e g q t x X c %` with
/// flags `- + space 0 #`, width and precision. `%s` prints any value like
/// `%v`; wrong kinds print Go's `%!d(string=…)` markers.
pub(crate) fn sprintf(
    format: &str,
    args: &[Option<&Value>],
    limit: usize,
) -> Result<String, FuncError> {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() > limit {
            return Err(FuncError::TooLarge);
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_number(&mut chars, limit)?;
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(read_number(&mut chars, limit)?.unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(value) = args.get(next_arg).copied() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next_arg += 1;
        out.push_str(&format_one(verb, &spec, value));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={}", go_type(*a), display(*a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    Ok(out)
}

fn integer_of(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                let f = n.as_f64()?;
                // A float with no fraction (3.0) prints as an integer.
                (f.fract() == 0.0 && f.abs() < 1e18).then_some(f as i128)
            }
        }
        _ => None,
    }
}

fn format_one(verb: char, spec: &Spec, value: Option<&Value>) -> String {
    let v = present(value);
    match verb {
        'v' | 's' => {
            let mut s = display(v);
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            spec.pad(s, false)
        }
        'q' => {
            let mut s = display(v);
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            spec.pad(format!("\"{}\"", json_escape(&s)), false)
        }
        't' => match v {
            Some(Value::Bool(b)) => spec.pad(b.to_string(), false),
            _ => bad_verb(verb, v),
        },
        'd' => match v.and_then(integer_of) {
            Some(i) => spec.pad(spec.sign(i.to_string()), true),
            None => bad_verb(verb, v),
        },
        'c' => match v
            .and_then(integer_of)
            .and_then(|i| u32::try_from(i).ok())
            .and_then(char::from_u32)
        {
            Some(ch) => spec.pad(ch.to_string(), false),
            None => bad_verb(verb, v),
        },
        'x' | 'X' => {
            let body = match v {
                Some(Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                Some(n @ Value::Number(_)) => match integer_of(n) {
                    Some(i) if i < 0 => format!("-{:x}", -i),
                    Some(i) => format!("{i:x}"),
                    None => return bad_verb(verb, v),
                },
                _ => return bad_verb(verb, v),
            };
            let body = if spec.sharp {
                format!("0x{body}")
            } else {
                body
            };
            let body = if verb == 'X' {
                body.to_uppercase()
            } else {
                body
            };
            spec.pad(body, true)
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let Some(f) = v.and_then(as_f64) else {
                return bad_verb(verb, v);
            };
            let body = match verb {
                'f' | 'F' => format!("{f:.*}", spec.precision.unwrap_or(6)),
                'e' | 'E' => {
                    let s = format!("{f:.*e}", spec.precision.unwrap_or(6));
                    let s = go_exponent(&s);
                    if verb == 'E' { s.to_uppercase() } else { s }
                }
                _ => match spec.precision {
                    None => format_float(f),
                    Some(p) => {
                        let p = p.max(1);
                        let exp = if f == 0.0 {
                            0
                        } else {
                            f.abs().log10().floor() as i64
                        };
                        if exp < -4 || exp >= p as i64 {
                            go_exponent(&format!("{f:.*e}", p - 1))
                        } else {
                            let decimals = usize::try_from(p as i64 - 1 - exp).unwrap_or(0);
                            let s = format!("{f:.decimals$}");
                            if s.contains('.') {
                                s.trim_end_matches('0').trim_end_matches('.').to_owned()
                            } else {
                                s
                            }
                        }
                    }
                },
            };
            spec.pad(spec.sign(body), true)
        }
        other => bad_verb(other, v),
    }
}

/// Rust writes `1.5e3`; Go writes `1.5e+03`.
fn go_exponent(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pf(format: &str, args: &[Value]) -> String {
        let refs: Vec<Option<&Value>> = args.iter().map(Some).collect();
        sprintf(format, &refs, 1 << 20).unwrap_or_else(|e| format!("{e:?}"))
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(-2.25), "-2.25");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(pf("%s=%d", &[json!("a"), json!(5)]), "a=5");
        assert_eq!(
            pf("%v %q", &[json!([1, "x"]), json!("a\"b")]),
            "[1,\"x\"] \"a\\\"b\""
        );
        assert_eq!(
            pf("%5s|%-5s|%05d", &[json!("ab"), json!("cd"), json!(-42)]),
            "   ab|cd   |-0042"
        );
        assert_eq!(
            pf("%.2f %e %g", &[json!(1.23456), json!(1500.0), json!(0.5)]),
            "1.23 1.500000e+03 0.5"
        );
        assert_eq!(
            pf(
                "%x %X %t %c %%",
                &[json!(255), json!("hi"), json!(true), json!(65)]
            ),
            "ff 6869 true A %"
        );
        assert_eq!(pf("%d %s", &[json!("x")]), "%!d(string=x) %!s(MISSING)");
        assert_eq!(pf("%s", &[json!("a"), json!(2)]), "a%!(EXTRA int=2)");
        assert_eq!(pf("%.3s", &[json!("abcdef")]), "abc");
        assert_eq!(pf("%.3g", &[json!(1.23456)]), "1.23");
    }

    #[test]
    fn printf_width_is_bounded() {
        let a = json!("x");
        assert_eq!(
            sprintf("%99999999999s", &[Some(&a)], 1000),
            Err(FuncError::TooLarge)
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(json_escape("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39;"
        );
        assert_eq!(js_escape("a'b\n<"), "a\\'b\\u000A\\u003C");
    }

    #[test]
    fn comparisons() {
        assert!(equal(Some(&json!(1)), Some(&json!(1.0))));
        assert!(!equal(Some(&json!("1")), Some(&json!(1))));
        assert!(!equal(None, Some(&json!("x"))));
        assert!(equal(None, Some(&Value::Null)));
        assert_eq!(
            order(Some(&json!(2)), Some(&json!(10))),
            Ok(Some(Ordering::Less))
        );
        assert_eq!(
            order(Some(&json!("b")), Some(&json!("a"))),
            Ok(Some(Ordering::Greater))
        );
        assert_eq!(order(None, Some(&json!(1))), Ok(None));
        assert!(order(Some(&json!("a")), Some(&json!(1))).is_err());
        assert_eq!(
            order(Some(&json!(-1)), Some(&json!(u64::MAX))),
            Ok(Some(Ordering::Less))
        );
    }
}

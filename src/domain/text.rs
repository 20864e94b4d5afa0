//! Which characters Herald refuses in text it is given: control characters other than tab,
//! line feed and carriage return. PostgreSQL cannot store NUL, and nothing a person types or
//! an alert carries needs the others. The console's forms (`web::csrf`) and the JSON APIs
//! check with these same functions, so the rule is one rule.

use serde_json::Value;

/// A character that is refused in any text field.
pub fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

pub fn has_refused(s: &str) -> bool {
    s.chars().any(is_refused)
}

/// The path of the first string (or object key) in `v` holding a refused character, written
/// as a client would name it: `alerts[3].labels.team`; None when all text is acceptable.
pub fn refused_in_json(v: &Value) -> Option<String> {
    fn walk(v: &Value, path: &mut String) -> bool {
        match v {
            Value::String(s) => has_refused(s),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.chars().filter(|c| !is_refused(*c)).collect::<String>());
                let found = has_refused(k) || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(v, &mut path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_and_newlines_are_text_the_rest_is_not() {
        assert!(!has_refused("a\tb\r\nc"));
        for bad in ["\u{0}", "\u{b}", "\u{c}", "\u{1b}[31m", "\u{85}"] {
            assert!(has_refused(bad), "{bad:?}");
        }
    }

    #[test]
    fn json_paths_name_the_field() {
        let v: Value = serde_json::json!({
            "alerts": [
                {"labels": {"team": "db"}},
                {"labels": {"team": "web", "host": "a\u{0}b"}}
            ]
        });
        assert_eq!(
            refused_in_json(&v).as_deref(),
            Some("alerts[1].labels.host")
        );
        assert_eq!(
            refused_in_json(&serde_json::json!({"a": ["ok", 1, null]})),
            None
        );
        assert_eq!(
            refused_in_json(&serde_json::json!({"bad\u{0}key": 1})).as_deref(),
            Some("badkey")
        );
    }
}

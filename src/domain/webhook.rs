//! Webhook integration settings, checked at the edge (SPEC §2.5 limits).

use crate::domain::ObjectName;
use crate::template;

pub const URL_MAX: usize = 100;
pub const PAIRS_MAX: usize = 6;
pub const PAIRS_CHARS_MAX: usize = 200;
pub const TEMPLATE_MAX: usize = 500;
pub const DEFAULT_HEADER: (&str, &str) = ("Content-Type", "text/plain; charset=UTF-8");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Get,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Method {
    pub fn code(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Get => "GET",
        }
    }

    pub fn parse(s: &str) -> Result<Method, &'static str> {
        match s {
            "POST" => Ok(Method::Post),
            "GET" => Ok(Method::Get),
            _ => Err("Choose POST or GET."),
        }
    }
}

/// Headers (POST) or query parameters (GET), in order; stored as a JSON list of pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn to_json(&self) -> String {
        // A list of string pairs always serializes.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

/// A webhook as saved: every limit holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInput {
    pub name: ObjectName,
    pub method: Method,
    pub url: String,
    /// Headers for POST, query parameters for GET.
    pub pairs: Vec<(String, String)>,
    pub template: String,
    pub resolve_template: String,
}

pub use crate::domain::Problems;

pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Enter the URL the webhook calls.".into());
    }
    if url.chars().count() > URL_MAX {
        return Err(format!(
            "The URL can be at most {URL_MAX} characters (this one has {}).",
            url.chars().count()
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|_| "Enter a full URL starting with http:// or https://.".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("Enter a full URL starting with http:// or https://.".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("Put credentials in a header, not in the URL.".into());
    }
    Ok(url.to_string())
}

/// Checks the name/value rows (blank rows are dropped) against the limits.
pub fn check_pairs(
    method: Method,
    rows: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .filter(|(n, v)| !n.is_empty() || !v.is_empty())
        .collect();
    if pairs.len() > PAIRS_MAX {
        return Err(format!("At most {PAIRS_MAX} headers or parameters in all."));
    }
    let chars: usize = pairs
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    if chars > PAIRS_CHARS_MAX {
        return Err(format!(
            "Headers and parameters can be at most {PAIRS_CHARS_MAX} characters together (these have {chars})."
        ));
    }
    for (n, v) in &pairs {
        if n.is_empty() {
            return Err(format!("The value “{v}” has no name."));
        }
        if v.chars().any(char::is_control) || n.chars().any(char::is_control) {
            return Err(
                "Names and values cannot contain line breaks or control characters.".into(),
            );
        }
        if method == Method::Post && reqwest::header::HeaderName::from_bytes(n.as_bytes()).is_err()
        {
            return Err(format!(
                "“{n}” is not a valid header name (letters, digits and - only)."
            ));
        }
        if method == Method::Post && reqwest::header::HeaderValue::from_str(v).is_err() {
            return Err(format!("The value of “{n}” is not a valid header value."));
        }
    }
    Ok(pairs)
}

/// Checks a body template: length, then syntax (with the error's line and column).
pub fn check_template(method: Method, text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    if method == Method::Get {
        return Err("Only POST webhooks send a body: clear this template or choose POST.".into());
    }
    let n = text.chars().count();
    if n > TEMPLATE_MAX {
        return Err(format!("At most {TEMPLATE_MAX} characters (this has {n})."));
    }
    template::check(text).map_err(|e| format!("Template error at {e}"))?;
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: usize, len: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("X-{i}"), "v".repeat(len)))
            .collect()
    }

    #[test]
    fn url_limit_is_inclusive() {
        let base = "https://example.com/";
        let at = format!("{base}{}", "a".repeat(URL_MAX - base.len()));
        assert!(check_url(&at).is_ok());
        assert!(check_url(&format!("{at}a")).is_err());
        assert!(check_url("ftp://example.com/x").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("").is_err());
    }

    #[test]
    fn six_pairs_and_two_hundred_characters() {
        assert!(check_pairs(Method::Post, &pairs(6, 1)).is_ok());
        assert!(check_pairs(Method::Post, &pairs(7, 1)).is_err());
        // Names "X-0" are 3 chars: 200 in all is allowed, 201 is not.
        let mut at = vec![("X-0".to_string(), "v".repeat(197))];
        assert!(check_pairs(Method::Post, &at).is_ok());
        at[0].1.push('v');
        assert!(check_pairs(Method::Post, &at).is_err());
        assert!(check_pairs(Method::Post, &[("bad name".into(), "v".into())]).is_err());
        assert!(check_pairs(Method::Get, &[("q".into(), "a b".into())]).is_ok());
        assert!(check_pairs(Method::Post, &[(String::new(), "v".into())]).is_err());
        assert_eq!(
            check_pairs(Method::Post, &[(String::new(), String::new())]),
            Ok(vec![])
        );
    }

    #[test]
    fn templates_are_post_only_and_bounded() {
        assert!(check_template(Method::Post, &"a".repeat(TEMPLATE_MAX)).is_ok());
        assert!(check_template(Method::Post, &"a".repeat(TEMPLATE_MAX + 1)).is_err());
        assert!(check_template(Method::Get, "x").is_err());
        assert_eq!(check_template(Method::Get, "  "), Ok(String::new()));
    }
}

use std::fmt;
use std::str::FromStr;

/// A syntactically valid email address, lower-cased so that uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("Enter a valid email address, e.g. ops@example.com.")]
    Invalid,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        // Display names ("Ops <ops@x>") and IP-literal domains are valid RFC 5322 but never what
        // an admin means in a contact field, and mail relays refuse most of them.
        if s.len() > 254 || s.contains(['<', '>', '[', ']', ' ', ',', ';']) {
            return Err(EmailError::Invalid);
        }
        let parsed = email_address::EmailAddress::from_str(s).map_err(|_| EmailError::Invalid)?;
        if !parsed.domain().contains('.') || parsed.domain().ends_with('.') {
            return Err(EmailError::Invalid);
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `o***@example.com`: recognisable to its owner, not harvestable from a shared link.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        }
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(
            EmailAddress::parse(" Ops@Example.COM ").map(|e| e.0),
            Ok("ops@example.com".into())
        );
        assert!(EmailAddress::parse("a.b+tag@sub.example.cn").is_ok());
    }

    #[test]
    fn refuses_bad_syntax() {
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "ops@localhost",
            "a b@example.com",
            "Ops <ops@example.com>",
            "ops@[127.0.0.1]",
            "ops@@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
    }
}

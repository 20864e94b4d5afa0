use std::fmt;

use phonenumber::Mode;

/// A phone number in E.164 form (`+8613900001111`). Only `parse` builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter a phone number.")]
    Empty,
    #[error("Enter the number with its country code, e.g. +8613900001111.")]
    NotANumber,
    #[error("This is not a valid phone number for country code +{0}.")]
    Invalid(u16),
}

impl PhoneNumber {
    /// Accepts `+8613900001111`, `86 139-0000-1111` and `0086…`; the country code is required
    /// because contacts live in many countries and a guessed region would silently misroute.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
            .collect();
        if compact.is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest
        } else {
            compact.as_str()
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15 {
            return Err(PhoneError::NotANumber);
        }
        let parsed =
            phonenumber::parse(None, format!("+{digits}")).map_err(|_| PhoneError::NotANumber)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid(parsed.code().value()));
        }
        Ok(Self(parsed.format().mode(Mode::E164).to_string()))
    }

    /// A number read back from the database, which only stores what `parse` made. Checked for
    /// E.164's shape (`+` and up to 15 digits), not re-validated against the numbering plan:
    /// the check is cheap enough for every row of a contact list, and a damaged value is an
    /// error, never silently used.
    pub fn parse_stored(e164: &str) -> Result<Self, PhoneError> {
        let digits = e164.strip_prefix('+').ok_or(PhoneError::NotANumber)?;
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotANumber);
        }
        Ok(Self(e164.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+86 139****1111`: enough for a person to recognise their number, not enough to harvest.
    pub fn masked(&self) -> String {
        let parsed = phonenumber::parse(None, &self.0).ok();
        let (code, national) = match &parsed {
            Some(p) => (
                p.code().value().to_string(),
                p.national().value().to_string(),
            ),
            None => (String::new(), self.0.trim_start_matches('+').to_string()),
        };
        let n = national.len();
        let masked = if n <= 4 {
            "*".repeat(n)
        } else {
            let keep_head = (n - 4).min(3);
            let stars = n - 4 - keep_head;
            format!(
                "{}{}{}",
                &national[..keep_head],
                "*".repeat(stars.max(1)),
                &national[n - 4..]
            )
        };
        if code.is_empty() {
            format!("+{masked}")
        } else {
            format!("+{code} {masked}")
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_numbers_are_checked_not_trusted() {
        assert_eq!(
            PhoneNumber::parse_stored("+8613900001111").map(|p| p.0),
            Ok("+8613900001111".to_string())
        );
        for damaged in [
            "",
            "8613900001111",
            "+",
            "+86 139",
            "+1234567890123456",
            "+86abc",
        ] {
            assert!(PhoneNumber::parse_stored(damaged).is_err(), "{damaged:?}");
        }
    }

    #[test]
    fn accepts_e164() {
        assert_eq!(
            PhoneNumber::parse("+8613900001111").map(|p| p.0),
            Ok("+8613900001111".into())
        );
    }

    #[test]
    fn adds_missing_plus_and_strips_separators() {
        assert_eq!(
            PhoneNumber::parse("86139 0000-1111").map(|p| p.0),
            Ok("+8613900001111".into())
        );
        assert_eq!(
            PhoneNumber::parse("008613900001111").map(|p| p.0),
            Ok("+8613900001111".into())
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-2671").map(|p| p.0),
            Ok("+14155552671".into())
        );
    }

    #[test]
    fn refuses_garbage_and_missing_country_code() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("abc"), Err(PhoneError::NotANumber));
        assert_eq!(PhoneNumber::parse("+86abc"), Err(PhoneError::NotANumber));
        // A Chinese mobile number written without its country code.
        assert!(PhoneNumber::parse("13900001111").is_err());
        assert!(PhoneNumber::parse("+861234").is_err());
    }

    #[test]
    fn masks_the_middle() {
        let p = PhoneNumber::parse("+8613900001111").expect("valid");
        assert_eq!(p.masked(), "+86 139****1111");
    }
}

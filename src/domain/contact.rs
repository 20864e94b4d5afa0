use crate::domain::{EmailAddress, PhoneNumber};

/// Where a contact is reached by one method: a number for calls and SMS, or a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl Address {
    /// An address as stored beside its method; the error names what does not decode.
    pub fn stored(method: ContactMethod, s: &str) -> Result<Address, String> {
        match method {
            ContactMethod::Phone => PhoneNumber::parse_stored(s)
                .map(Address::Phone)
                .map_err(|e| format!("stored phone number {s:?}: {e}")),
            ContactMethod::Email => EmailAddress::parse(s)
                .map(Address::Email)
                .map_err(|e| format!("stored email address {s:?}: {e}")),
        }
    }

    pub fn method(&self) -> ContactMethod {
        match self {
            Address::Phone(_) => ContactMethod::Phone,
            Address::Email(_) => ContactMethod::Email,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Address::Phone(p) => p.as_str(),
            Address::Email(e) => e.as_str(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Address::Phone(p) => p.masked(),
            Address::Email(e) => e.masked(),
        }
    }
}

/// A contact's display name: trimmed, 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactName(String);

pub const CONTACT_NAME_MAX: usize = 64;

impl ContactName {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a name.");
        }
        if s.chars().count() > CONTACT_NAME_MAX {
            return Err("The name can be at most 64 characters.");
        }
        if s.chars().any(char::is_control) {
            return Err("The name cannot contain control characters.");
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The IM user id used for Lark / WeCom @mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImUserId(String);

impl ImUserId {
    pub fn parse(input: &str) -> Result<Option<Self>, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().count() > 64 {
            return Err("The user ID can be at most 64 characters.");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("The user ID cannot contain spaces.");
        }
        Ok(Some(Self(s.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Declares a closed set of choices stored as short text codes, with a label for the console.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal, $label:literal;)+ } error $err:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(code: &str) -> Result<Self, &'static str> {
                match code { $($code => Ok($name::$variant),)+ _ => Err($err) }
            }
        }
    };
}
pub(crate) use choice;

choice! {
    /// The language alerts are written in for a contact; Auto follows the workspace default.
    Language { Auto = "auto", "Auto"; English = "en", "English"; Chinese = "zh", "Chinese"; }
    error "Choose Auto, English or Chinese."
}

choice! {
    /// What is tried when a phone call to the contact fails.
    Fallback { Default = "default", "Use default"; Sms = "sms", "SMS"; Email = "email", "Email"; None = "none", "None"; }
    error "Choose a fallback method from the list."
}

choice! {
    /// The workspace-wide fallback used by contacts whose fallback is "use default".
    DefaultFallback { Sms = "sms", "SMS"; Email = "email", "Email"; None = "none", "None"; }
    error "Choose SMS, email or none."
}

choice! {
    /// A way a contact is reached that must be verified before use.
    ContactMethod { Phone = "phone", "Phone number"; Email = "email", "Email"; }
    error "Choose phone or email."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_limits() {
        assert!(ContactName::parse("  ").is_err());
        assert!(ContactName::parse(&"é".repeat(64)).is_ok());
        assert!(ContactName::parse(&"é".repeat(65)).is_err());
        assert_eq!(ContactName::parse(" Ana ").map(|n| n.0), Ok("Ana".into()));
    }

    #[test]
    fn choices_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::parse(l.code()), Ok(*l));
        }
        assert!(Fallback::parse("fax").is_err());
        assert_eq!(DefaultFallback::parse("email"), Ok(DefaultFallback::Email));
    }
}

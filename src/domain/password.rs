use secrecy::{ExposeSecret, SecretString};

/// A password a user chose: 10–128 characters. Never logged, never echoed back into a form.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err("Use at least 10 characters.");
        }
        if n > 128 {
            return Err("Use at most 128 characters.");
        }
        Ok(Self(SecretString::from(input.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

//! The secret an ingest API sender presents (`Authorization: Bearer hrd_…`, or as the password
//! of HTTP Basic). 256 random bits behind a recognisable prefix, so a leaked token is easy to
//! find in logs and repositories. Only its SHA-256 is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "hrd_";
const SECRET_BYTES: usize = 32;
/// Prefix plus 43 base64url characters.
const LEN: usize = 4 + 43;

#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    // The token is a credential: logs get its hint only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken({}…)", self.hint())
    }
}

impl ApiToken {
    pub fn generate() -> ApiToken {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        ApiToken(format!("{PREFIX}{}", B64.encode(bytes)))
    }

    /// Anything that is not a token's exact shape is refused before any lookup.
    pub fn parse(s: &str) -> Option<ApiToken> {
        let s = s.trim();
        let body = s.strip_prefix(PREFIX)?;
        let ok = s.len() == LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| ApiToken(s.to_string()))
    }

    /// The token in an `Authorization` header: `Bearer <token>`, or HTTP Basic with the token
    /// as the password (some senders only do Basic; the user name is ignored).
    pub fn from_authorization(header: &str) -> Option<ApiToken> {
        let (scheme, rest) = header.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return ApiToken::parse(rest);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let pair = String::from_utf8(decoded).ok()?;
            let (_, password) = pair.split_once(':')?;
            return ApiToken::parse(password);
        }
        None
    }

    /// The token itself: shown once, to the person who made it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// `hrd_AbCd`: enough to tell tokens apart in a list, nothing to guess with.
    pub fn hint(&self) -> String {
        self.0.chars().take(PREFIX.len() + 4).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_carry_the_token() {
        let t = ApiToken::generate();
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("herald:{}", t.expose()));
        for header in [
            format!("Bearer {}", t.expose()),
            format!("bearer  {}", t.expose()),
            format!("Basic {basic}"),
        ] {
            assert_eq!(
                ApiToken::from_authorization(&header),
                Some(t.clone()),
                "{header}"
            );
        }
        let no_password = base64::engine::general_purpose::STANDARD.encode(t.expose());
        for header in [
            "",
            "Bearer",
            "Bearer nope",
            "Token abc",
            &format!("Basic {no_password}"),
            "Basic !!!",
        ] {
            assert_eq!(ApiToken::from_authorization(header), None, "{header}");
        }
    }

    #[test]
    fn tokens_have_a_prefix_256_bits_and_parse_back() {
        let t = ApiToken::generate();
        assert!(t.expose().starts_with("hrd_") && t.expose().len() == LEN);
        assert_eq!(ApiToken::parse(t.expose()), Some(t.clone()));
        assert_ne!(ApiToken::generate(), t);
        assert_eq!(t.hash().len(), 64);
        assert!(!format!("{t:?}").contains(&t.expose()[8..]));
        for bad in [
            "",
            "hrd_",
            "xyz_abc",
            &t.expose()[..20],
            &format!("{}!", &t.expose()[..46]),
        ] {
            assert_eq!(ApiToken::parse(bad), None, "{bad:?}");
        }
    }
}

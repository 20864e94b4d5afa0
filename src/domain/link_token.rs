//! One-click link tokens: `<selector><verifier>` in URL-safe base64.
//!
//! The selector (72 bits) finds the row; the verifier (144 bits) proves the link. Only the
//! verifier's SHA-256 is stored, so a database dump cannot be turned into working links, and
//! it is compared in constant time so response timing says nothing about how close a guess was.
//! 36 characters keep an SMS with the link inside one segment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SELECTOR_BYTES: usize = 9;
const VERIFIER_BYTES: usize = 18;
const SELECTOR_LEN: usize = SELECTOR_BYTES * 4 / 3;
const VERIFIER_LEN: usize = VERIFIER_BYTES * 4 / 3;
pub const TOKEN_LEN: usize = SELECTOR_LEN + VERIFIER_LEN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub selector: String,
    verifier: String,
}

impl LinkToken {
    pub fn generate() -> LinkToken {
        let mut bytes = [0u8; SELECTOR_BYTES + VERIFIER_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        LinkToken {
            selector: B64.encode(&bytes[..SELECTOR_BYTES]),
            verifier: B64.encode(&bytes[SELECTOR_BYTES..]),
        }
    }

    /// Anything that is not exactly a token's shape is refused before any lookup.
    pub fn parse(s: &str) -> Option<LinkToken> {
        if s.len() != TOKEN_LEN
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        Some(LinkToken {
            selector: s[..SELECTOR_LEN].to_string(),
            verifier: s[SELECTOR_LEN..].to_string(),
        })
    }

    pub fn verifier_hash(&self) -> String {
        hex::encode(Sha256::digest(self.verifier.as_bytes()))
    }

    pub fn matches(&self, stored_hash: &str) -> bool {
        self.verifier_hash()
            .as_bytes()
            .ct_eq(stored_hash.as_bytes())
            .into()
    }
}

impl std::fmt::Display for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.selector, self.verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_its_verifier() {
        let t = LinkToken::generate();
        let s = t.to_string();
        assert_eq!(s.len(), TOKEN_LEN);
        let back = LinkToken::parse(&s).expect("parses");
        assert_eq!(back, t);
        assert!(back.matches(&t.verifier_hash()));
        // One changed character in the verifier no longer matches.
        let mut tampered = s.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered =
            LinkToken::parse(std::str::from_utf8(&tampered).expect("ascii")).expect("same shape");
        assert!(!tampered.matches(&t.verifier_hash()));
    }

    #[test]
    fn refuses_wrong_shapes() {
        assert!(LinkToken::parse("").is_none());
        assert!(LinkToken::parse(&"a".repeat(TOKEN_LEN + 1)).is_none());
        assert!(LinkToken::parse(&format!("{}%", "a".repeat(TOKEN_LEN - 1))).is_none());
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(LinkToken::generate(), LinkToken::generate());
    }
}

//! A chatbot's "Bind mobile phone number" link (`/b/<token>`) and the 6-digit codes it sends.
//!
//! The token is `HMAC-SHA256(server key, bot id and generation)`, 256 bits in URL-safe base64:
//! every card can carry it, yet the database keeps only its SHA-256 (to find the bot) and the
//! generation (rotating the link bumps it, which ends every link shown before).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Duration;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::ids::ChatbotId;

/// 32 bytes in unpadded base64.
pub const TOKEN_LEN: usize = 43;
/// How long a code may be used.
pub const CODE_VALID: Duration = Duration::minutes(10);
/// A number gets at most one code a minute and five an hour.
pub const CODE_GAP: Duration = Duration::minutes(1);
pub const CODES_PER_HOUR: usize = 5;
/// Wrong codes that void a code.
pub const MAX_WRONG: i32 = 5;

/// The link token of `bot` at `generation` under `key`.
pub fn token(key: &str, bot: &ChatbotId, generation: i32) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("herald bind link\n{bot}\n{generation}").as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Anything that is not a token's shape is refused before any lookup.
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A fresh 6-digit code.
pub fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// What the database keeps of a code: salted with its row's id, so equal codes differ.
pub fn code_hash(row_id: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{row_id}:{code}").as_bytes()))
}

/// Whether `typed` (spaces allowed) is the code stored as `stored_hash`, in constant time.
pub fn code_matches(row_id: &str, typed: &str, stored_hash: &str) -> bool {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    code_hash(row_id, &typed)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// A typed code's shape: six digits, spaces ignored.
pub fn is_code(typed: &str) -> bool {
    let digits: Vec<char> = typed.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == 6 && digits.iter().all(char::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_by_bot_generation_and_key_and_have_the_shape() {
        let (a, b) = (ChatbotId::new(), ChatbotId::new());
        let t = token("k", &a, 0);
        assert!(is_token(&t), "{t}");
        assert_eq!(t, token("k", &a, 0));
        assert_ne!(t, token("k", &a, 1));
        assert_ne!(t, token("k", &b, 0));
        assert_ne!(t, token("other", &a, 0));
        assert_ne!(token_hash(&t), t);
        assert!(!is_token("short") && !is_token(&format!("{}!", &t[..42])));
    }

    #[test]
    fn codes_are_six_digits_and_checked_against_their_row() {
        for _ in 0..50 {
            let c = new_code();
            assert!(is_code(&c), "{c}");
        }
        let h = code_hash("row-1", "012345");
        assert!(code_matches("row-1", "012 345", &h));
        assert!(!code_matches("row-2", "012345", &h));
        assert!(!code_matches("row-1", "012346", &h));
        assert!(!is_code("12345") && !is_code("12345a") && is_code(" 123 456 "));
    }
}

//! argon2id hashing for console passwords.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

/// `hash` on the blocking pool: argon2 takes tens of milliseconds on purpose, which must not
/// stall the async threads that serve other requests.
pub async fn hash_off_thread(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real check, so that a missing account cannot be told from a wrong
/// password by timing.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash("not-a-real-password").ok()) {
        let _ = verify(password, h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
    }
}

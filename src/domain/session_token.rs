//! The secret a console session cookie carries. Only its hash is stored, so a database dump
//! signs nobody in.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// The secret in the session cookie. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SessionToken(hex::encode(bytes))
    }

    /// What is stored: the SHA-256 of the token, hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

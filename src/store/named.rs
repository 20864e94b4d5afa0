//! What chatbots, webhooks and policies share: a name unique in the workspace, ignoring case.

use super::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("Another {kind} is already called “{name}”.")]
    NameTaken { kind: &'static str, name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::wraps_store_error!(SaveError);

impl SaveError {
    pub fn taken(kind: &'static str, name: &str) -> SaveError {
        SaveError::NameTaken {
            kind,
            name: name.to_string(),
        }
    }
}

/// A unique violation from a concurrent save of the same name reads like the checked case.
pub fn unique_name<T>(
    kind: &'static str,
    name: &str,
    result: Result<T, SaveError>,
) -> Result<T, SaveError> {
    match result {
        Err(SaveError::Store(StoreError::Db(e))) if super::is_unique_violation(&e) => {
            Err(SaveError::taken(kind, name))
        }
        other => other,
    }
}

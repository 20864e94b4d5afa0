//! Value types parsed at the edge. Nothing here knows about HTTP or SQL.

pub mod contact;
pub mod email;
pub mod password;
pub mod phone;
pub mod role;

pub use contact::{ContactMethod, ContactName, DefaultFallback, Fallback, ImUserId, Language};
pub use email::EmailAddress;
pub use password::NewPassword;
pub use phone::PhoneNumber;
pub use role::Role;

//! Value types parsed at the edge. Nothing here knows about HTTP or SQL.

pub mod contact;
pub mod email;
pub mod link_token;
pub mod password;
pub mod phone;
pub mod policy;
pub mod role;
pub mod webhook;

pub use contact::{ContactMethod, ContactName, DefaultFallback, Fallback, ImUserId, Language};
pub use email::EmailAddress;
pub use link_token::LinkToken;

/// Groups, chatbots, webhooks and policies are named by the same rules as contacts.
pub type ObjectName = ContactName;
pub use password::NewPassword;
pub use phone::PhoneNumber;
pub use role::Role;

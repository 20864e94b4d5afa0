//! Value types parsed at the edge, ids, and the rules that need no I/O (routing an alert).
//! Nothing here knows about HTTP or runs a query; ids and stored values carry derived mappings
//! (`DieselNewType`, serde) so the store decodes rows straight into them.

pub mod alert;
pub mod api_token;
pub mod bind_link;
pub mod catalog;
pub mod contact;
pub mod daily_stats;
pub mod email;
pub mod fallback;
pub mod grouping;
pub mod ids;
pub mod link_token;
pub mod mention;
pub mod notification;
pub mod password;
pub mod phone;
pub mod platform;
pub mod policy;
pub mod readiness;
pub mod role;
pub mod routing;
pub mod schedule;
pub mod session_token;
pub mod settings;
pub mod text;
pub mod today;
pub mod trusted_proxies;
pub mod webhook;

pub use contact::{
    Address, ContactMethod, ContactName, DefaultFallback, Fallback, ImUserId, Language,
};
pub use email::EmailAddress;
pub use link_token::LinkToken;

/// What is wrong with an input, field by field, in form order: a use case's answer that the
/// console shows beside the fields.
pub type Problems = Vec<(&'static str, String)>;

/// Groups, chatbots, webhooks and policies are named by the same rules as contacts.
pub type ObjectName = ContactName;
pub use password::NewPassword;
pub use phone::PhoneNumber;
pub use platform::Platform;
pub use policy::Policy;
pub use role::Role;

//! What a person or a machine does with Herald, as plain functions over domain types: the
//! layer between the console (`web`) and the store. A use case takes a connection and domain
//! values, calls the store (which owns transactions), and answers in domain terms; nothing
//! here knows about HTTP.

pub mod binding;
pub mod contacts;
pub mod daily_stats;
pub mod fallback;
pub mod invitations;
pub mod notify;
pub mod policies;
pub mod readiness;
pub mod routing;
pub mod sign_in;
pub mod today;

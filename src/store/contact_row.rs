//! A contact row as pages and routing read it, and where each of its methods stands. Apart from
//! `contacts.rs` so the in-memory contact index can hold rows without importing the queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::contacts;
use super::{ContactId, now};
use crate::domain::{Address, ContactMethod, EmailAddress, Fallback, Language, PhoneNumber};

/// A contact as the console shows it. Only the columns pages use: the list loads 20 of these
/// per view, and every column costs decoding (timestamps in SQLite are parsed text).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub phone_verified_at: Option<NaiveDateTime>,
    pub email: Option<EmailAddress>,
    pub im_user_id: Option<String>,
    pub language: Language,
    pub fallback: Fallback,
    pub phone_link_expires_at: Option<NaiveDateTime>,
    pub email_verified_at: Option<NaiveDateTime>,
    pub email_link_expires_at: Option<NaiveDateTime>,
}

/// Where a contact method stands: only `Verified` methods are used for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodState {
    Verified,
    /// A link was sent and has not expired.
    Waiting,
    NotVerified,
}

impl MethodState {
    fn of(verified: Option<NaiveDateTime>, link_expires: Option<NaiveDateTime>) -> MethodState {
        if verified.is_some() {
            MethodState::Verified
        } else if link_expires.is_some_and(|e| e > now()) {
            MethodState::Waiting
        } else {
            MethodState::NotVerified
        }
    }
}

impl Contact {
    pub fn phone(&self) -> Option<PhoneNumber> {
        self.phone.clone()
    }

    pub fn phone_verified(&self) -> bool {
        self.phone.is_some() && self.phone_verified_at.is_some()
    }

    pub fn phone_state(&self) -> MethodState {
        MethodState::of(self.phone_verified_at, self.phone_link_expires_at)
    }

    pub fn email_state(&self) -> MethodState {
        MethodState::of(self.email_verified_at, self.email_link_expires_at)
    }

    /// The number phone calls and SMS may go to: only a verified one.
    pub fn usable_phone(&self) -> Option<PhoneNumber> {
        self.phone
            .clone()
            .filter(|_| self.phone_verified_at.is_some())
    }

    /// The address email may go to: only an activated one.
    pub fn usable_email(&self) -> Option<EmailAddress> {
        self.email
            .clone()
            .filter(|_| self.email_verified_at.is_some())
    }

    pub fn target(&self, method: ContactMethod) -> Option<Address> {
        match method {
            ContactMethod::Phone => self.phone.clone().map(Address::Phone),
            ContactMethod::Email => self.email.clone().map(Address::Email),
        }
    }

    pub fn method_state(&self, method: ContactMethod) -> MethodState {
        match method {
            ContactMethod::Phone => self.phone_state(),
            ContactMethod::Email => self.email_state(),
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn fallback(&self) -> Fallback {
        self.fallback
    }
}

//! How domain values stored as text decode from a row. A value that does not parse is a
//! deserialization error naming the column's type and the stored text, never a default: a
//! default would quietly change what Herald does (a webhook without its auth header, a contact
//! in the wrong language).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::sql_types::Text;

use crate::domain::policy::NotifyMethod;
use crate::domain::webhook::{Method, Pairs};
use crate::domain::{EmailAddress, Fallback, Language, PhoneNumber, Platform};

/// `FromSql<Text>` for every backend (through `MultiConnection` too) by the type's own parser.
macro_rules! decodes_from_text {
    ($($t:ty => $parse:expr),+ $(,)?) => {$(
        impl<DB> FromSql<Text, DB> for $t
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let s = String::from_sql(bytes)?;
                let parse: fn(&str) -> Result<$t, String> = $parse;
                parse(&s).map_err(|e| {
                    format!("stored {} {:?} does not decode: {e}", stringify!($t), s).into()
                })
            }
        }

        // What `#[derive(FromSqlRow)]` would write: a single column loads as the value.
        impl<DB> Queryable<Text, DB> for $t
        where
            DB: Backend,
            $t: FromSql<Text, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}

decodes_from_text! {
    Platform => |s| Platform::parse(s).map_err(str::to_string),
    Method => |s| Method::parse(s).map_err(str::to_string),
    Language => |s| Language::parse(s).map_err(str::to_string),
    Fallback => |s| Fallback::parse(s).map_err(str::to_string),
    NotifyMethod => |s| NotifyMethod::parse(s).map_err(str::to_string),
    Pairs => |s| serde_json::from_str(s).map(Pairs).map_err(|e| e.to_string()),
    PhoneNumber => |s| PhoneNumber::parse_stored(s).map_err(|e| e.to_string()),
    EmailAddress => |s| EmailAddress::parse(s).map_err(|e| e.to_string()),
}

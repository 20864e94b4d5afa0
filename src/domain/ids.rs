//! Ids are made by the app (UUIDv7 as text) so inserts need no RETURNING and sort by age.

use diesel_derive_newtype::DieselNewType;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            DieselNewType,
            serde::Serialize,
            serde::Deserialize,
        )]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Ids from URLs and sessions: anything that is not a UUID cannot exist, so it is
            /// refused here instead of costing a query.
            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::parse_str(s).ok().map(|u| Self(u.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(WorkspaceId);
id_type!(UserId);
id_type!(ContactId);
id_type!(GroupId);
id_type!(ScheduleId);
id_type!(OverrideId);
id_type!(ChatbotId);
id_type!(WebhookId);
id_type!(PolicyId);
id_type!(ApiTokenId);
id_type!(AlertId);
id_type!(AlertGroupId);
id_type!(NotificationId);
id_type!(DeliveryId);

//! Who a request comes from, once the session has been checked against the database.

use crate::domain::Role;
use crate::store::sessions::SessionToken;
use crate::store::{UserId, WorkspaceId};

/// A signed-in user in their current workspace.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
    /// The session this request came with (for sign-out and "Sign out other sessions").
    pub session: SessionToken,
    /// The workspace's time zone, for every time a page shows.
    pub time_zone: crate::domain::settings::TimeZone,
}

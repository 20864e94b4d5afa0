//! Saving a contact: its details and groups in one transaction, then a one-click link for every
//! phone number or email address that is new or changed (it waits for activation again).

use crate::domain::ContactMethod;
use crate::domain::ids::{ContactId, GroupId, WorkspaceId};
use crate::store::Db;
use crate::store::contacts::{self, ContactInput, SaveError};
use crate::verification::{SendError, Verifications};

pub struct SavedContact {
    pub id: ContactId,
    /// Each link sent after the save: the method and whether it went.
    pub links: Vec<(ContactMethod, Result<String, SendError>)>,
}

/// Creates (`id` None) or updates the contact, then sends its links. The save stands even when
/// a link cannot be sent (the contact page offers to send it again).
pub async fn save(
    db: &Db,
    verifications: &Verifications,
    ws: &WorkspaceId,
    id: Option<ContactId>,
    input: ContactInput,
    groups: Vec<GroupId>,
) -> Result<SavedContact, SaveError> {
    let ws2 = ws.clone();
    let (id, changed) = db
        .run(move |c| contacts::save_with_groups(c, &ws2, id.as_ref(), &input, &groups))
        .await?;
    let mut links = Vec::new();
    for method in changed.methods() {
        links.push((method, verifications.send_link(ws, &id, method).await));
    }
    Ok(SavedContact { id, links })
}

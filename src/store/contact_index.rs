//! The contact list of each workspace, kept in memory for listing and searching.
//!
//! A console opens the contact list far more often than it changes contacts, and a substring
//! search over a few thousand short strings in memory costs less than any SQL index answers
//! it. Freshness comes from the database: a trigger bumps `workspaces.contacts_version` on
//! every insert, update or delete of a contact, whoever makes it (this process, another Herald
//! instance, an operator with psql), and each page view reads that version first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::WorkspaceId;
use super::contacts::Contact;

/// One workspace's contacts in list order (name, id), with the text search looks in.
pub struct Snapshot {
    pub version: i64,
    pub contacts: Vec<Contact>,
    pub haystacks: Vec<String>,
}

impl Snapshot {
    /// Positions of the contacts any of whose `terms` is a substring of their search text.
    pub fn matching(&self, terms: &[String]) -> Vec<usize> {
        self.haystacks
            .iter()
            .enumerate()
            .filter(|(_, h)| terms.iter().any(|t| h.contains(t.as_str())))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Snapshots by workspace, bounded by the number of contacts held in all.
pub struct ContactIndex {
    max_contacts: usize,
    snapshots: Mutex<HashMap<WorkspaceId, Arc<Snapshot>>>,
}

impl ContactIndex {
    pub fn new(max_contacts: usize) -> ContactIndex {
        ContactIndex {
            max_contacts,
            snapshots: Mutex::new(HashMap::new()),
        }
    }

    /// The snapshot of `ws` if it is at `version`.
    pub fn get(&self, ws: &WorkspaceId, version: i64) -> Option<Arc<Snapshot>> {
        let map = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        map.get(ws).filter(|s| s.version == version).cloned()
    }

    /// Keeps `snapshot` unless a newer one is already kept. When the bound would be passed,
    /// other workspaces' snapshots are dropped (they reload on their next view); a single
    /// workspace larger than the bound is served but not kept.
    pub fn put(&self, ws: &WorkspaceId, snapshot: Arc<Snapshot>) {
        if snapshot.contacts.len() > self.max_contacts {
            return;
        }
        let mut map = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(ws).is_some_and(|s| s.version > snapshot.version) {
            return;
        }
        map.remove(ws);
        let mut held: usize = map.values().map(|s| s.contacts.len()).sum();
        while held + snapshot.contacts.len() > self.max_contacts {
            let Some(victim) = map.keys().next().cloned() else {
                break;
            };
            if let Some(s) = map.remove(&victim) {
                held -= s.contacts.len();
            }
        }
        map.insert(ws.clone(), snapshot);
    }
}

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
use super::contact_row::Contact;

/// One workspace's contacts in list order (name, id), with the text search looks in.
pub struct Snapshot {
    pub version: i64,
    pub contacts: Vec<Contact>,
    /// Every contact's search text, in list order, each followed by a NUL (which no search
    /// term contains, so no match spans two contacts): one buffer for one SIMD pass per term.
    haystack: Vec<u8>,
    /// Where each contact's text starts in `haystack`.
    starts: Vec<usize>,
}

impl Snapshot {
    pub fn new(version: i64, rows: Vec<(Contact, String)>) -> Snapshot {
        let mut contacts = Vec::with_capacity(rows.len());
        let mut starts = Vec::with_capacity(rows.len());
        let mut haystack = Vec::new();
        for (contact, text) in rows {
            starts.push(haystack.len());
            haystack.extend_from_slice(text.as_bytes());
            haystack.push(0);
            contacts.push(contact);
        }
        Snapshot {
            version,
            contacts,
            haystack,
            starts,
        }
    }

    /// For each contact in list order, whether its search text contains any of `terms`.
    pub fn hits(&self, terms: &[String]) -> Vec<bool> {
        let mut hit = vec![false; self.contacts.len()];
        for term in terms.iter().filter(|t| !t.is_empty() && !t.contains('\0')) {
            let finder = memchr::memmem::Finder::new(term.as_bytes());
            let mut from = 0;
            while let Some(found) = finder.find(&self.haystack[from..]) {
                let offset = from + found;
                // The contact holding this offset; the search goes on after its text.
                let contact = self.starts.partition_point(|&s| s <= offset) - 1;
                hit[contact] = true;
                from = self
                    .starts
                    .get(contact + 1)
                    .copied()
                    .unwrap_or(self.haystack.len());
            }
        }
        hit
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ContactId;

    fn contact(name: &str) -> Contact {
        Contact {
            id: ContactId::new(),
            name: name.into(),
            phone: None,
            phone_verified_at: None,
            email: None,
            im_user_id: None,
            language: crate::domain::Language::Auto,
            fallback: crate::domain::Fallback::Default,
            phone_link_expires_at: None,
            email_verified_at: None,
            email_link_expires_at: None,
        }
    }

    #[test]
    fn finds_substrings_per_contact_in_order() {
        let positions = |s: &Snapshot, t: &[String]| -> Vec<usize> {
            s.hits(t)
                .iter()
                .enumerate()
                .filter(|(_, h)| **h)
                .map(|(i, _)| i)
                .collect()
        };
        let rows = [
            "ana\n+8613900001111",
            "bo\nbo@x.cn",
            "cy ana\n+8613900002222",
        ]
        .iter()
        .map(|t| (contact(t), t.to_string()))
        .collect();
        let s = Snapshot::new(1, rows);
        assert_eq!(positions(&s, &["ana".into()]), vec![0, 2]);
        assert_eq!(positions(&s, &["139000022".into()]), vec![2]);
        assert_eq!(positions(&s, &["bo".into(), "1111".into()]), vec![0, 1]);
        // A match may not run from one contact's text into the next one's.
        assert_eq!(positions(&s, &["1111bo".into()]), Vec::<usize>::new());
        assert_eq!(positions(&s, &["nobody".into()]), Vec::<usize>::new());
    }

    #[test]
    fn keeps_within_its_bound() {
        let index = ContactIndex::new(3);
        let ws1 = WorkspaceId::new();
        let ws2 = WorkspaceId::new();
        let two = || {
            Arc::new(Snapshot::new(
                1,
                vec![(contact("a"), "a".into()), (contact("b"), "b".into())],
            ))
        };
        index.put(&ws1, two());
        assert!(index.get(&ws1, 1).is_some());
        assert!(
            index.get(&ws1, 2).is_none(),
            "another version is not served"
        );
        index.put(&ws2, two());
        assert!(index.get(&ws2, 1).is_some());
        assert!(
            index.get(&ws1, 1).is_none(),
            "the other workspace made room"
        );
        // An older snapshot never replaces a newer one.
        index.put(&ws2, Arc::new(Snapshot::new(0, vec![])));
        assert!(index.get(&ws2, 1).is_some());
    }
}

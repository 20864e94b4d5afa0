//! A workspace's readiness: its enabled policies routed as they stand, then the domain's check.

use crate::domain::readiness::{self, Readiness};
use crate::domain::routing;
use crate::store::contact_index::ContactIndex;
use crate::store::{DbConn, StoreResult, WorkspaceId, policies};
use crate::usecases::routing::objects;

/// A policy is silent when it would reach nobody now (a schedule with nobody on duty adds
/// nobody); a contact is unready when any policy may page them, through any schedule turn.
pub fn of(c: &mut DbConn, index: &ContactIndex, ws: &WorkspaceId) -> StoreResult<Readiness> {
    let objects = objects(c, index, ws)?;
    let enabled: Vec<_> = policies::list(c, ws)?
        .into_iter()
        .filter(|p| p.enabled)
        .collect();
    // Readiness looks at whom each policy names, whatever an alert's labels.
    let labels = Default::default();
    let now = routing::route(&labels, &enabled, &objects.directory(crate::store::now()));
    let some_day = routing::route(&labels, &enabled, &objects.directory_of_every_turn());
    Ok(Readiness {
        silent: readiness::check(&now).silent,
        unready: readiness::check(&some_day).unready,
    })
}

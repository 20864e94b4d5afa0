//! A workspace's readiness: its enabled policies routed as they stand, then the domain's check.

use crate::domain::readiness::{self, Readiness};
use crate::domain::routing;
use crate::store::contact_index::ContactIndex;
use crate::store::{DbConn, StoreResult, WorkspaceId, policies};
use crate::usecases::routing::objects;

pub fn of(c: &mut DbConn, index: &ContactIndex, ws: &WorkspaceId) -> StoreResult<Readiness> {
    let dir = objects(c, index, ws)?.directory(crate::store::now());
    let enabled: Vec<_> = policies::list(c, ws)?
        .into_iter()
        .filter(|p| p.enabled)
        .collect();
    // Readiness looks at whom each policy names, whatever an alert's labels.
    let routes = routing::route(&Default::default(), &enabled, &dir);
    Ok(readiness::check(&routes))
}

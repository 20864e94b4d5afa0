use diesel::prelude::*;

use super::schema::app_secrets;
use super::{DbConn, StoreResult, now};

/// Returns the stored secret `name`, creating it with `make` on first use. Concurrent first
/// starts (several instances on one PostgreSQL) all end up with the value that won the insert.
pub fn get_or_create(
    conn: &mut DbConn,
    name: &str,
    make: impl FnOnce() -> String,
) -> StoreResult<String> {
    let existing = app_secrets::table
        .filter(app_secrets::name.eq(name))
        .select(app_secrets::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(v) = existing {
        return Ok(v);
    }
    let inserted = diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq(name),
            app_secrets::value.eq(make()),
            app_secrets::created_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(app_secrets::table
        .filter(app_secrets::name.eq(name))
        .select(app_secrets::value)
        .first::<String>(conn)?)
}

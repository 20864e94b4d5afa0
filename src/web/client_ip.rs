//! The address a request came from. Behind a reverse proxy every request arrives from the
//! proxy, so per-address limits need the client's address from `X-Forwarded-For` — but only
//! when the request came from a proxy we trust, or anyone could claim any address.

use std::net::IpAddr;

use actix_web::{HttpRequest, web};

pub use crate::domain::trusted_proxies::TrustedProxies;

/// The request's client address (None only for requests without a socket, as in unit tests).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req.app_data::<web::Data<TrustedProxies>>()?;
    // Every X-Forwarded-For line, in order: a proxy may append its own line after the
    // client's, and only the right-most entries are the proxies' word.
    let lines: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = lines.join(",");
    Some(trusted.client(peer, (!lines.is_empty()).then_some(joined.as_str())))
}

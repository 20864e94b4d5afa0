//! Which reverse proxies' `X-Forwarded-For` is believed, and the client address it gives.
//! Behind a proxy every request arrives from the proxy, so per-address limits need the
//! client's address from the header — but only from a proxy we trust, or anyone could claim
//! any address.

use std::net::IpAddr;

/// The proxies whose `X-Forwarded-For` is believed (`trusted_proxies` in the settings).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpAddr>);

impl TrustedProxies {
    /// `"127.0.0.1, 10.0.0.2"` → addresses; the error names the bad entry.
    pub fn parse(s: &str) -> Result<TrustedProxies, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| format!("trusted_proxies: {p:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// The client: the peer, or — when the peer is a trusted proxy — the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.0.contains(&peer) {
            return peer;
        }
        let Some(chain) = forwarded_for else {
            return peer;
        };
        chain
            .split(',')
            .rev()
            .map(parse_entry)
            .map_while(|ip| ip)
            .find(|ip| !self.0.contains(ip))
            .unwrap_or(peer)
    }
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = e.parse::<std::net::SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.2").expect("parse");
        // Not from a proxy: the header is ignored, whatever it claims.
        assert_eq!(
            t.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // From a proxy: the client it saw; spoofed entries to the left are not believed.
        assert_eq!(
            t.client(ip("127.0.0.1"), Some("6.6.6.6, 198.51.100.7")),
            ip("198.51.100.7")
        );
        // Chained proxies are skipped.
        assert_eq!(
            t.client(ip("127.0.0.1"), Some("198.51.100.7, 10.0.0.2")),
            ip("198.51.100.7")
        );
        // Garbage stops the walk: the proxy itself is used.
        assert_eq!(t.client(ip("127.0.0.1"), Some("junk")), ip("127.0.0.1"));
        // Ports, brackets and IPv4-mapped peers (listening on [::]) are understood.
        assert_eq!(
            t.client(ip("::ffff:127.0.0.1"), Some("198.51.100.7:5555")),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client(ip("127.0.0.1"), Some("[2001:db8::1]:443")),
            ip("2001:db8::1")
        );
        assert!(TrustedProxies::parse("10.0.0.1, nope").is_err());
        assert_eq!(TrustedProxies::parse("").expect("empty").0.len(), 0);
    }
}

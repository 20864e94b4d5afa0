//! Outbound HTTP safety: every request Herald makes to a URL a console user typed (chatbots,
//! webhooks) or to a provider goes through [`client`], so a URL cannot be used to reach the
//! cloud metadata service, link-local addresses or, unless allowed, Herald's own network.
//!
//! Two checks work together:
//! * [`check_url`] runs before a request: scheme, host, no credentials in the URL, and IP-literal
//!   hosts (`http://10.0.0.1/`), which reqwest connects to without asking any resolver.
//! * The client's resolver ([`GuardedResolver`]) checks every address a host name resolves to and
//!   drops the refused ones, so `localhost` or a name pointing at `169.254.169.254` is refused too.
//!   The connection goes to an address the resolver returned, so a name cannot change its answer
//!   between the check and the connection (DNS rebinding).
//!
//! Redirects are never followed (the simplest safe rule: a redirect could point anywhere, and the
//! chat platforms and providers Herald calls do not redirect), and system proxies are not used
//! (through a proxy the resolver would only see the proxy's address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Which targets outbound requests may reach beyond the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private (RFC 1918, fc00::/7) and carrier-grade NAT addresses
    /// (`allow_private_targets` in the settings). Link-local and metadata addresses stay refused.
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Public internet only.
    pub const PUBLIC: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    /// Public internet plus loopback and private networks.
    pub const ALLOW_PRIVATE: TargetPolicy = TargetPolicy {
        allow_private: true,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL cannot be called at all; the text says why, for a form.
    #[error("{0}")]
    BadUrl(String),
    /// The host is, or resolves to, an address Herald refuses to call.
    #[error("Herald does not call {host} ({ip}): {}", refused_reason(*ip))]
    Forbidden { host: String, ip: IpAddr },
    /// The name did not resolve to any address.
    #[error("{host} does not resolve to any address")]
    NoAddress { host: String },
    /// The answer was larger than Herald reads.
    #[error("answer larger than {max} bytes")]
    TooLarge { max: usize },
    /// The connection failed while reading the answer.
    #[error("{0}")]
    Transport(String),
}

/// Why an address is refused, for [`OutboundError::Forbidden`].
fn refused_reason(ip: IpAddr) -> &'static str {
    if always_refused(ip) {
        "link-local, metadata and special addresses are never called"
    } else {
        "loopback and private addresses are refused unless allow_private_targets is set"
    }
}

/// Is this IP allowed?
///
/// Always refused: unspecified (`0.0.0.0/8`, `::`), link-local (`169.254.0.0/16`, `fe80::/10`),
/// cloud metadata (`169.254.169.254`, `fd00:ec2::254`, Alibaba's `100.100.100.200`), multicast,
/// broadcast and the reserved `240.0.0.0/4`.
/// Refused unless `policy.allow_private`: loopback (`127.0.0.0/8`, `::1`), private (`10/8`,
/// `172.16/12`, `192.168/16`, `fc00::/7`, the deprecated site-local `fec0::/10`) and carrier-grade
/// NAT (`100.64.0.0/10`).
/// IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address.
pub fn ip_allowed(ip: IpAddr, policy: TargetPolicy) -> bool {
    if always_refused(ip) {
        return false;
    }
    policy.allow_private || !private(ip)
}

fn always_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_always_refused(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_always_refused(v4),
            None => v6_always_refused(v6),
        },
    }
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_private(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_private(v4),
            None => v6_private(v6),
        },
    }
}

fn v4_always_refused(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 0 // "this network"; Linux connects 0.0.0.0 to the local host
        || ip.is_link_local() // 169.254/16, includes 169.254.169.254 (AWS, GCP, Azure, …)
        || ip == Ipv4Addr::new(100, 100, 100, 200) // Alibaba Cloud metadata
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240 // reserved 240/4
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0.0/24, IETF protocol assignments
}

fn v4_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || (a == 100 && (64..128).contains(&b)) // 100.64/10, carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15, benchmarking: never public
}

fn v6_always_refused(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) // AWS metadata over IPv6
}

fn v6_private(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-compatible ::a.b.c.d (deprecated); `::` and `::1` are IPv6's own.
    if s[..6].iter().all(|&x| x == 0) && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(from(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96: a NAT64 gateway connects to the embedded address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) {
        return Some(from(s[6], s[7]));
    }
    // 6to4 2002:a.b.c.d::/48 relays to the embedded address.
    if s[0] == 0x2002 {
        return Some(from(s[1], s[2]));
    }
    None
}

/// Parses and checks a URL before any request: http or https only, a host present, no
/// user name or password in it, and an IP-literal host must pass [`ip_allowed`]. Host names are
/// checked after resolution by the resolver of [`client`].
pub fn check_url(url: &str, policy: TargetPolicy) -> Result<url::Url, OutboundError> {
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| OutboundError::BadUrl(format!("This is not a valid URL ({e}).")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(OutboundError::BadUrl(
            "The URL must start with http:// or https://.".into(),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OutboundError::BadUrl(
            "The URL must not contain a user name or password.".into(),
        ));
    }
    let ip = match parsed.host() {
        None => return Err(OutboundError::BadUrl("The URL has no host.".into())),
        Some(url::Host::Domain("")) => {
            return Err(OutboundError::BadUrl("The URL has no host.".into()));
        }
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(ip) = ip
        && !ip_allowed(ip, policy)
    {
        return Err(OutboundError::Forbidden {
            host: parsed.host_str().unwrap_or_default().to_string(),
            ip,
        });
    }
    Ok(parsed)
}

/// Resolves names with tokio (the system resolver) and keeps only the addresses the policy
/// allows; a name left with none fails with [`OutboundError::Forbidden`].
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub policy: TargetPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| OutboundError::NoAddress { host: host.clone() })?
                .collect();
            let first = found.first().map(SocketAddr::ip);
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| ip_allowed(a.ip(), policy))
                .collect();
            if allowed.is_empty() {
                let err = match first {
                    Some(ip) => OutboundError::Forbidden { host, ip },
                    None => OutboundError::NoAddress { host },
                };
                return Err(Box::new(err) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The one client for chatbots, webhooks and providers: connect timeout 5 s (or `timeout` when
/// shorter), total `timeout`, redirects not followed, no system proxy, every resolved address
/// checked by [`GuardedResolver`], user agent `Herald/<version>`.
///
/// IP-literal URLs do not go through a resolver: pass every URL through [`check_url`] first.
pub fn client(policy: TargetPolicy, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver { policy })
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building only fails when the TLS backend cannot initialise, which is a broken build;
        // the fallback still never follows redirects.
        .unwrap_or_else(|_| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(GuardedResolver { policy })
                .timeout(timeout)
                .build()
                .unwrap_or_default()
        })
}

/// The refusal behind a failed request, when the resolver refused the target.
pub fn refusal(e: &reqwest::Error) -> Option<OutboundError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(found) = err.downcast_ref::<OutboundError>() {
            return Some(found.clone());
        }
        source = err.source();
    }
    None
}

/// A short description of a failed request that never includes the URL (it may carry tokens).
pub fn describe_error(e: &reqwest::Error) -> String {
    if let Some(refused) = refusal(e) {
        return refused.to_string();
    }
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_redirect() {
        "redirects are not followed".into()
    } else {
        "request failed".into()
    }
}

/// Reads the answer's status and body, at most `max` bytes (longer answers are an error, not
/// truncated: they are not answers Herald understands). Invalid UTF-8 is replaced.
pub async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<(reqwest::StatusCode, String), OutboundError> {
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(OutboundError::TooLarge { max });
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(OutboundError::TooLarge { max });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(OutboundError::Transport(describe_error(&e))),
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy::PUBLIC;
    const LOOSE: TargetPolicy = TargetPolicy::ALLOW_PRIVATE;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test IP")
    }

    #[test]
    fn public_addresses_are_allowed_by_both_policies() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "203.0.113.7",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.1.1",
            "169.253.255.255",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(ip_allowed(ip(a), STRICT), "{a} strict");
            assert!(ip_allowed(ip(a), LOOSE), "{a} loose");
        }
    }

    #[test]
    fn special_addresses_are_always_refused() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "169.254.255.255",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "192.0.0.170",
            "::",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "ff02::1",
            "ff05::2",
            "::ffff:169.254.169.254",
            "::ffff:100.100.100.200",
            "::ffff:0.0.0.0",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!ip_allowed(ip(a), STRICT), "{a} strict");
            assert!(!ip_allowed(ip(a), LOOSE), "{a} loose");
        }
    }

    #[test]
    fn private_addresses_need_the_policy() {
        for a in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "198.18.0.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fdff:ffff::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:172.16.5.4",
            "::ffff:192.168.1.1",
            "::ffff:100.64.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(!ip_allowed(ip(a), STRICT), "{a} strict");
            assert!(ip_allowed(ip(a), LOOSE), "{a} loose");
        }
    }

    #[test]
    fn check_url_accepts_public_http_and_https() {
        let u = check_url(
            "https://oapi.dingtalk.com/robot/send?access_token=x",
            STRICT,
        )
        .expect("public");
        assert_eq!(u.host_str(), Some("oapi.dingtalk.com"));
        check_url("http://8.8.8.8:8080/hook", STRICT).expect("public literal");
        check_url("http://[2001:4860:4860::8888]/", STRICT).expect("public v6 literal");
        // Names are left to the resolver.
        check_url("http://localhost:8080/", STRICT).expect("names pass");
    }

    #[test]
    fn check_url_refuses_bad_shapes() {
        for u in [
            "",
            "not a url",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "mailto:a@example.com",
            "data:text/plain,hi",
        ] {
            assert!(
                matches!(check_url(u, LOOSE), Err(OutboundError::BadUrl(_))),
                "{u:?}"
            );
        }
    }

    #[test]
    fn check_url_refuses_ip_literals_by_policy() {
        for (u, loose_ok) in [
            ("http://169.254.169.254/latest/meta-data/", false),
            ("http://[fd00:ec2::254]/", false),
            ("http://100.100.100.200/", false),
            ("http://[fe80::1]/", false),
            ("http://0.0.0.0:8080/", false),
            ("http://[::ffff:169.254.169.254]/", false),
            ("http://127.0.0.1:9000/", true),
            ("http://[::1]:9000/", true),
            ("http://10.1.2.3/", true),
            ("http://[::ffff:127.0.0.1]/", true),
            // Other spellings of 127.0.0.1 that the URL parser normalises.
            ("http://2130706433/", true),
            ("http://0x7f.1/", true),
            ("http://127.1/", true),
        ] {
            assert!(
                matches!(check_url(u, STRICT), Err(OutboundError::Forbidden { .. })),
                "{u} strict"
            );
            assert_eq!(check_url(u, LOOSE).is_ok(), loose_ok, "{u} loose");
        }
    }

    #[test]
    fn forbidden_error_explains_itself() {
        let e = check_url("http://169.254.169.254/", LOOSE).expect_err("metadata");
        assert!(e.to_string().contains("never called"), "{e}");
        let e = check_url("http://10.0.0.1/", STRICT).expect_err("private");
        assert!(e.to_string().contains("allow_private_targets"), "{e}");
    }

    async fn loopback_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nhello world",
                    )
                    .await;
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_unless_allowed() {
        let (addr, task) = loopback_server().await;
        let url = format!("http://localhost:{}/", addr.port());

        let strict = client(STRICT, Duration::from_secs(5));
        let err = strict.get(&url).send().await.expect_err("refused");
        assert!(
            matches!(refusal(&err), Some(OutboundError::Forbidden { .. })),
            "{err:?}"
        );
        assert!(describe_error(&err).contains("localhost"));

        let loose = client(LOOSE, Duration::from_secs(5));
        let resp = loose.get(&url).send().await.expect("allowed");
        let (status, body) = read_capped(resp, 1024).await.expect("read");
        assert_eq!(status, reqwest::StatusCode::OK);
        assert_eq!(body, "hello world");

        let resp = loose.get(&url).send().await.expect("allowed");
        assert_eq!(
            read_capped(resp, 5).await,
            Err(OutboundError::TooLarge { max: 5 })
        );
        task.abort();
    }
}

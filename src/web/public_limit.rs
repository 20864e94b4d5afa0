//! Per-address limits on the public link pages: an address that keeps presenting tokens that
//! do not exist is stopped. Only such failures count, so many recipients behind one office NAT
//! or proxy, or a link scanner opening real links, never lock each other out (real links are
//! single use and need no limit of their own).
//!
//! Kept in memory per process: several instances each allow the limit, which still bounds a
//! guesser far below anything that matters against 144-bit verifiers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct PublicLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    max: u32,
    window: Duration,
}

/// Addresses remembered before old windows are swept.
const SWEEP_AT: usize = 10_000;

impl PublicLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        PublicLimiter {
            windows: Mutex::new(HashMap::new()),
            max,
            window,
        }
    }

    fn window_of<'a>(
        &self,
        windows: &'a mut HashMap<IpAddr, (Instant, u32)>,
        ip: IpAddr,
        now: Instant,
    ) -> &'a mut (Instant, u32) {
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry
    }

    /// Runs `f` on `ip`'s current window (start, unknown tokens counted).
    fn with_window<R>(&self, ip: IpAddr, f: impl FnOnce(&mut (Instant, u32), Instant) -> R) -> R {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(self.window_of(&mut windows, ip, now), now)
    }

    /// Err holds the seconds until `ip` may try again.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.with_window(ip, |entry, now| {
            if entry.1 >= self.max {
                let left = self.window.saturating_sub(now.duration_since(entry.0));
                return Err(left.as_secs().max(1));
            }
            Ok(())
        })
    }

    /// Counts a request from `ip` that presented a token that does not exist.
    pub fn failed(&self, ip: IpAddr) {
        self.with_window(ip, |entry, _| entry.1 = entry.1.saturating_add(1));
    }
}

impl Default for PublicLimiter {
    /// 30 unknown tokens per 10 minutes: far more than mistyped links, far too few to guess.
    fn default() -> Self {
        PublicLimiter::new(30, Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_separately() {
        let l = PublicLimiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(l.check(a).is_ok());
        l.failed(a);
        assert!(l.check(a).is_ok());
        l.failed(a);
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
    }
}

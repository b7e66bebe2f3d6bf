use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Token bucket per client IP for requests that carry no valid credentials
/// (Binding, first Allocate, failed auth). The table is bounded: when full,
/// idle buckets are dropped, and if none is idle new IPs are refused.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: f64,
    max_entries: usize,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32, burst: u32, max_entries: usize) -> Self {
        RateLimiter {
            rate_per_sec: f64::from(rate_per_sec),
            burst: f64::from(burst.max(1)),
            max_entries: max_entries.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Take one token for `ip`; false means drop the request.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.rate_per_sec <= 0.0 {
            return true;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= self.max_entries {
            self.purge(now);
            if self.buckets.len() >= self.max_entries {
                return false;
            }
        }
        let (rate, burst) = (self.rate_per_sec, self.burst);
        let entry = self.buckets.entry(ip).or_insert((burst, now));
        let elapsed = now.saturating_duration_since(entry.1).as_secs_f64();
        entry.0 = (entry.0 + elapsed * rate).min(burst);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forget buckets that would be full again by now.
    pub fn purge(&mut self, now: Instant) {
        let refill = Duration::from_secs_f64(self.burst / self.rate_per_sec.max(f64::MIN_POSITIVE));
        self.buckets
            .retain(|_, (_, last)| now.saturating_duration_since(*last) < refill);
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

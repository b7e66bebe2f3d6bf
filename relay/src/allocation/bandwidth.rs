//! Per-allocation bandwidth limit: a byte token bucket charged by relayed
//! payload in both directions. Excess datagrams are dropped, as a congested
//! link would.

use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct ByteBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl ByteBucket {
    /// `bytes_per_sec` sustained, with a burst of a quarter second (at least 64 KiB).
    pub fn new(bytes_per_sec: u64, now: Instant) -> Self {
        let rate = bytes_per_sec as f64;
        let burst = (rate / 4.0).max(65_536.0);
        ByteBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_limits_the_sustained_rate() {
        let t0 = Instant::now();
        let mut b = ByteBucket::new(1_000_000, t0);
        let mut sent = 0usize;
        // Offer 4 MB over one simulated second in 1,000-byte datagrams.
        for i in 0..4000u64 {
            if b.take(1000, t0 + Duration::from_micros(i * 250)) {
                sent += 1000;
            }
        }
        assert!((1_000_000..=1_300_000).contains(&sent), "{sent}");
    }
}

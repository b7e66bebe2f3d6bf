//! Consent freshness on the selected pair (RFC 7675) and Chromium's "disconnected" signal.

use std::time::{Duration, Instant};

/// RFC 7675 §5.1: consent checks every 5 s on average...
pub const CONSENT_INTERVAL: Duration = Duration::from_secs(5);
/// ...randomised to 0.8..1.2 of that so checks of many flows do not synchronise.
const JITTER_PERCENT: u64 = 20;
/// RFC 7675 §5.1: consent is lost 30 s after the last authenticated response.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Chromium reports `disconnected` when its selected connection has gone ~2.5 s without a
/// response (WEAK_CONNECTION_RECEIVE_TIMEOUT); we count from the oldest unanswered check.
pub const DISCONNECTED_AFTER: Duration = Duration::from_millis(2500);

#[derive(Debug, Clone)]
pub(crate) struct Consent {
    next_check: Instant,
    last_response: Instant,
    oldest_unanswered: Option<Instant>,
}

impl Consent {
    /// Selection of a pair counts as fresh consent: its check just succeeded.
    pub(crate) fn start(now: Instant, random: u64) -> Self {
        Consent {
            next_check: now + interval(random),
            last_response: now,
            oldest_unanswered: None,
        }
    }

    pub(crate) fn due(&self, now: Instant) -> bool {
        now >= self.next_check
    }

    pub(crate) fn on_sent(&mut self, now: Instant, random: u64) {
        self.oldest_unanswered.get_or_insert(now);
        self.next_check = now + interval(random);
    }

    pub(crate) fn on_response(&mut self, now: Instant) {
        self.last_response = now;
        self.oldest_unanswered = None;
    }

    pub(crate) fn disconnected(&self, now: Instant) -> bool {
        self.oldest_unanswered
            .is_some_and(|t| now >= t + DISCONNECTED_AFTER)
    }

    pub(crate) fn expired(&self, now: Instant) -> bool {
        now >= self.last_response + CONSENT_TIMEOUT
    }

    pub(crate) fn last_response(&self) -> Instant {
        self.last_response
    }

    /// The earliest instant at which something about consent changes.
    pub(crate) fn deadline(&self, now: Instant) -> Instant {
        let mut d = self.next_check.min(self.last_response + CONSENT_TIMEOUT);
        if let Some(t) = self.oldest_unanswered {
            let disc = t + DISCONNECTED_AFTER;
            if disc > now {
                d = d.min(disc);
            }
        }
        d
    }
}

/// CONSENT_INTERVAL scaled by a factor in [0.8, 1.2] drawn from `random`.
fn interval(random: u64) -> Duration {
    let base = CONSENT_INTERVAL.as_millis() as u64;
    let span = base * 2 * JITTER_PERCENT / 100;
    let low = base - base * JITTER_PERCENT / 100;
    Duration::from_millis(low + random % (span + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_stays_within_rfc7675_bounds() {
        for r in [0u64, 1, 999, 2000, u64::MAX, 123_456_789] {
            let i = interval(r);
            assert!(i >= Duration::from_millis(4000) && i <= Duration::from_millis(6000));
        }
    }

    #[test]
    fn disconnected_then_expired() {
        let t0 = Instant::now();
        let mut c = Consent::start(t0, 0);
        assert!(!c.due(t0 + Duration::from_millis(3999)));
        assert!(c.due(t0 + Duration::from_millis(4000)));
        c.on_sent(t0 + Duration::from_secs(4), 0);
        assert!(!c.disconnected(t0 + Duration::from_millis(6499)));
        assert!(c.disconnected(t0 + Duration::from_millis(6500)));
        assert!(!c.expired(t0 + Duration::from_millis(29_999)));
        assert!(c.expired(t0 + Duration::from_secs(30)));
        c.on_response(t0 + Duration::from_secs(7));
        assert!(!c.disconnected(t0 + Duration::from_secs(8)));
    }
}

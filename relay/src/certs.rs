//! Rotation of the self-signed WebTransport certificate, sans-IO.
//!
//! A page may pin a self-signed certificate with `serverCertificateHashes`
//! only if it is an ECDSA P-256 certificate valid for less than 14 days
//! (W3C WebTransport §6.5 "custom certificate requirements"). So, when no CA
//! certificate is configured, the relay issues one valid `validity` (10 days),
//! serves it for `rotate_every` (5 days), and `announce_ahead` (1 hour) before
//! switching it issues the next one and publishes both hashes: a client that
//! fetched the hashes just before the switch still trusts the new
//! certificate. Time is a parameter (`now: SystemTime`); the caller owns the
//! clock and the key generation.

use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);

/// When certificates are issued and switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// `not_after - not_before`; must stay under 14 days for browsers.
    pub validity: Duration,
    /// How long one certificate is served to new sessions.
    pub rotate_every: Duration,
    /// How long before a switch the next certificate is issued and published.
    pub announce_ahead: Duration,
    /// `not_before` lies this far before issue time (peers' clock skew).
    pub backdate: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            validity: 10 * DAY,
            rotate_every: 5 * DAY,
            announce_ahead: Duration::from_secs(3600),
            backdate: Duration::from_secs(3600),
        }
    }
}

/// The validity window of one certificate, and when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertWindow {
    pub issued: SystemTime,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl RotationPolicy {
    /// The window of a certificate issued at `now`. The backdate counts in
    /// the validity so the whole period stays under the browsers' limit.
    pub fn window(&self, now: SystemTime) -> CertWindow {
        let not_before = now.checked_sub(self.backdate).unwrap_or(now);
        CertWindow {
            issued: now,
            not_before,
            not_after: not_before + self.validity,
        }
    }
}

/// What changed in one [`Rotation::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationEvent {
    /// Nothing to do.
    Idle,
    /// A next certificate was issued and is published beside the current one.
    Announced,
    /// The next certificate now serves new sessions (the server config must be reloaded).
    Switched,
}

/// The served certificate and the announced next one; `C` is whatever the
/// caller keeps per certificate (an identity, or a number in tests).
#[derive(Debug)]
pub struct Rotation<C> {
    policy: RotationPolicy,
    current: (C, CertWindow),
    next: Option<(C, CertWindow)>,
}

impl<C> Rotation<C> {
    /// Start with a certificate issued at `now` by `issue`.
    pub fn new<E>(
        policy: RotationPolicy,
        now: SystemTime,
        issue: impl FnOnce(CertWindow) -> Result<C, E>,
    ) -> Result<Self, E> {
        let w = policy.window(now);
        Ok(Rotation {
            policy,
            current: (issue(w)?, w),
            next: None,
        })
    }

    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// The certificate to serve to new sessions.
    pub fn current(&self) -> (&C, &CertWindow) {
        (&self.current.0, &self.current.1)
    }

    /// The announced next certificate, if any.
    pub fn next(&self) -> Option<(&C, &CertWindow)> {
        self.next.as_ref().map(|(c, w)| (c, w))
    }

    /// Every certificate whose hash should be published: current first.
    pub fn published(&self) -> impl Iterator<Item = (&C, &CertWindow)> {
        std::iter::once(self.current()).chain(self.next())
    }

    /// When the current certificate is due to be replaced.
    pub fn switch_at(&self) -> SystemTime {
        self.current.1.issued + self.policy.rotate_every
    }

    /// When `poll` next has something to do.
    pub fn next_deadline(&self) -> SystemTime {
        match self.next {
            Some(_) => self.switch_at(),
            None => self
                .switch_at()
                .checked_sub(self.policy.announce_ahead)
                .unwrap_or(self.current.1.issued),
        }
    }

    /// Issue and switch as the schedule says at `now`. A clock that jumped
    /// past the current certificate's expiry (suspend, NTP step) issues a
    /// fresh certificate at once rather than serving an expired one.
    pub fn poll<E>(
        &mut self,
        now: SystemTime,
        mut issue: impl FnMut(CertWindow) -> Result<C, E>,
    ) -> Result<RotationEvent, E> {
        let mut event = RotationEvent::Idle;
        if self.next.is_none() && now >= self.next_deadline() {
            let w = self.policy.window(now);
            self.next = Some((issue(w)?, w));
            event = RotationEvent::Announced;
        }
        if now >= self.switch_at() {
            if let Some(next) = self.next.take() {
                self.current = next;
                event = RotationEvent::Switched;
            }
        }
        // The promoted certificate itself may be stale after a long jump.
        if now >= self.current.1.not_after || now < self.current.1.not_before {
            let w = self.policy.window(now);
            self.current = (issue(w)?, w);
            self.next = None;
            event = RotationEvent::Switched;
        }
        Ok(event)
    }
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn counter() -> impl FnMut(CertWindow) -> Result<u32, Infallible> {
        let mut n = 1;
        move |_| {
            n += 1;
            Ok(n)
        }
    }

    #[test]
    fn windows_stay_under_the_browser_limit() {
        let p = RotationPolicy::default();
        let w = p.window(t(0));
        let span = w.not_after.duration_since(w.not_before).unwrap();
        assert!(span < 14 * DAY, "{span:?}");
        assert_eq!(w.not_before, t(0) - Duration::from_secs(3600));
        assert!(p.rotate_every + p.announce_ahead < p.validity - p.backdate);
    }

    #[test]
    fn announces_ahead_then_switches_then_repeats() {
        let p = RotationPolicy::default();
        let mut issue = counter();
        let mut r = Rotation::new(p, t(0), |_| Ok::<_, Infallible>(1)).unwrap();
        let day = 86_400;
        assert_eq!(r.poll(t(day), &mut issue), Ok(RotationEvent::Idle));
        assert_eq!(r.published().count(), 1);
        // One hour before the switch: the next certificate is published.
        let announce = 5 * day - 3600;
        assert_eq!(r.next_deadline(), t(announce));
        assert_eq!(r.poll(t(announce - 1), &mut issue), Ok(RotationEvent::Idle));
        assert_eq!(
            r.poll(t(announce), &mut issue),
            Ok(RotationEvent::Announced)
        );
        let published: Vec<u32> = r.published().map(|(c, _)| *c).collect();
        assert_eq!(published, vec![1, 2]);
        assert_eq!(*r.current().0, 1, "still serving the old one");
        assert_eq!(
            r.poll(t(announce + 60), &mut issue),
            Ok(RotationEvent::Idle)
        );
        // At the switch the announced certificate serves, alone.
        assert_eq!(r.poll(t(5 * day), &mut issue), Ok(RotationEvent::Switched));
        assert_eq!(*r.current().0, 2);
        assert_eq!(r.current().1.issued, t(announce));
        assert_eq!(r.published().count(), 1);
        // The next cycle counts from the new certificate's issue time.
        assert_eq!(r.switch_at(), t(announce + 5 * day));
        assert_eq!(
            r.poll(t(announce + 5 * day - 3600), &mut issue),
            Ok(RotationEvent::Announced)
        );
    }

    #[test]
    fn served_certificate_is_always_within_its_window() {
        let p = RotationPolicy::default();
        let mut issue = counter();
        let mut r = Rotation::new(p, t(0), |_| Ok::<_, Infallible>(1)).unwrap();
        // Poll every 10 minutes for 60 days.
        for step in 0..(60 * 144) {
            let now = t(step * 600);
            r.poll(now, &mut issue).unwrap();
            for (_, w) in r.published() {
                assert!(w.not_before <= now && now < w.not_after, "step {step}");
            }
        }
    }

    #[test]
    fn a_clock_jump_past_expiry_issues_a_fresh_certificate() {
        let p = RotationPolicy::default();
        let mut issue = counter();
        let mut r = Rotation::new(p, t(0), |_| Ok::<_, Infallible>(1)).unwrap();
        let later = t(30 * 86_400);
        assert_eq!(r.poll(later, &mut issue), Ok(RotationEvent::Switched));
        let (_, w) = r.current();
        assert_eq!(w.issued, later);
        assert!(r.next().is_none());
        // Backwards before not_before also reissues.
        assert_eq!(r.poll(t(0), &mut issue), Ok(RotationEvent::Switched));
        assert_eq!(r.current().1.issued, t(0));
    }

    #[test]
    fn issue_errors_propagate_and_leave_state_alone() {
        let p = RotationPolicy::default();
        let mut r = Rotation::new(p, t(0), |_| Ok::<_, &str>(1)).unwrap();
        let at = t(5 * 86_400 - 3600);
        assert_eq!(r.poll(at, |_| Err("no entropy")), Err("no entropy"));
        assert!(r.next().is_none());
        assert_eq!(
            r.poll(at, |_| Ok::<_, &str>(7)),
            Ok(RotationEvent::Announced)
        );
    }
}

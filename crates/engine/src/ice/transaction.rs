//! Outstanding Binding transactions and their retransmission timers (RFC 8489 §6.2.1 with
//! the RTO of RFC 8445 §14.3).

use polyrtc_stun::TransactionId;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 8445 §14.3: RTO is at least 500 ms.
pub const MIN_RTO: Duration = Duration::from_millis(500);
/// Doubling stops here so a lost path is noticed within ~20 s, like Chromium, which gives a
/// connection up after its pings went unanswered for about 15 s.
pub const MAX_RTO: Duration = Duration::from_secs(3);
/// The first transmission plus 7 retransmissions (RFC 8489 Rc = 7).
pub const MAX_TRANSMISSIONS: u32 = 8;

/// Why a transaction was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// An ordinary or triggered check; `nominate` when it carries USE-CANDIDATE.
    Check { nominate: bool },
    /// RFC 7675 consent freshness on the selected pair.
    Consent,
}

#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub tid: TransactionId,
    pub local_base: SocketAddr,
    pub remote: SocketAddr,
    pub purpose: Purpose,
    /// Our role when the request went out: a 487 to a request of a role we already left is
    /// stale (RFC 8445 §7.2.5.1 applies to the role the request claimed).
    pub controlling: bool,
    pub data: Vec<u8>,
    /// The peer password that authenticates the response (RFC 8445 §7.2.5.1); kept per
    /// transaction because a restart changes it while old-generation checks are in flight.
    pub remote_pwd: String,
    pub first_sent: Instant,
    pub transmissions: u32,
    pub rto: Duration,
    pub next_at: Instant,
    /// RFC 8445 §7.3.1.4: superseded by a triggered check on the same pair; no more
    /// retransmissions, and its timeout fails nothing, but a late response still counts.
    pub cancelled: bool,
}

/// What a timer expiry asks for.
pub(crate) enum Expiry {
    Retransmit,
    TimedOut,
}

impl Transaction {
    pub(crate) fn new(
        tid: TransactionId,
        pair: (SocketAddr, SocketAddr),
        purpose: Purpose,
        controlling: bool,
        data: Vec<u8>,
        now: Instant,
        rto: Duration,
    ) -> Self {
        let rto = rto.clamp(MIN_RTO, MAX_RTO);
        Transaction {
            tid,
            local_base: pair.0,
            remote: pair.1,
            purpose,
            controlling,
            data,
            remote_pwd: String::new(),
            first_sent: now,
            transmissions: 1,
            rto,
            next_at: now + rto,
            cancelled: false,
        }
    }

    /// Advance the timer at `now` (called only when `now >= next_at`).
    pub(crate) fn expire(&mut self, now: Instant) -> Expiry {
        if self.transmissions >= MAX_TRANSMISSIONS {
            return Expiry::TimedOut;
        }
        self.transmissions += 1;
        // The last transmission waits one more (capped) RTO for its answer.
        self.rto = (self.rto * 2).min(MAX_RTO);
        self.next_at = now + self.rto;
        Expiry::Retransmit
    }

    pub(crate) fn pair(&self) -> (SocketAddr, SocketAddr) {
        (self.local_base, self.remote)
    }
}

/// RFC 8445 §14.3: RTO = MAX(500 ms, Ta * N * (Num-Waiting + Num-In-Progress)), N = 1
/// (one component, one data stream under BUNDLE).
pub(crate) fn check_rto(ta: Duration, waiting_and_in_progress: usize) -> Duration {
    let n = u32::try_from(waiting_and_in_progress).unwrap_or(u32::MAX);
    ta.saturating_mul(n).max(MIN_RTO)
}

//! Candidate pairs (RFC 8445 §6.1.2) and what getStats reports about them
//! (webrtc-stats RTCIceCandidatePairStats).

use super::candidates::CandidateKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 8445 §6.1.2.6 pair states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

impl PairState {
    /// The RTCStatsIceCandidatePairState string.
    pub fn as_str(self) -> &'static str {
        match self {
            PairState::Frozen => "frozen",
            PairState::Waiting => "waiting",
            PairState::InProgress => "in-progress",
            PairState::Succeeded => "succeeded",
            PairState::Failed => "failed",
        }
    }
}

/// RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the controlling side's
/// candidate priority, D the controlled side's.
pub fn pair_priority(local: u32, remote: u32, controlling: bool) -> u64 {
    let (g, d) = if controlling {
        (u64::from(local), u64::from(remote))
    } else {
        (u64::from(remote), u64::from(local))
    };
    (g.min(d) << 32) + 2 * g.max(d) + u64::from(g > d)
}

/// One local/remote pairing with its check state and counters.
#[derive(Debug, Clone)]
pub struct CandidatePair {
    /// Local candidate address (a peer-reflexive one once a response told us our mapping).
    pub local: SocketAddr,
    /// Where packets of this pair are sent from.
    pub local_base: SocketAddr,
    pub local_kind: CandidateKind,
    pub local_priority: u32,
    pub remote: SocketAddr,
    pub remote_kind: CandidateKind,
    pub remote_priority: u32,
    /// Local foundation + ":" + remote foundation (RFC 8445 §6.1.2.6).
    pub foundation: String,
    pub state: PairState,
    pub nominated: bool,
    pub priority: u64,
    pub requests_sent: u64,
    pub requests_received: u64,
    pub responses_sent: u64,
    pub responses_received: u64,
    pub consent_requests_sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub bytes_discarded_on_send: u64,
    pub packets_discarded_on_send: u64,
    pub current_rtt: Option<Duration>,
    pub total_rtt: Duration,
    pub last_packet_sent: Option<Instant>,
    pub last_packet_received: Option<Instant>,
    pub last_request_received: Option<Instant>,
    pub last_response_received: Option<Instant>,
    /// The controlling peer asked for this pair (USE-CANDIDATE) before our check succeeded
    /// (RFC 8445 §7.3.1.5): nominate it as soon as it does.
    pub(crate) nominate_on_success: bool,
}

impl CandidatePair {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        local: &super::candidates::LocalCandidate,
        remote: &super::candidates::RemoteCandidate,
        controlling: bool,
    ) -> Self {
        CandidatePair {
            local: local.addr,
            local_base: local.base,
            local_kind: local.kind,
            local_priority: local.priority,
            remote: remote.addr,
            remote_kind: remote.kind,
            remote_priority: remote.priority,
            foundation: format!("{}:{}", local.foundation, remote.foundation),
            state: PairState::Frozen,
            nominated: false,
            priority: pair_priority(local.priority, remote.priority, controlling),
            requests_sent: 0,
            requests_received: 0,
            responses_sent: 0,
            responses_received: 0,
            consent_requests_sent: 0,
            bytes_sent: 0,
            bytes_received: 0,
            packets_sent: 0,
            packets_received: 0,
            bytes_discarded_on_send: 0,
            packets_discarded_on_send: 0,
            current_rtt: None,
            total_rtt: Duration::ZERO,
            last_packet_sent: None,
            last_packet_received: None,
            last_request_received: None,
            last_response_received: None,
            nominate_on_success: false,
        }
    }

    /// The 5-tuple identity used for pruning (RFC 8445 §6.1.2.4): local base and remote address.
    pub fn key(&self) -> (SocketAddr, SocketAddr) {
        (self.local_base, self.remote)
    }

    pub(crate) fn recompute_priority(&mut self, controlling: bool) {
        self.priority = pair_priority(self.local_priority, self.remote_priority, controlling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_priority_formula() {
        // RFC 8445 §6.1.2.3 with G=10, D=5 and the reverse.
        assert_eq!(pair_priority(10, 5, true), (5u64 << 32) + 20 + 1);
        assert_eq!(pair_priority(10, 5, false), (5u64 << 32) + 20);
        // Both sides compute the same value for the same pair.
        assert_eq!(pair_priority(7, 9, true), pair_priority(9, 7, false));
    }
}

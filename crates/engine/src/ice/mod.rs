//! ICE: the sans-IO agent (RFC 8445, consent RFC 7675, demux RFC 7983) in the submodules,
//! and the object-model parts without a network here: remote candidates from
//! addIceCandidate (webrtc-pc §4.4.1.6) and gathering state/events (§4.3.2).
//!
//! Wiring the agent (one per PeerConnection under BUNDLE):
//! - `IceAgent::new(creds, controlling = offerer, tie_breaker from the RNG, now)`, then
//!   `set_rng_seed` with bytes from the connection's RNG; `set_remote_lite(true)` for
//!   `a=ice-lite` remotes.
//! - Local candidates: `LocalCandidate::relayed(relayed_addr, server_ip, proto, pref)` for
//!   the TURN allocation; its `base` is the relayed address, so a `Transmit { from, .. }` whose
//!   `from` is a relayed address goes out through the TURN client (Send/ChannelData), and a
//!   datagram the TURN client unwraps is fed as `handle_packet(now, relayed_addr, peer, data)`.
//! - Every datagram: `demux::classify` it (RFC 7983); STUN goes to `handle_packet` first (false
//!   means not ICE's: a TURN response), DTLS/RTP go on along `selected_pair()`, with
//!   `note_data_sent/received` for stats.
//! - Drive with `poll_transmit` / `poll_event` / `poll_timeout` / `handle_timeout`.
//!   `IceEvent::StateChanged` maps to `iceConnectionState` (Chromium's states; never
//!   `completed`), `SelectedPair` re-targets DTLS.

mod agent;
mod candidates;
mod checklist;
mod consent;
pub mod demux;
mod inbound;
mod pair;
mod stun_check;
mod transaction;

pub use agent::{IceAgent, IceCredentials, IceEvent, Transmit, MAX_PAIRS, NOMINATION_WAIT, TA};
pub use candidates::{
    candidate_priority, CandidateKind, CandidateSkipped, LocalCandidate, RelayProtocol,
    RemoteCandidate, COMPONENT_RTP,
};
pub use consent::{CONSENT_INTERVAL, CONSENT_TIMEOUT, DISCONNECTED_AFTER};
pub use demux::{classify, PacketKind};
pub use pair::{pair_priority, CandidatePair, PairState};
pub use transaction::{MAX_RTO, MAX_TRANSMISSIONS, MIN_RTO};

use crate::api::*;
use crate::candidate;
use crate::peer_connection::PeerConnection;
use crate::sdp::{Attribute, Attributes};

/// webrtc-pc §4.4.1.6 addIceCandidate failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    #[error("Candidate missing values for both sdpMid and sdpMLineIndex")]
    NoMidNoIndex,
    #[error("The remote description was null")]
    NoRemoteDescription,
    #[error("Unknown sdpMid '{0}'")]
    UnknownMid(String),
    #[error("sdpMLineIndex {0} is out of range")]
    IndexOutOfRange(u16),
    #[error("Error processing ICE candidate: {0}")]
    Malformed(candidate::CandidateError),
}

impl From<IceError> for ApiError {
    fn from(e: IceError) -> Self {
        let name = match e {
            IceError::NoMidNoIndex => ErrorName::TypeError,
            IceError::NoRemoteDescription => ErrorName::InvalidStateError,
            _ => ErrorName::OperationError,
        };
        ApiError::new(name, e.to_string())
    }
}

impl PeerConnection {
    pub(crate) fn add_ice_candidate(
        &mut self,
        init: Option<IceCandidateInit>,
    ) -> Result<ApiReply, ApiError> {
        let init = init.unwrap_or_default();
        if !init.candidate.is_empty() && init.sdp_mid.is_none() && init.sdp_m_line_index.is_none() {
            return Err(IceError::NoMidNoIndex.into());
        }
        self.check_open()?;
        let end_of_candidates = init.candidate.is_empty();
        let Some(remote) = self.descs.remote() else {
            // Chromium resolves an end-of-candidates indication without a remote description
            // (webrtc-pc says InvalidStateError; docs/chromium-differences.md).
            if end_of_candidates {
                return Ok(ApiReply::Done);
            }
            return Err(IceError::NoRemoteDescription.into());
        };
        let sdp = &remote.parsed;
        let index = match (&init.sdp_mid, init.sdp_m_line_index) {
            (Some(mid), _) => match sdp.media_index_by_mid(mid) {
                Some(i) => Some(i),
                // Chromium: end-of-candidates for an unknown mid resolves and does nothing.
                None if end_of_candidates => return Ok(ApiReply::Done),
                None => return Err(IceError::UnknownMid(mid.clone()).into()),
            },
            (None, Some(i)) => {
                let ok = usize::from(i) < sdp.media.len();
                Some(
                    ok.then_some(usize::from(i))
                        .ok_or(IceError::IndexOutOfRange(i))?,
                )
            }
            (None, None) => None,
        };
        let parsed = if init.candidate.is_empty() {
            None
        } else {
            Some(candidate::parse(&init.candidate).map_err(IceError::Malformed)?)
        };
        let ufrag = init
            .username_fragment
            .clone()
            .or_else(|| parsed.as_ref().and_then(|c| c.ufrag.clone()));
        if let Some(u) = ufrag {
            let matches = match index {
                Some(i) => sdp.ice_ufrag(i) == Some(u.as_str()),
                None => (0..sdp.media.len()).any(|i| sdp.ice_ufrag(i) == Some(u.as_str())),
            };
            if !matches {
                // Chromium resolves and keeps the candidate for a later ICE generation; we drop
                // it (webrtc-pc says OperationError; docs/chromium-differences.md).
                return Ok(ApiReply::Done);
            }
        }
        match (parsed, index) {
            (Some(c), Some(i)) => self.add_remote_candidate(i, c, &init.candidate),
            (_, index) => self.end_of_candidates(index),
        }
        Ok(ApiReply::Done)
    }

    /// Chromium adds remote candidates to remoteDescription.sdp, so do we (RFC 8839 §5.1).
    fn add_remote_candidate(&mut self, index: usize, c: candidate::Candidate, line: &str) {
        if self
            .remote_candidates
            .iter()
            .any(|(i, x)| *i == index && *x == c)
        {
            return;
        }
        let value = line
            .trim()
            .trim_start_matches("a=")
            .trim_start_matches("candidate:")
            .to_string();
        if let Some(d) = self.descs.remote_mut() {
            if let Some(m) = d.parsed.media.get_mut(index) {
                let at = m
                    .attributes
                    .iter()
                    .position(|a| a.name == "end-of-candidates")
                    .unwrap_or(m.attributes.len());
                m.attributes.insert(at, Attribute::new("candidate", value));
                d.sdp = d.parsed.to_sdp_string();
            }
        }
        self.remote_candidates.push((index, c));
    }

    fn end_of_candidates(&mut self, index: Option<usize>) {
        let Some(d) = self.descs.remote_mut() else {
            return;
        };
        let n = d.parsed.media.len();
        let targets: Vec<usize> = match index {
            Some(i) => vec![i],
            None => (0..n).collect(),
        };
        for i in targets {
            if let Some(m) = d.parsed.media.get_mut(i) {
                if !m.has("end-of-candidates") {
                    m.attributes.push(Attribute::flag("end-of-candidates"));
                }
            }
        }
        d.sdp = d.parsed.to_sdp_string();
    }
}

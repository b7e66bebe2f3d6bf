//! webrtc-pc §4.7.3 "check if negotiation is needed". The negotiation-needed flag and the task
//! queueing are the JS shell's; this is the pure check.

use crate::api::{SdpType, TransceiverDirection};
use crate::peer_connection::PeerConnection;
use crate::sdp::{Direction, MediaSection};
use crate::transceiver::Transceiver;

impl PeerConnection {
    pub(crate) fn is_negotiation_needed(&self) -> bool {
        if self.closed {
            return false;
        }
        // Step: [[LocalIceCredentialsToReplace]] is not empty (restartIce()).
        if self.ice_restart_pending {
            return true;
        }
        let local = self.descs.current_local.as_ref();
        let remote = self.descs.current_remote.as_ref().map(|d| &d.parsed);
        let data_negotiated = local.is_some_and(|d| {
            d.parsed
                .media
                .iter()
                .any(|m| m.is_data() && !m.is_rejected())
        });
        if !self.channels.is_empty() && !data_negotiated {
            return true;
        }
        for t in &self.transceivers {
            if t.stopping && !t.stopped {
                return true;
            }
            if !t.stopped && t.mid.is_none() {
                return true;
            }
            let Some(local) = local else { continue };
            let Some(mid) = t.mid.as_deref() else {
                continue;
            };
            let Some(m) = local.parsed.media.iter().find(|m| m.mid() == Some(mid)) else {
                // Associated by a remote offer not yet answered into the current description.
                if !t.stopped {
                    return true;
                }
                continue;
            };
            let rm = remote.and_then(|r| r.media.iter().find(|m| m.mid() == Some(mid)));
            if t.stopped {
                if !m.is_rejected() || rm.is_some_and(|r| !r.is_rejected()) {
                    return true;
                }
                continue;
            }
            if transceiver_needs(t, local.sdp_type, m, rm) {
                return true;
            }
        }
        false
    }
}

/// Per-transceiver steps of §4.7.3 for an associated, non-stopped transceiver.
fn transceiver_needs(
    t: &Transceiver,
    local_type: SdpType,
    m: &MediaSection,
    rm: Option<&MediaSection>,
) -> bool {
    let dir = t.sdp_direction();
    if matches!(
        t.direction,
        TransceiverDirection::Sendrecv | TransceiverDirection::Sendonly
    ) {
        let mut want = t.sender_stream_ids.clone();
        let mut have = m.msid_streams();
        want.sort();
        have.sort();
        if !m.has_msid() || want != have {
            return true;
        }
    }
    let remote_dir = rm.map(|r| r.direction().reversed());
    match local_type {
        SdpType::Offer => m.direction() != dir && remote_dir != Some(dir),
        SdpType::Answer => {
            let offered = remote_dir.unwrap_or(Direction::SendRecv);
            m.direction() != dir.intersect(offered)
        }
        _ => false,
    }
}

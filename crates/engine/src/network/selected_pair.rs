//! `RTCIceTransport.getSelectedCandidatePair()` and its `selectedcandidatepairchange` event
//! (webrtc-pc §5.6): the agent selects by address; the page gets `RTCIceCandidate`s.
//!
//! Chromium 156 builds both candidates of the pair with `sdpMid` "" and `sdpMLineIndex` 0 (not
//! the m-section they were signalled in), and `url` "" where there is no server; we do the same.

use std::net::SocketAddr;

use crate::api::{Event, IceCandidateInfo, IceCandidateInit};
use crate::ice::CandidateKind;
use crate::peer_connection::PeerConnection;

impl PeerConnection {
    /// Queue `selectedcandidatepairchange` for the pair (local base, remote) the agent chose.
    pub(crate) fn selected_pair_changed(&mut self, local: SocketAddr, remote: SocketAddr) {
        let (Some(local), Some(remote)) =
            (self.local_pair_info(local), self.remote_pair_info(remote))
        else {
            return;
        };
        self.events
            .push_back(Event::SelectedCandidatePairChange { local, remote });
    }

    /// Our candidate on `base`, as announced in `icecandidate` (our only candidates are relayed
    /// addresses, which are their own base).
    fn local_pair_info(&self, base: SocketAddr) -> Option<IceCandidateInfo> {
        let info = self
            .network
            .local_infos
            .iter()
            .find(|(addr, _)| *addr == base)
            .map(|(_, info)| info.clone())?;
        Some(IceCandidateInfo {
            sdp_mid: Some(String::new()),
            sdp_m_line_index: Some(0),
            ..info
        })
    }

    /// The peer's candidate at `addr`: the line it signalled, or a peer-reflexive candidate
    /// learned from its checks (RFC 8445 §7.3.1.3), written the way Chromium writes one.
    fn remote_pair_info(&self, addr: SocketAddr) -> Option<IceCandidateInfo> {
        let agent = self.network.agent.as_ref()?;
        let candidate = agent.remote_candidates().find(|c| c.addr == addr)?;
        let ufrag = self.network.remote_ufrag.clone();
        let signalled = self
            .network
            .remote_lines
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, line)| line.clone());
        let line = match signalled {
            Some(line) if candidate.kind != CandidateKind::PeerReflexive => line,
            _ => {
                let mut line = format!(
                    "candidate:{} 1 udp {} {} {} typ {} generation 0",
                    candidate.foundation,
                    candidate.priority,
                    addr.ip(),
                    addr.port(),
                    candidate.kind.as_str()
                );
                if let Some(u) = &ufrag {
                    line.push_str(&format!(" ufrag {u}"));
                }
                line
            }
        };
        let init = IceCandidateInit {
            candidate: line,
            sdp_mid: Some(String::new()),
            sdp_m_line_index: Some(0),
            username_fragment: ufrag,
        };
        let mut info = crate::candidate::info_from_init(&init);
        info.url = Some(String::new());
        Some(info)
    }
}

//! createOffer (RFC 9429 §5.2): initial and subsequent offers.

use super::msection::{self, Transport};
use super::{Created, IceCredentials, JsepError, Slot};
use crate::api::{
    ApiError, ApiReply, MediaKind, OfferOptions, SdpType, SessionDescription, SignalingState,
    TransceiverDirection,
};
use crate::peer_connection::PeerConnection;
use crate::random;
use crate::sdp::{MediaSection, Sdp};

impl PeerConnection {
    pub(crate) fn create_offer(&mut self, options: &OfferOptions) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        // webrtc-pc §4.4.1.6 createOffer: only in stable or have-local-offer (Chromium agrees).
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(
                JsepError::WrongState("createOffer needs stable or have-local-offer").into(),
            );
        }
        self.apply_legacy_offer_options(options);
        if options.ice_restart || self.ice_restart_pending {
            // RFC 9429 §5.2.1/§5.2.3.1: an ICE restart changes ufrag and pwd. Reuse the ones a
            // previous restart offer already chose, so repeated createOffer calls agree.
            if self.applied_ice.as_ref() == Some(&self.next_ice) {
                self.next_ice = self.fresh_ice();
            }
        }
        let ice = self.next_ice.clone();
        let plan = self.offer_plan();
        let fingerprint = self.fingerprint();
        let transport = Transport {
            ice: &ice,
            fingerprint: &fingerprint,
            setup: "actpass",
        };
        let mut media = Vec::new();
        for (mid, slot) in &plan {
            media.push(self.offer_section(&transport, mid, slot));
        }
        let bundle: Vec<String> = plan
            .iter()
            .zip(&media)
            .filter(|(_, m)| m.port != 0)
            .map(|((mid, _), _)| mid.clone())
            .collect();
        self.session_version += 1;
        let mut sdp = msection::session(&self.session_id, self.session_version, &bundle);
        sdp.media = media;
        let text = sdp.to_sdp_string();
        self.last_offer = Some(Created {
            sdp: text.clone(),
            plan,
            ice,
        });
        Ok(ApiReply::Description {
            description: SessionDescription {
                sdp_type: SdpType::Offer,
                sdp: text,
            },
        })
    }

    pub(crate) fn fresh_ice(&mut self) -> IceCredentials {
        IceCredentials {
            ufrag: random::ice_ufrag(&mut self.rng),
            pwd: random::ice_pwd(&mut self.rng),
        }
    }

    /// Legacy offerToReceiveAudio/Video (webrtc-pc §11.3.2), as Chromium's
    /// HandleLegacyOfferOptions: `true` adds a recvonly transceiver of that kind unless one
    /// already receives; `false` removes the receive direction from the receiving ones
    /// (recvonly → inactive, sendrecv → sendonly).
    fn apply_legacy_offer_options(&mut self, options: &OfferOptions) {
        use TransceiverDirection::*;
        for (want, kind) in [
            (options.offer_to_receive_audio, MediaKind::Audio),
            (options.offer_to_receive_video, MediaKind::Video),
        ] {
            let receiving = |t: &crate::transceiver::Transceiver| {
                t.kind == kind
                    && !t.stopped
                    && !t.stopping
                    && matches!(t.direction, Sendrecv | Recvonly)
            };
            match want {
                Some(true) if !self.transceivers.iter().any(receiving) => {
                    self.new_transceiver(kind, None, Recvonly, Vec::new(), Vec::new());
                }
                Some(false) => {
                    for t in self.transceivers.iter_mut().filter(|t| receiving(t)) {
                        t.direction = if t.direction == Sendrecv {
                            Sendonly
                        } else {
                            Inactive
                        };
                    }
                }
                _ => {}
            }
        }
    }

    /// Which m-sections the offer has: those of the previous local (or remote) description in
    /// their order (RFC 9429 §5.2.2), then new transceivers, then data if channels exist.
    fn offer_plan(&self) -> Vec<(String, Slot)> {
        let mut plan: Vec<(String, Slot)> = Vec::new();
        let previous = self
            .descs
            .local()
            .or(self.descs.remote())
            .map(|d| &d.parsed);
        let mut used: Vec<String> = Vec::new();
        if let Some(prev) = previous {
            for m in &prev.media {
                let mid = m.mid().unwrap_or_default().to_string();
                used.push(mid.clone());
                plan.push((mid.clone(), self.slot_for(m, &mid)));
            }
        }
        used.extend(self.transceivers.iter().filter_map(|t| t.mid.clone()));
        let mut next = 0u32;
        let mut new_mid = |used: &mut Vec<String>| loop {
            let mid = next.to_string();
            next += 1;
            if !used.contains(&mid) {
                used.push(mid.clone());
                return mid;
            }
        };
        for t in self
            .transceivers
            .iter()
            .filter(|t| t.mid.is_none() && !t.stopping)
        {
            // A transceiver without mid may still have one planned by an earlier createOffer
            // that was never applied; mids are only fixed by setLocalDescription.
            let planned = self.last_offer.as_ref().and_then(|o| {
                o.plan
                    .iter()
                    .find(|(_, s)| *s == Slot::Transceiver(t.id))
                    .map(|(m, _)| m.clone())
            });
            let mid = match planned {
                Some(m) if !used.contains(&m) => {
                    used.push(m.clone());
                    m
                }
                _ => new_mid(&mut used),
            };
            plan.push((mid, Slot::Transceiver(t.id)));
        }
        if !self.channels.is_empty() && !plan.iter().any(|(_, s)| *s == Slot::Data) {
            plan.push((new_mid(&mut used), Slot::Data));
        }
        plan
    }

    /// Header extension ids of the current descriptions (the whole session: m-sections share
    /// one BUNDLE transport), first use of an id wins.
    fn extmaps_in_use(&self) -> Vec<(u16, String)> {
        let mut out: Vec<(u16, String)> = Vec::new();
        for d in [self.descs.local(), self.descs.remote()]
            .into_iter()
            .flatten()
        {
            for m in d.parsed.media.iter().filter(|m| !m.is_rejected()) {
                for (id, uri) in m.extmaps() {
                    if !out.iter().any(|(i, u)| *i == id || *u == uri) {
                        out.push((id, uri));
                    }
                }
            }
        }
        out
    }

    fn slot_for(&self, m: &MediaSection, mid: &str) -> Slot {
        if m.is_data() {
            return if m.is_rejected() && self.channels.is_empty() {
                Slot::Rejected
            } else {
                Slot::Data
            };
        }
        match self
            .transceivers
            .iter()
            .find(|t| t.mid.as_deref() == Some(mid))
        {
            Some(t) if !t.stopping && !m.is_rejected() => Slot::Transceiver(t.id),
            // A rejected m-section whose transceiver was stopped stays rejected (no recycling).
            _ => Slot::Rejected,
        }
    }

    fn offer_section(&self, t: &Transport, mid: &str, slot: &Slot) -> MediaSection {
        match slot {
            Slot::Data => msection::data(t, mid),
            Slot::Transceiver(id) => match self.transceivers.iter().find(|x| x.id == *id) {
                Some(tr) => {
                    let body = msection::offer_body(tr, &self.extmaps_in_use());
                    msection::media(t, mid, tr, body, &self.cname)
                }
                None => msection::rejected("audio", "UDP/TLS/RTP/SAVPF", &[], Some(mid)),
            },
            Slot::Rejected => {
                let prev: Option<&Sdp> = self
                    .descs
                    .local()
                    .or(self.descs.remote())
                    .map(|d| &d.parsed);
                let m = prev.and_then(|p| p.media.iter().find(|m| m.mid() == Some(mid)));
                match m {
                    Some(m) => msection::rejected(&m.media, &m.proto, &m.formats, Some(mid)),
                    None => msection::rejected("audio", "UDP/TLS/RTP/SAVPF", &[], Some(mid)),
                }
            }
        }
    }
}

//! createAnswer (RFC 9429 §5.3): mirror the offer's m-sections and order, accept what we can,
//! reject the rest with port 0.

use super::msection::{self, MediaBody, Transport};
use super::{Created, JsepError, Slot};
use crate::api::{ApiError, ApiReply, SdpType, SessionDescription, SignalingState};
use crate::codecs;
use crate::peer_connection::PeerConnection;
use crate::sdp::{Attributes, MediaSection, Sdp};
use crate::transceiver::Transceiver;

impl PeerConnection {
    pub(crate) fn create_answer(&mut self) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        if !matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(JsepError::WrongState("createAnswer needs a remote offer").into());
        }
        let Some(offer) = self.descs.pending_remote.as_ref().map(|d| d.parsed.clone()) else {
            return Err(JsepError::WrongState("createAnswer needs a remote offer").into());
        };
        if self.remote_restarts_ice(&offer) && self.applied_ice.as_ref() == Some(&self.next_ice) {
            // RFC 9429 §5.3.1: answer an ICE restart with new credentials.
            self.next_ice = self.fresh_ice();
        }
        let ice = self.next_ice.clone();
        let fingerprint = self.fingerprint();
        let mut media = Vec::new();
        let mut plan = Vec::new();
        for (i, m) in offer.media.iter().enumerate() {
            let setup = answer_setup(offer.setup(i), self.dtls_server);
            let transport = Transport {
                ice: &ice,
                fingerprint: &fingerprint,
                setup,
            };
            let mid = m.mid().unwrap_or_default().to_string();
            let (section, slot) = self.answer_section(&transport, &mid, m);
            media.push(section);
            plan.push((mid, slot));
        }
        let bundle = answer_bundle(&offer, &media);
        self.session_version += 1;
        let mut sdp = msection::session(&self.session_id, self.session_version, &bundle);
        sdp.media = media;
        let text = sdp.to_sdp_string();
        self.last_answer = Some(Created {
            sdp: text.clone(),
            plan,
            ice,
        });
        Ok(ApiReply::Description {
            description: SessionDescription {
                sdp_type: SdpType::Answer,
                sdp: text,
            },
        })
    }

    /// The remote offer changes ufrag/pwd relative to the current remote description.
    fn remote_restarts_ice(&self, offer: &Sdp) -> bool {
        let Some(cur) = self.descs.current_remote.as_ref() else {
            return false;
        };
        cur.parsed.transport_ice() != offer.transport_ice()
    }

    fn answer_section(
        &self,
        t: &Transport,
        mid: &str,
        offer: &MediaSection,
    ) -> (MediaSection, Slot) {
        let reject = || {
            (
                msection::rejected(&offer.media, &offer.proto, &offer.formats, Some(mid)),
                Slot::Rejected,
            )
        };
        if offer.is_rejected() {
            return reject();
        }
        if offer.is_data() {
            // Only the RFC 8841 form; the pre-standard "DTLS/SCTP 5000" is rejected.
            let ok = offer.proto.ends_with("DTLS/SCTP")
                && offer.formats.iter().any(|f| f == "webrtc-datachannel");
            return if ok {
                (msection::data(t, mid), Slot::Data)
            } else {
                reject()
            };
        }
        let Some(kind) = codecs::kind_of(offer) else {
            return reject();
        };
        let Some(tr) = self
            .transceivers
            .iter()
            .find(|x| x.mid.as_deref() == Some(mid))
        else {
            return reject();
        };
        if tr.stopping || tr.kind != kind || !offer.proto.contains("RTP/") {
            return reject();
        }
        let Some((formats, codec_attrs)) = codecs::answer_codecs(kind, offer) else {
            return reject();
        };
        let direction = tr.sdp_direction().intersect(offer.direction().reversed());
        let body = MediaBody {
            formats,
            extmaps: codecs::answer_extmaps(kind, offer),
            codecs: codec_attrs,
            direction,
            simulcast: answer_simulcast(offer, tr),
        };
        (
            msection::media(t, mid, tr, body, &self.cname),
            Slot::Transceiver(tr.id),
        )
    }
}

/// RFC 8842 §5.3: answer actpass with active (Chromium's choice), active with passive. In a
/// subsequent answer to an actpass offer the established DTLS role is kept (RFC 8842 §5.5,
/// Chromium's TransportDescriptionFactory uses the current connection role): changing it would
/// force a new DTLS association, and Chromium rejects such an answer with InvalidAccessError.
fn answer_setup(offered: Option<&str>, dtls_server: Option<bool>) -> &'static str {
    match (offered, dtls_server) {
        (Some("active"), _) => "passive",
        (Some("passive"), _) => "active",
        (_, Some(true)) => "passive",
        _ => "active",
    }
}

/// RFC 8843 §7.3.1: the answer's BUNDLE group holds the offered bundled mids we accepted.
fn answer_bundle(offer: &Sdp, media: &[MediaSection]) -> Vec<String> {
    let Some(offered) = offer.bundle_mids() else {
        return Vec::new();
    };
    offered
        .into_iter()
        .filter(|mid| {
            media
                .iter()
                .any(|m| m.mid() == Some(mid.as_str()) && m.port != 0)
        })
        .collect()
}

/// Receiving simulcast (RFC 8853 §5.3): mirror the offered send rids as recv.
fn answer_simulcast(offer: &MediaSection, _tr: &Transceiver) -> Vec<crate::sdp::Attribute> {
    use crate::sdp::Attribute;
    let Some(sim) = offer.attr("simulcast") else {
        return Vec::new();
    };
    let Some(rids) = sim.strip_prefix("send ") else {
        return Vec::new();
    };
    let mut out: Vec<Attribute> = offer
        .attrs("rid")
        .filter_map(|r| {
            let (id, dir) = r.split_once(' ')?;
            dir.starts_with("send")
                .then(|| Attribute::new("rid", format!("{id} recv")))
        })
        .collect();
    if out.is_empty() {
        return out;
    }
    out.push(Attribute::new("simulcast", format!("recv {}", rids.trim())));
    out
}

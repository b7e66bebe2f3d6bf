//! setLocalDescription / setRemoteDescription (webrtc-pc §4.4.1.5 "set the session
//! description") and rollback (RFC 9429 §4.1.10.2).

use super::signaling::{next_state, store, Side};
use super::{Created, Description, JsepError, Slot};
use crate::api::*;
use crate::codecs;
use crate::peer_connection::PeerConnection;
use crate::sdp::{self, Direction, MediaSection, Sdp};
use crate::transceiver::{from_sdp, Transceiver};

/// (id, mid, [[FiredDirection]], remote stream ids) of a transceiver before the offer.
type SavedTransceiver = (
    TransceiverId,
    Option<String>,
    Option<Direction>,
    Vec<String>,
);

/// What a rollback restores: the object model before the first pending offer was applied.
#[derive(Debug, Clone)]
pub struct RollbackState {
    transceivers: Vec<SavedTransceiver>,
    ids_before: Vec<TransceiverId>,
    data_mid: Option<String>,
    can_trickle: Option<bool>,
}

impl PeerConnection {
    pub(crate) fn set_local_description(
        &mut self,
        init: LocalDescriptionInit,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        let sdp_type = init.sdp_type.unwrap_or(match self.signaling {
            SignalingState::Stable
            | SignalingState::HaveLocalOffer
            | SignalingState::HaveRemotePranswer => SdpType::Offer,
            _ => SdpType::Answer,
        });
        let next = next_state(self.signaling, Side::Local, sdp_type)?;
        if sdp_type == SdpType::Rollback {
            self.rollback();
            return Ok(ApiReply::Done);
        }
        let created = self.created_for_sld(sdp_type, &init)?;
        // Our own SDP always parses; a failure here would be an engine bug, reported not panicked.
        let parsed = sdp::parse(&created.sdp).map_err(JsepError::Syntax)?;
        let desc = Description {
            sdp_type,
            sdp: created.sdp.clone(),
            parsed,
        };
        if sdp_type == SdpType::Offer && self.rollback.is_none() {
            self.save_rollback();
        }
        self.apply_local(&desc, &created);
        store(&mut self.descs, Side::Local, desc);
        self.set_signaling(next);
        if self.applied_ice.as_ref() != Some(&created.ice) {
            self.applied_ice = Some(created.ice.clone());
            self.start_gathering();
        }
        Ok(ApiReply::Done)
    }

    /// webrtc-pc §4.4.1.5 steps for an empty sdp (implicit SLD) and SDP munging: the sdp must
    /// equal [[LastCreatedOffer]]/[[LastCreatedAnswer]] (InvalidModificationError otherwise).
    /// Chromium tolerates some munging; we follow the spec, which rejects all of it.
    fn created_for_sld(
        &mut self,
        sdp_type: SdpType,
        init: &LocalDescriptionInit,
    ) -> Result<Created, ApiError> {
        let implicit = init.sdp_type.is_none();
        let last = |pc: &Self| {
            if sdp_type == SdpType::Offer {
                pc.last_offer.clone()
            } else {
                pc.last_answer.clone()
            }
        };
        if implicit || (init.sdp.is_empty() && last(self).is_none()) {
            if sdp_type == SdpType::Offer {
                self.create_offer(&OfferOptions::default())?;
            } else {
                self.create_answer()?;
            }
        }
        let created = last(self).ok_or(JsepError::Modified)?;
        if !implicit && !init.sdp.is_empty() && init.sdp != created.sdp {
            return Err(JsepError::Modified.into());
        }
        Ok(created)
    }

    pub(crate) fn set_remote_description(
        &mut self,
        d: SessionDescription,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        // webrtc-pc §4.4.1.6 setRemoteDescription: a remote offer in have-local-offer (glare)
        // first rolls the local offer back ("perfect negotiation"; Chromium does the same).
        if d.sdp_type == SdpType::Offer && self.signaling == SignalingState::HaveLocalOffer {
            self.rollback();
        }
        let next = next_state(self.signaling, Side::Remote, d.sdp_type)?;
        if d.sdp_type == SdpType::Rollback {
            self.rollback();
            return Ok(ApiReply::Done);
        }
        let parsed = sdp::parse(&d.sdp).map_err(JsepError::Syntax)?;
        self.validate_remote(&parsed, d.sdp_type)?;
        if d.sdp_type == SdpType::Offer {
            if self.rollback.is_none() {
                self.save_rollback();
            }
            self.last_answer = None;
        }
        let track_events = self.apply_remote(&parsed, d.sdp_type);
        let desc = Description {
            sdp_type: d.sdp_type,
            sdp: d.sdp,
            parsed,
        };
        store(&mut self.descs, Side::Remote, desc);
        self.remote_candidates.clear();
        self.set_signaling(next);
        // webrtc-pc: track events fire after signalingstatechange.
        self.events.extend(track_events);
        Ok(ApiReply::Done)
    }

    pub(crate) fn set_signaling(&mut self, next: SignalingState) {
        if next != self.signaling {
            self.signaling = next;
            self.events
                .push_back(Event::SignalingStateChange { state: next });
        }
    }

    fn apply_local(&mut self, desc: &Description, created: &Created) {
        if desc.sdp_type == SdpType::Offer {
            for (mid, slot) in &created.plan {
                match slot {
                    Slot::Transceiver(id) => {
                        if let Some(t) = self.transceivers.iter_mut().find(|t| t.id == *id) {
                            t.mid.get_or_insert_with(|| mid.clone());
                        }
                    }
                    Slot::Data => self.data_mid = Some(mid.clone()),
                    Slot::Rejected => {}
                }
            }
        } else {
            let is_answer = desc.sdp_type == SdpType::Answer;
            for m in &desc.parsed.media {
                let Some(mid) = m.mid() else { continue };
                if m.is_data() && !m.is_rejected() {
                    self.data_mid = Some(mid.to_string());
                }
                let Some(t) = self
                    .transceivers
                    .iter_mut()
                    .find(|t| t.mid.as_deref() == Some(mid))
                else {
                    continue;
                };
                if m.is_rejected() {
                    if is_answer {
                        t.mark_stopped();
                    }
                    continue;
                }
                let dir = m.direction();
                if is_answer {
                    t.current_direction = Some(from_sdp(dir));
                    t.ever_sent |= dir.sends();
                }
                if !dir.receives() && t.fired_direction.is_some_and(Direction::receives) {
                    self.events.push_back(Event::TrackRemoved {
                        transceiver: t.id,
                        stream_ids: std::mem::take(&mut t.remote_stream_ids),
                    });
                }
                t.fired_direction = Some(dir);
            }
            if is_answer {
                // We answered: our a=setup decides the DTLS role (active = client).
                self.dtls_server = Some(desc.parsed.transport_setup() == Some("passive"));
                self.finish_negotiation();
            }
        }
        if self.ice_restart_pending && self.applied_ice.as_ref() != Some(&created.ice) {
            self.ice_restart_pending = false;
        }
    }

    /// An answer completed an offer/answer exchange.
    fn finish_negotiation(&mut self) {
        self.rollback = None;
        self.assign_data_channel_ids();
    }

    /// RFC 9429 §5.8 / Chromium's ValidateSessionDescription: what makes a remote description
    /// unusable even though it parses.
    fn validate_remote(&self, sdp: &Sdp, sdp_type: SdpType) -> Result<(), JsepError> {
        let mut mids: Vec<&str> = Vec::new();
        for (i, m) in sdp.media.iter().enumerate() {
            let Some(mid) = m.mid() else {
                if m.is_rejected() {
                    continue;
                }
                return Err(JsepError::Invalid(format!("m-section {i} has no a=mid")));
            };
            if mids.contains(&mid) {
                return Err(JsepError::Invalid(format!("duplicate a=mid:{mid}")));
            }
            mids.push(mid);
            if m.is_rejected() {
                continue;
            }
            let ufrag_ok = sdp
                .ice_ufrag(i)
                .is_some_and(|u| (4..=256).contains(&u.len()));
            let pwd_ok = sdp
                .ice_pwd(i)
                .is_some_and(|p| (22..=256).contains(&p.len()));
            if !ufrag_ok || !pwd_ok {
                return Err(JsepError::Invalid(
                    "Called with SDP without ice-ufrag and ice-pwd".into(),
                ));
            }
            if sdp.fingerprint(i).is_none() {
                return Err(JsepError::Invalid(
                    "Called with SDP without DTLS fingerprint".into(),
                ));
            }
            if sdp_type != SdpType::Offer && sdp.setup(i) == Some("actpass") {
                return Err(JsepError::Invalid(
                    "an answer cannot use a=setup:actpass".into(),
                ));
            }
        }
        self.validate_mline_order(sdp, sdp_type)
    }

    fn validate_mline_order(&self, sdp: &Sdp, sdp_type: SdpType) -> Result<(), JsepError> {
        let reference = match sdp_type {
            SdpType::Offer => self
                .descs
                .current_local
                .as_ref()
                .or(self.descs.current_remote.as_ref()),
            _ => self.descs.pending_local.as_ref(),
        };
        let Some(reference) = reference else {
            return Ok(());
        };
        let old = &reference.parsed.media;
        let same_count = sdp.media.len() == old.len();
        if (sdp_type != SdpType::Offer && !same_count) || sdp.media.len() < old.len() {
            return Err(JsepError::MlineMismatch);
        }
        for (a, b) in old.iter().zip(&sdp.media) {
            let recycled = a.is_rejected() || b.is_rejected();
            if a.media != b.media || (!recycled && a.mid() != b.mid()) {
                return Err(JsepError::MlineMismatch);
            }
        }
        Ok(())
    }

    /// Associates transceivers with the remote m-sections and runs "process remote tracks";
    /// returns the track events to fire after signalingstatechange.
    fn apply_remote(&mut self, sdp: &Sdp, sdp_type: SdpType) -> Vec<Event> {
        let mut events = Vec::new();
        for m in &sdp.media {
            let Some(mid) = m.mid() else { continue };
            if m.is_data() {
                if !m.is_rejected() {
                    self.data_mid = Some(mid.to_string());
                }
                continue;
            }
            let Some(kind) = codecs::kind_of(m) else {
                continue;
            };
            let index = if sdp_type == SdpType::Offer {
                self.associate(kind, mid, m.is_rejected())
            } else {
                self.transceivers
                    .iter()
                    .position(|t| t.mid.as_deref() == Some(mid))
            };
            let Some(t) = index.and_then(|i| self.transceivers.get_mut(i)) else {
                continue;
            };
            if m.is_rejected() {
                match sdp_type {
                    SdpType::Answer => t.mark_stopped(),
                    SdpType::Offer => t.stop(),
                    _ => {}
                }
                continue;
            }
            // Our view of the flow: the remote's direction reversed.
            let dir = m.direction().reversed();
            if sdp_type == SdpType::Answer {
                t.current_direction = Some(from_sdp(dir));
                t.ever_sent |= dir.sends();
            }
            events.extend(process_remote_tracks(t, dir, m));
        }
        self.can_trickle = Some(sdp.supports_trickle());
        if sdp_type == SdpType::Answer {
            // RFC 8842 §5: the answerer's setup decides; remote active makes us the server.
            self.dtls_server = Some(sdp.transport_setup() == Some("active"));
            self.finish_negotiation();
        }
        events
    }

    /// webrtc-pc §4.4.1.5 step "find a transceiver for the m-section": by mid, else an unused
    /// transceiver addTrack created, else a new recvonly one.
    fn associate(&mut self, kind: MediaKind, mid: &str, rejected: bool) -> Option<usize> {
        if let Some(i) = self
            .transceivers
            .iter()
            .position(|t| t.mid.as_deref() == Some(mid))
        {
            return Some(i);
        }
        if rejected {
            return None;
        }
        let reusable = self
            .transceivers
            .iter()
            .position(|t| t.mid.is_none() && t.kind == kind && !t.stopping && t.added_by_add_track);
        let i = match reusable {
            Some(i) => i,
            None => {
                let i = self.new_transceiver(
                    kind,
                    None,
                    TransceiverDirection::Recvonly,
                    Vec::new(),
                    Vec::new(),
                );
                if let Some(t) = self.transceivers.get_mut(i) {
                    t.created_by_remote = true;
                }
                i
            }
        };
        if let Some(t) = self.transceivers.get_mut(i) {
            t.mid = Some(mid.to_string());
        }
        Some(i)
    }

    fn save_rollback(&mut self) {
        self.rollback = Some(RollbackState {
            transceivers: self
                .transceivers
                .iter()
                .map(|t| {
                    (
                        t.id,
                        t.mid.clone(),
                        t.fired_direction,
                        t.remote_stream_ids.clone(),
                    )
                })
                .collect(),
            ids_before: self.transceivers.iter().map(|t| t.id).collect(),
            data_mid: self.data_mid.clone(),
            can_trickle: self.can_trickle,
        });
    }

    /// RFC 9429 §4.1.10.2 / webrtc-pc "rollback": discard the pending offer's effects.
    fn rollback(&mut self) {
        let mut removed = Vec::new();
        if let Some(s) = self.rollback.take() {
            for t in &mut self.transceivers {
                let saved = s.transceivers.iter().find(|(id, ..)| *id == t.id);
                let (mid, fired, streams) = match saved {
                    Some((_, mid, fired, streams)) => (mid.clone(), *fired, streams.clone()),
                    None => (None, None, Vec::new()),
                };
                // "process the removal of a remote track" for receivers the offer had started.
                if t.fired_direction.is_some_and(Direction::receives)
                    && !fired.is_some_and(Direction::receives)
                {
                    removed.push(Event::TrackRemoved {
                        transceiver: t.id,
                        stream_ids: t.remote_stream_ids.clone(),
                    });
                }
                t.mid = mid;
                t.fired_direction = fired;
                t.remote_stream_ids = streams;
                t.created_by_remote = false;
            }
            // Transceivers the remote offer created go away unless addTrack attached a track.
            self.transceivers
                .retain(|t| s.ids_before.contains(&t.id) || t.sender_track.is_some());
            self.data_mid = s.data_mid;
            self.can_trickle = s.can_trickle;
        }
        let rollback = Description {
            sdp_type: SdpType::Rollback,
            sdp: String::new(),
            parsed: empty_sdp(),
        };
        store(&mut self.descs, Side::Local, rollback);
        self.set_signaling(SignalingState::Stable);
        self.events.extend(removed);
    }
}

/// webrtc-pc §4.4.1.5 "process the addition/removal of a remote track" for one transceiver,
/// driven by [[FiredDirection]] so each change fires once.
fn process_remote_tracks(t: &mut Transceiver, dir: Direction, m: &MediaSection) -> Option<Event> {
    let was_receiving = t.fired_direction.is_some_and(Direction::receives);
    t.fired_direction = Some(dir);
    if dir.receives() {
        t.remote_stream_ids = m.msid_streams();
        (!was_receiving).then(|| Event::Track {
            transceiver: t.id,
            stream_ids: t.remote_stream_ids.clone(),
        })
    } else if was_receiving {
        let stream_ids = std::mem::take(&mut t.remote_stream_ids);
        Some(Event::TrackRemoved {
            transceiver: t.id,
            stream_ids,
        })
    } else {
        None
    }
}

fn empty_sdp() -> Sdp {
    super::msection::session("0", 0, &[])
}

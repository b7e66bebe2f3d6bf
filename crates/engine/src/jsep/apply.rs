//! setLocalDescription / setRemoteDescription (webrtc-pc §4.4.1.5 "set the session
//! description") and rollback (RFC 9429 §4.1.10.2).

use super::signaling::{next_state, store, Side};
use super::{Created, Description, IceCredentials, JsepError, Slot};
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
        if sdp_type == SdpType::Rollback {
            next_state(self.signaling, Side::Local, sdp_type)?;
            self.rollback();
            return Ok(ApiReply::Done);
        }
        // Chromium's order: the DTLS fingerprint is compared with the last created offer or
        // answer first (InvalidModificationError), then the SDP is parsed (OperationError), then
        // the signaling state is checked (InvalidStateError).
        let given = if init.sdp_type.is_some() && !init.sdp.is_empty() {
            let last = if sdp_type == SdpType::Offer {
                self.last_offer.as_ref()
            } else {
                self.last_answer.as_ref()
            };
            if fingerprint_mismatch(last.map_or("", |c| c.sdp.as_str()), &init.sdp) {
                return Err(JsepError::Modified.into());
            }
            Some(sdp::parse(&init.sdp).map_err(JsepError::Syntax)?)
        } else {
            None
        };
        let next = next_state(self.signaling, Side::Local, sdp_type)?;
        let mut created = self.created_for_sld(sdp_type, &init)?;
        let mut munged = false;
        let (text, parsed) = match given {
            Some(parsed) if init.sdp != created.sdp => {
                munged = true;
                // Munged SDP (or an answer from an earlier createAnswer): Chromium applies what
                // it is given. We honour it when it keeps the m-sections of what we created and
                // only differs in what we can apply (ICE credentials, session version, …).
                if !same_structure(&parsed, &created) {
                    return Err(JsepError::Modified.into());
                }
                if let (Some(ufrag), Some(pwd)) = parsed.transport_ice() {
                    created.ice = IceCredentials {
                        ufrag: ufrag.to_string(),
                        pwd: pwd.to_string(),
                    };
                }
                (init.sdp.clone(), parsed)
            }
            Some(parsed) => (created.sdp.clone(), parsed),
            // Our own SDP always parses; a failure would be an engine bug, reported not panicked.
            None => (
                created.sdp.clone(),
                sdp::parse(&created.sdp).map_err(JsepError::Syntax)?,
            ),
        };
        let desc = Description {
            sdp_type,
            sdp: text,
            parsed,
        };
        if sdp_type == SdpType::Offer && self.rollback.is_none() {
            self.save_rollback();
        }
        self.apply_local(&desc, &created);
        store(&mut self.descs, Side::Local, desc);
        self.set_signaling(next);
        if munged {
            // Later offers and answers keep the munged credentials (no accidental ICE restart).
            self.next_ice = created.ice.clone();
        }
        if self.applied_ice.as_ref() != Some(&created.ice) {
            self.applied_ice = Some(created.ice.clone());
            self.start_gathering();
        }
        Ok(ApiReply::Done)
    }

    /// webrtc-pc §4.4.1.5 steps for an empty sdp (implicit SLD) and SDP munging: the last
    /// created offer/answer of that type (created now for an implicit SLD).
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
        last(self).ok_or_else(|| JsepError::Modified.into())
    }

    pub(crate) fn set_remote_description(
        &mut self,
        d: SessionDescription,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        if d.sdp_type == SdpType::Rollback {
            next_state(self.signaling, Side::Remote, d.sdp_type)?;
            self.rollback();
            return Ok(ApiReply::Done);
        }
        // Chromium parses before it checks the signaling state (OperationError first).
        let parsed = sdp::parse(&d.sdp).map_err(JsepError::Syntax)?;
        // webrtc-pc §4.4.1.6 setRemoteDescription: a remote offer in have-local-offer (glare)
        // first rolls the local offer back ("perfect negotiation"; Chromium does the same).
        if d.sdp_type == SdpType::Offer && self.signaling == SignalingState::HaveLocalOffer {
            self.rollback();
        }
        let next = next_state(self.signaling, Side::Remote, d.sdp_type)?;
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
        // A later description may carry another fingerprint (transport/mod.rs).
        self.refresh_remote_fingerprint();
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
        // webrtc-pc §4.4.1.5 (answer applied): stopped transceivers leave the set of
        // transceivers; Chromium drops them from getTransceivers() likewise.
        self.transceivers.retain(|t| !t.stopped);
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
                // A rejected m-section in an offer stops the transceiver at once: Chromium
                // reports currentDirection "stopped" before the answer.
                if matches!(sdp_type, SdpType::Answer | SdpType::Offer) {
                    t.mark_stopped();
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

/// Blink's FingerprintMismatch: the first `a=fingerprint` line of `new` must equal the first one
/// of `old`; SDP without any fingerprint passes (it is rejected later if unusable).
fn fingerprint_mismatch(old: &str, new: &str) -> bool {
    fn first_fingerprint(sdp: &str) -> Option<&str> {
        sdp.lines()
            .map(str::trim_end)
            .find(|l| l.starts_with("a=fingerprint:"))
    }
    match (first_fingerprint(old), first_fingerprint(new)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a != b,
    }
}

/// The m-sections of a munged local description are those we created (same count, kinds,
/// mids and ports), so the plan of the created description applies to it.
fn same_structure(given: &Sdp, created: &Created) -> bool {
    let Ok(ours) = sdp::parse(&created.sdp) else {
        return false;
    };
    given.media.len() == ours.media.len()
        && given.media.iter().zip(&ours.media).all(|(a, b)| {
            a.media == b.media && a.mid() == b.mid() && a.is_rejected() == b.is_rejected()
        })
}

fn empty_sdp() -> Sdp {
    super::msection::session("0", 0, &[])
}

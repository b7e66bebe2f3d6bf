//! `RTCRtpTransceiver` object model (webrtc-pc §5.4): senders, receivers, directions, stopping.
//! No media flows in this milestone; the state here is what JSEP reads and writes.

use crate::api::{
    ApiError, ApiReply, ErrorName, MediaKind, RtpEncodingParameters, TrackInfo,
    TransceiverDirection, TransceiverId, TransceiverInit, TransceiverSnapshot,
};
use crate::sdp::Direction;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransceiverError {
    #[error("the transceiver is stopping or stopped")]
    Stopping,
    #[error("'stopped' is not a valid value for direction")]
    StoppedDirection,
    #[error("the track's kind does not match the transceiver's kind")]
    KindMismatch,
    #[error("the sender was not created by this peer connection")]
    UnknownSender,
    #[error("a sender already exists for the track")]
    TrackInUse,
    #[error("invalid sendEncodings: {0}")]
    BadEncodings(&'static str),
    #[error("sendEncodings: {0} out of range")]
    EncodingRange(&'static str),
}

impl From<TransceiverError> for ApiError {
    fn from(e: TransceiverError) -> Self {
        let name = match e {
            TransceiverError::Stopping => ErrorName::InvalidStateError,
            TransceiverError::StoppedDirection
            | TransceiverError::KindMismatch
            | TransceiverError::BadEncodings(_) => ErrorName::TypeError,
            TransceiverError::UnknownSender | TransceiverError::TrackInUse => {
                ErrorName::InvalidAccessError
            }
            TransceiverError::EncodingRange(_) => ErrorName::RangeError,
        };
        ApiError::new(name, e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Transceiver {
    pub id: TransceiverId,
    pub kind: MediaKind,
    pub mid: Option<String>,
    pub direction: TransceiverDirection,
    pub current_direction: Option<TransceiverDirection>,
    /// webrtc-pc [[FiredDirection]]: decides when track events fire.
    pub fired_direction: Option<Direction>,
    pub sender_track: Option<TrackInfo>,
    pub sender_stream_ids: Vec<String>,
    /// The sender's id used in `a=msid` when no track is attached (Chromium does the same).
    pub sender_id: String,
    pub receiver_track_id: String,
    pub remote_stream_ids: Vec<String>,
    pub send_encodings: Vec<RtpEncodingParameters>,
    pub stopping: bool,
    pub stopped: bool,
    /// Created by setRemoteDescription (webrtc-pc rollback removes such transceivers).
    pub created_by_remote: bool,
    /// Created by addTrack (setRemoteDescription may associate such a transceiver).
    pub added_by_add_track: bool,
    /// webrtc-pc "sender has never been used to send": addTrack may reuse the transceiver.
    pub ever_sent: bool,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
}

impl Transceiver {
    pub fn snapshot(&self) -> TransceiverSnapshot {
        TransceiverSnapshot {
            id: self.id,
            kind: self.kind,
            mid: self.mid.clone(),
            direction: self.direction,
            current_direction: self.current_direction,
            sender_track_id: self.sender_track.as_ref().map(|t| t.id.clone()),
            sender_stream_ids: self.sender_stream_ids.clone(),
            receiver_track_id: self.receiver_track_id.clone(),
            stopped: self.stopped,
            stopping: self.stopping,
        }
    }

    /// The direction as SDP writes it (a stopping transceiver is rejected instead).
    pub fn sdp_direction(&self) -> Direction {
        to_sdp(self.direction)
    }

    /// `RTCRtpTransceiver.direction` setter (webrtc-pc §5.4).
    pub fn set_direction(&mut self, d: TransceiverDirection) -> Result<(), TransceiverError> {
        if self.stopping {
            return Err(TransceiverError::Stopping);
        }
        if d == TransceiverDirection::Stopped {
            return Err(TransceiverError::StoppedDirection);
        }
        self.direction = d;
        Ok(())
    }

    /// "stop the RTCRtpTransceiver": [[Stopping]] true, direction "stopped"; [[Stopped]] comes
    /// when the rejected m-section is negotiated.
    pub fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.direction = TransceiverDirection::Stopped;
    }

    /// "stop the RTCRtpTransceiver" followed by negotiation finishing: fully stopped.
    pub fn mark_stopped(&mut self) {
        self.stop();
        self.stopped = true;
        self.current_direction = Some(TransceiverDirection::Stopped);
    }

    /// `removeTrack` (webrtc-pc §4.4.1.10 steps on the direction).
    pub fn remove_track(&mut self) {
        if self.stopping || self.sender_track.is_none() {
            return;
        }
        self.sender_track = None;
        self.direction = match self.direction {
            TransceiverDirection::Sendrecv => TransceiverDirection::Recvonly,
            TransceiverDirection::Sendonly => TransceiverDirection::Inactive,
            d => d,
        };
    }

    pub fn replace_track(&mut self, track: Option<TrackInfo>) -> Result<(), TransceiverError> {
        if self.stopping {
            return Err(TransceiverError::Stopping);
        }
        if track.as_ref().is_some_and(|t| t.kind != self.kind) {
            return Err(TransceiverError::KindMismatch);
        }
        self.sender_track = track;
        Ok(())
    }

    /// addTrack's reuse test (webrtc-pc §4.4.1.9 step 7).
    pub fn reusable_for(&self, kind: MediaKind) -> bool {
        self.kind == kind && self.sender_track.is_none() && !self.stopping && !self.ever_sent
    }
}

pub fn to_sdp(d: TransceiverDirection) -> Direction {
    match d {
        TransceiverDirection::Sendrecv => Direction::SendRecv,
        TransceiverDirection::Sendonly => Direction::SendOnly,
        TransceiverDirection::Recvonly => Direction::RecvOnly,
        TransceiverDirection::Inactive | TransceiverDirection::Stopped => Direction::Inactive,
    }
}

pub fn from_sdp(d: Direction) -> TransceiverDirection {
    match d {
        Direction::SendRecv => TransceiverDirection::Sendrecv,
        Direction::SendOnly => TransceiverDirection::Sendonly,
        Direction::RecvOnly => TransceiverDirection::Recvonly,
        Direction::Inactive => TransceiverDirection::Inactive,
    }
}

/// RFC 8851 rid-syntax: 1*(ALPHA / DIGIT / "-" / "_"); Chromium caps the length at 16 chars
/// (RTCRtpSender's kMaxRidLength... it reports TypeError).
fn valid_rid(rid: &str) -> bool {
    !rid.is_empty()
        && rid.len() <= 16
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// addTransceiver's sendEncodings checks (webrtc-pc §5.2 "addTransceiver" steps 7–9).
pub fn validate_encodings(
    kind: MediaKind,
    encodings: &[RtpEncodingParameters],
) -> Result<Vec<RtpEncodingParameters>, TransceiverError> {
    let with_rid = encodings.iter().filter(|e| e.rid.is_some()).count();
    if with_rid != 0 && with_rid != encodings.len() {
        return Err(TransceiverError::BadEncodings(
            "some but not all encodings have a rid",
        ));
    }
    if encodings.len() > 1 && with_rid == 0 {
        return Err(TransceiverError::BadEncodings(
            "several encodings need rids",
        ));
    }
    // Duplicate rids: webrtc-pc says TypeError, Chromium 156 accepts them (the offer then
    // names each rid once; docs/chromium-differences.md).
    for e in encodings {
        if let Some(rid) = e.rid.as_deref() {
            if !valid_rid(rid) {
                return Err(TransceiverError::BadEncodings("rid syntax"));
            }
        }
        if e.scale_resolution_down_by
            .is_some_and(|s| s.is_nan() || s < 1.0)
        {
            return Err(TransceiverError::EncodingRange("scaleResolutionDownBy"));
        }
        if e.max_framerate.is_some_and(|f| f.is_nan() || f < 0.0) {
            return Err(TransceiverError::EncodingRange("maxFramerate"));
        }
    }
    let mut out = encodings.to_vec();
    if kind == MediaKind::Audio {
        // webrtc-pc: scaleResolutionDownBy and maxFramerate are removed for audio.
        for e in &mut out {
            e.scale_resolution_down_by = None;
            e.max_framerate = None;
        }
    }
    Ok(out)
}

impl crate::peer_connection::PeerConnection {
    /// Create a transceiver (webrtc-pc "create an RTCRtpTransceiver"); returns its index.
    pub(crate) fn new_transceiver(
        &mut self,
        kind: MediaKind,
        track: Option<TrackInfo>,
        direction: TransceiverDirection,
        stream_ids: Vec<String>,
        send_encodings: Vec<RtpEncodingParameters>,
    ) -> usize {
        let id = self.alloc_transceiver_id();
        let t = Transceiver {
            id,
            kind,
            mid: None,
            direction,
            current_direction: None,
            fired_direction: None,
            sender_track: track,
            sender_stream_ids: dedup(stream_ids),
            sender_id: crate::random::uuid(&mut self.rng),
            receiver_track_id: crate::random::uuid(&mut self.rng),
            remote_stream_ids: Vec::new(),
            send_encodings,
            stopping: false,
            stopped: false,
            created_by_remote: false,
            added_by_add_track: false,
            ever_sent: false,
            ssrc: crate::random::ssrc(&mut self.rng),
            rtx_ssrc: crate::random::ssrc(&mut self.rng),
        };
        self.transceivers.push(t);
        self.transceivers.len() - 1
    }

    fn transceiver_mut(&mut self, id: TransceiverId) -> Result<&mut Transceiver, ApiError> {
        self.transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| TransceiverError::UnknownSender.into())
    }

    /// webrtc-pc §4.4.1.9 addTrack.
    pub(crate) fn add_track(
        &mut self,
        track: TrackInfo,
        stream_ids: Vec<String>,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        if self
            .transceivers
            .iter()
            .any(|t| !t.stopped && t.sender_track.as_ref().is_some_and(|s| s.id == track.id))
        {
            return Err(TransceiverError::TrackInUse.into());
        }
        let kind = track.kind;
        if let Some(t) = self.transceivers.iter_mut().find(|t| t.reusable_for(kind)) {
            t.sender_track = Some(track);
            t.sender_stream_ids = dedup(stream_ids);
            t.direction = match t.direction {
                TransceiverDirection::Recvonly => TransceiverDirection::Sendrecv,
                TransceiverDirection::Inactive => TransceiverDirection::Sendonly,
                d => d,
            };
            return Ok(ApiReply::Transceiver { transceiver: t.id });
        }
        let i = self.new_transceiver(
            kind,
            Some(track),
            TransceiverDirection::Sendrecv,
            stream_ids,
            Vec::new(),
        );
        let t = self
            .transceivers
            .get_mut(i)
            .ok_or_else(|| ApiError::invalid_state("transceiver vanished"))?;
        t.added_by_add_track = true;
        Ok(ApiReply::Transceiver { transceiver: t.id })
    }

    /// webrtc-pc §4.4.1.10 removeTrack.
    pub(crate) fn remove_track(&mut self, id: TransceiverId) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        self.transceiver_mut(id)?.remove_track();
        Ok(ApiReply::Done)
    }

    /// webrtc-pc §5.1 addTransceiver.
    pub(crate) fn add_transceiver(
        &mut self,
        kind: MediaKind,
        track: Option<TrackInfo>,
        init: TransceiverInit,
    ) -> Result<ApiReply, ApiError> {
        if track.as_ref().is_some_and(|t| t.kind != kind) {
            return Err(TransceiverError::KindMismatch.into());
        }
        // webrtc-pc: direction "stopped" is a TypeError; Chromium 156 ignores it and creates a
        // sendrecv transceiver (docs/chromium-differences.md).
        let direction = match init.direction {
            None | Some(TransceiverDirection::Stopped) => TransceiverDirection::Sendrecv,
            Some(d) => d,
        };
        let encodings = validate_encodings(kind, &init.send_encodings)?;
        self.check_open()?;
        let i = self.new_transceiver(kind, track, direction, init.stream_ids, encodings);
        let id = self.transceivers.get(i).map(|t| t.id).unwrap_or_default();
        Ok(ApiReply::Transceiver { transceiver: id })
    }

    pub(crate) fn set_direction(
        &mut self,
        id: TransceiverId,
        d: TransceiverDirection,
    ) -> Result<ApiReply, ApiError> {
        self.transceiver_mut(id)?.set_direction(d)?;
        Ok(ApiReply::Done)
    }

    /// webrtc-pc §5.4 stop(). A transceiver never negotiated has no m-section to reject, so it
    /// is stopped at once (Chromium does the same).
    pub(crate) fn stop_transceiver(&mut self, id: TransceiverId) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        let t = self.transceiver_mut(id)?;
        t.stop();
        if t.mid.is_none() {
            t.stopped = true;
        }
        Ok(ApiReply::Done)
    }

    pub(crate) fn replace_track(
        &mut self,
        id: TransceiverId,
        track: Option<TrackInfo>,
    ) -> Result<ApiReply, ApiError> {
        self.transceiver_mut(id)?.replace_track(track)?;
        Ok(ApiReply::Done)
    }

    /// RTCRtpSender.setStreams (webrtc-pc §5.2).
    pub(crate) fn set_streams(
        &mut self,
        id: TransceiverId,
        stream_ids: Vec<String>,
    ) -> Result<ApiReply, ApiError> {
        self.check_open()?;
        self.transceiver_mut(id)?.sender_stream_ids = dedup(stream_ids);
        Ok(ApiReply::Done)
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(rid: Option<&str>) -> RtpEncodingParameters {
        RtpEncodingParameters {
            rid: rid.map(str::to_string),
            active: true,
            max_bitrate: None,
            max_framerate: None,
            scale_resolution_down_by: None,
        }
    }

    #[test]
    fn encodings_rules() {
        let v = MediaKind::Video;
        assert!(validate_encodings(v, &[]).is_ok());
        assert!(validate_encodings(v, &[enc(None)]).is_ok());
        assert!(validate_encodings(v, &[enc(Some("a")), enc(Some("b"))]).is_ok());
        let name = |r: Result<_, TransceiverError>| ApiError::from(r.unwrap_err()).name;
        assert_eq!(
            name(validate_encodings(v, &[enc(Some("a")), enc(None)])),
            ErrorName::TypeError
        );
        assert_eq!(
            name(validate_encodings(v, &[enc(None), enc(None)])),
            ErrorName::TypeError
        );
        assert!(validate_encodings(v, &[enc(Some("a")), enc(Some("a"))]).is_ok());
        assert_eq!(
            name(validate_encodings(v, &[enc(Some("a b"))])),
            ErrorName::TypeError
        );
        assert_eq!(
            name(validate_encodings(v, &[enc(Some(""))])),
            ErrorName::TypeError
        );
        let mut e = enc(None);
        e.scale_resolution_down_by = Some(0.5);
        assert_eq!(name(validate_encodings(v, &[e])), ErrorName::RangeError);
    }
}

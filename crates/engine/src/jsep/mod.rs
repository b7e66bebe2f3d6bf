//! JSEP (RFC 9429) as webrtc-pc drives it: the signaling state machine, offer and answer
//! generation, and applying local and remote descriptions to the object model.

pub mod answer;
pub mod apply;
pub mod msection;
pub mod negotiation;
pub mod offer;
pub mod signaling;

use crate::api::{ApiError, ErrorName, SdpType, SessionDescription, TransceiverId};
use crate::sdp::{Sdp, SdpError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsepError {
    #[error("the peer connection is closed")]
    Closed,
    #[error("Called in wrong state: {0}")]
    WrongState(&'static str),
    #[error("the SDP does not match the last created offer or answer (SDP munging)")]
    Modified,
    #[error("Failed to parse SessionDescription. {0}")]
    Syntax(SdpError),
    #[error("Invalid remote description: {0}")]
    Invalid(String),
    #[error("The order of m-lines in the answer doesn't match the order in the offer")]
    MlineMismatch,
}

impl From<JsepError> for ApiError {
    fn from(e: JsepError) -> Self {
        match e {
            JsepError::Closed | JsepError::WrongState(_) => ApiError::invalid_state(e.to_string()),
            JsepError::Modified => {
                ApiError::new(ErrorName::InvalidModificationError, e.to_string())
            }
            // webrtc-pc §4.4.1.5: invalid SDP rejects with an RTCError (name "OperationError")
            // with errorDetail "sdp-syntax-error" and sdpLineNumber; Chromium's message is
            // "Failed to parse SessionDescription".
            JsepError::Syntax(ref s) => ApiError {
                name: ErrorName::OperationError,
                message: e.to_string(),
                error_detail: Some("sdp-syntax-error".into()),
                sdp_line_number: Some(s.line),
            },
            // Chromium maps its INVALID_PARAMETER ("Called with SDP without ice-ufrag…",
            // m-line order mismatch) to InvalidAccessError.
            JsepError::Invalid(_) | JsepError::MlineMismatch => {
                ApiError::new(ErrorName::InvalidAccessError, e.to_string())
            }
        }
    }
}

/// An applied description: the string the page sees and its parse.
#[derive(Debug, Clone)]
pub struct Description {
    pub sdp_type: SdpType,
    pub sdp: String,
    pub parsed: Sdp,
}

impl Description {
    pub fn to_api(&self) -> SessionDescription {
        SessionDescription {
            sdp_type: self.sdp_type,
            sdp: self.sdp.clone(),
        }
    }
}

/// ICE credentials of our side (one set for the session: Chromium bundles and reuses them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

/// What an m-section of a description we created belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Transceiver(TransceiverId),
    Data,
    Rejected,
}

/// The last offer or answer createOffer/createAnswer returned, and how to apply it.
#[derive(Debug, Clone)]
pub struct Created {
    pub sdp: String,
    pub plan: Vec<(String, Slot)>,
    pub ice: IceCredentials,
}

/// Current/pending local/remote descriptions (webrtc-pc §4.4.1 attributes).
#[derive(Debug, Clone, Default)]
pub struct Descriptions {
    pub current_local: Option<Description>,
    pub pending_local: Option<Description>,
    pub current_remote: Option<Description>,
    pub pending_remote: Option<Description>,
}

impl Descriptions {
    /// `localDescription`: pending if set, else current.
    pub fn local(&self) -> Option<&Description> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }
    pub fn remote(&self) -> Option<&Description> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
    }
    pub fn local_mut(&mut self) -> Option<&mut Description> {
        self.pending_local.as_mut().or(self.current_local.as_mut())
    }
    pub fn remote_mut(&mut self) -> Option<&mut Description> {
        self.pending_remote
            .as_mut()
            .or(self.current_remote.as_mut())
    }
}

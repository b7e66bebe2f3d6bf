//! The signaling state machine (RFC 9429 §3.2 figure, webrtc-pc §4.3.1) and which of the four
//! description slots a description goes to.

use super::{Description, Descriptions, JsepError};
use crate::api::{SdpType, SignalingState};

/// Which end a description belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

/// The state after applying a description of `sdp_type` from `side` in `state`, or
/// InvalidStateError. Rollback is allowed from either have-*-offer state, from either method
/// (WPT: setRemoteDescription(rollback) in have-local-offer returns to stable).
pub fn next_state(
    state: SignalingState,
    side: Side,
    sdp_type: SdpType,
) -> Result<SignalingState, JsepError> {
    use SdpType::*;
    use Side::*;
    use SignalingState::*;
    let next = match (state, side, sdp_type) {
        (Closed, _, _) => return Err(JsepError::Closed),
        (Stable | HaveLocalOffer, Local, Offer) => HaveLocalOffer,
        (HaveRemoteOffer | HaveLocalPranswer, Local, Pranswer) => HaveLocalPranswer,
        (HaveRemoteOffer | HaveLocalPranswer, Local, Answer) => Stable,
        (Stable | HaveRemoteOffer, Remote, Offer) => HaveRemoteOffer,
        (HaveLocalOffer | HaveRemotePranswer, Remote, Pranswer) => HaveRemotePranswer,
        (HaveLocalOffer | HaveRemotePranswer, Remote, Answer) => Stable,
        (HaveLocalOffer | HaveRemoteOffer, _, Rollback) => Stable,
        (s, _, t) => return Err(JsepError::WrongState(describe(s, side, t))),
    };
    Ok(next)
}

fn describe(state: SignalingState, side: Side, t: SdpType) -> &'static str {
    use SignalingState::*;
    match (side, t, state) {
        (_, SdpType::Rollback, _) => {
            "rollback is only possible in have-local-offer or have-remote-offer"
        }
        (Side::Local, SdpType::Offer, _) => "set local offer outside stable/have-local-offer",
        (Side::Remote, SdpType::Offer, _) => "set remote offer outside stable/have-remote-offer",
        (Side::Local, _, Stable) => "set local answer in stable",
        (Side::Remote, _, Stable) => "set remote answer in stable",
        (Side::Local, _, _) => "set local answer without a remote offer",
        (Side::Remote, _, _) => "set remote answer without a local offer",
    }
}

/// webrtc-pc §4.4.1.5 "set the session description" steps that move descriptions between the
/// pending and current slots.
pub fn store(descs: &mut Descriptions, side: Side, d: Description) {
    match (side, d.sdp_type) {
        (Side::Local, SdpType::Offer | SdpType::Pranswer) => descs.pending_local = Some(d),
        (Side::Remote, SdpType::Offer | SdpType::Pranswer) => descs.pending_remote = Some(d),
        (Side::Local, SdpType::Answer) => {
            descs.current_local = Some(d);
            if let Some(r) = descs.pending_remote.take() {
                descs.current_remote = Some(r);
            }
            descs.pending_local = None;
        }
        (Side::Remote, SdpType::Answer) => {
            descs.current_remote = Some(d);
            if let Some(l) = descs.pending_local.take() {
                descs.current_local = Some(l);
            }
            descs.pending_remote = None;
        }
        (_, SdpType::Rollback) => {
            descs.pending_local = None;
            descs.pending_remote = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SdpType::*;
    use Side::*;
    use SignalingState::*;

    #[test]
    fn transition_table() {
        let ok = [
            (Stable, Local, Offer, HaveLocalOffer),
            (HaveLocalOffer, Local, Offer, HaveLocalOffer),
            (HaveLocalOffer, Remote, Answer, Stable),
            (HaveLocalOffer, Remote, Pranswer, HaveRemotePranswer),
            (HaveRemotePranswer, Remote, Pranswer, HaveRemotePranswer),
            (HaveRemotePranswer, Remote, Answer, Stable),
            (Stable, Remote, Offer, HaveRemoteOffer),
            (HaveRemoteOffer, Remote, Offer, HaveRemoteOffer),
            (HaveRemoteOffer, Local, Answer, Stable),
            (HaveRemoteOffer, Local, Pranswer, HaveLocalPranswer),
            (HaveLocalPranswer, Local, Pranswer, HaveLocalPranswer),
            (HaveLocalPranswer, Local, Answer, Stable),
            (HaveLocalOffer, Local, Rollback, Stable),
            (HaveLocalOffer, Remote, Rollback, Stable),
            (HaveRemoteOffer, Remote, Rollback, Stable),
            (HaveRemoteOffer, Local, Rollback, Stable),
        ];
        for (s, side, t, want) in ok {
            assert_eq!(next_state(s, side, t), Ok(want), "{s:?} {side:?} {t:?}");
        }
        let states = [
            Stable,
            HaveLocalOffer,
            HaveRemoteOffer,
            HaveLocalPranswer,
            HaveRemotePranswer,
        ];
        let mut rejected = 0;
        for s in states {
            for side in [Local, Remote] {
                for t in [Offer, Pranswer, Answer, Rollback] {
                    if ok.iter().any(|(a, b, c, _)| (*a, *b, *c) == (s, side, t)) {
                        continue;
                    }
                    let e = next_state(s, side, t).unwrap_err();
                    assert!(
                        matches!(e, JsepError::WrongState(_)),
                        "{s:?} {side:?} {t:?}"
                    );
                    rejected += 1;
                }
            }
            assert_eq!(next_state(Closed, Local, Offer), Err(JsepError::Closed));
        }
        assert_eq!(rejected, 5 * 2 * 4 - ok.len());
    }
}

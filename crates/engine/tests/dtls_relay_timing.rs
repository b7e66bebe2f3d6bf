//! How fast DTLS follows ICE between two engines through one relay, in simulated time, with the
//! relay's WebSocket batching (bench/datachannel.sh's polyfill↔polyfill open time).
//!
//! The controlled side starts DTLS the moment the controlling side's nominating check selects a
//! pair, so its ClientHello reaches the controlling side in the same relay batch as the check
//! response that makes the controlling side select that pair. Dropping those early records cost
//! a full 1 s DTLS retransmission timeout on every polyfill↔polyfill connection (bench: DTLS
//! connected ~1,020 ms after ICE connected). They are now kept until DTLS starts, and the first
//! retransmission is sized from the ICE round-trip time (50 ms..3 s) rather than a fixed 1 s.

mod common;
#[path = "turn_sim_harness.rs"]
mod harness;
mod relay_world;

use polyrtc_engine::*;
use relay_world::{relay_config, World};
use std::time::Duration;

fn at(w: &World, i: usize, what: &str, f: impl Fn(&Event) -> bool) -> Duration {
    w.first(i, f)
        .unwrap_or_else(|| panic!("pc {i}: no {what}: {:?}", w.log[i]))
}

fn ice_connected(w: &World, i: usize) -> Duration {
    at(w, i, "ICE connected", |e| {
        matches!(
            e,
            Event::IceConnectionStateChange {
                state: IceConnectionState::Connected
            }
        )
    })
}

fn connected(w: &World, i: usize) -> Duration {
    at(w, i, "connectionState connected", |e| {
        matches!(
            e,
            Event::ConnectionStateChange {
                state: PeerConnectionState::Connected
            }
        )
    })
}

/// Real DTLS (the engine makes its own certificate) between two engines through the relay core.
fn world() -> World {
    let config = |seed| Configuration {
        certificates: vec![],
        ..relay_config(seed, 0)
    };
    let mut w = World::new(vec![config(1), config(2)]);
    w.call(
        0,
        ApiCall::CreateDataChannel {
            label: "c".into(),
            init: common::dc_init(),
        },
    )
    .expect("createDataChannel");
    w
}

/// Both engines connect through the relay with candidates trickled after `delays`; DTLS must
/// follow ICE within a round trip or two on both sides (a handshake is two round trips through
/// the relay: no retransmission timeout fits in the bound).
fn assert_dtls_follows_ice(delays: [Duration; 2]) {
    let mut w = world();
    w.trickle_delay = delays;
    w.negotiate();
    w.run_for(Duration::from_secs(3));
    for i in 0..2 {
        let (ice, dtls) = (ice_connected(&w, i), connected(&w, i));
        assert!(
            dtls - ice < Duration::from_millis(50),
            "delays {delays:?}, pc {i}: ICE connected at {ice:?}, DTLS at {dtls:?}"
        );
    }
}

#[test]
fn dtls_connects_within_round_trips_of_ice() {
    assert_dtls_follows_ice([Duration::ZERO; 2]);
}

/// Trickled candidates 100 ms late one way (checks dropped by the relay for want of a
/// permission first): DTLS still follows ICE at once on both sides.
#[test]
fn dtls_follows_ice_with_late_candidates() {
    assert_dtls_follows_ice([Duration::ZERO, Duration::from_millis(100)]);
    assert_dtls_follows_ice([Duration::from_millis(100), Duration::ZERO]);
}

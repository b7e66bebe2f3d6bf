//! How fast two engines connect through one relay when their trickled candidates arrive at
//! different times (bench/ice.sh's polyfill↔polyfill case), in simulated time.
//!
//! The side that learns the peer's relay candidate first checks it at once, but the peer's
//! relay drops that check: the peer has no permission for our address until it learns our
//! candidate (RFC 8656 §9). The peer's own check then arrives on a pair we still have
//! In-Progress; RFC 8445 §7.3.1.4 says to cancel our transaction and send a triggered check,
//! not to wait for the 500 ms retransmission. Triggered checks (and the nomination that follows
//! the first success) go at once rather than at the next 50 ms pacing tick: with no signalling
//! delay both sides connect in the same instant of simulated time.

mod common;
#[path = "turn_sim_harness.rs"]
mod harness;
mod relay_world;

use polyrtc_engine::*;
use relay_world::{relay_config, World};
use std::time::Duration;

fn connected_at(w: &World, i: usize) -> Duration {
    w.first(i, |e| {
        matches!(
            e,
            Event::IceConnectionStateChange {
                state: IceConnectionState::Connected
            }
        )
    })
    .unwrap_or_else(|| panic!("pc {i} never connected: {:?}", w.log[i]))
}

fn run(delay_a_to_b: Duration, delay_b_to_a: Duration) -> (Duration, Duration) {
    let mut w = World::new(vec![relay_config(1, 0), relay_config(2, 0)]);
    w.call(
        0,
        ApiCall::CreateDataChannel {
            label: "c".into(),
            init: common::dc_init(),
        },
    )
    .unwrap();
    w.trickle_delay = [delay_a_to_b, delay_b_to_a];
    w.negotiate();
    w.run_for(Duration::from_secs(3));
    (connected_at(&w, 0), connected_at(&w, 1))
}

/// The answerer hears of the offerer's candidate 100 ms before the offerer hears of the
/// answerer's: both must be connected within a few pacing intervals of the later one.
#[test]
fn late_candidate_on_one_side_costs_no_retransmission() {
    let late = Duration::from_millis(100);
    let (a, b) = run(Duration::ZERO, late);
    let bound = late + Duration::from_millis(20);
    assert!(a < bound, "offerer connected after {a:?}");
    assert!(b < bound, "answerer connected after {b:?}");
}

/// The same the other way round (the offerer checks first).
#[test]
fn late_candidate_on_the_other_side() {
    let late = Duration::from_millis(100);
    let (a, b) = run(late, Duration::ZERO);
    let bound = late + Duration::from_millis(20);
    assert!(a < bound, "offerer connected after {a:?}");
    assert!(b < bound, "answerer connected after {b:?}");
}

/// Same time both ways: nothing is dropped; a baseline for the bounds above.
#[test]
fn simultaneous_candidates() {
    let (a, b) = run(Duration::ZERO, Duration::ZERO);
    assert!(
        a < Duration::from_millis(20),
        "offerer connected after {a:?}"
    );
    assert!(
        b < Duration::from_millis(20),
        "answerer connected after {b:?}"
    );
}

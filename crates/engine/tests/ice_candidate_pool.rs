//! `iceCandidatePoolSize` (webrtc-pc §4.4.1.6, JSEP §3.5.4) against the relay's own sans-IO TURN
//! core in simulated time: the pooled allocation is made when the configuration is set, the
//! first gathering uses it, and it is released on close() or when the pool shrinks.

mod common;
#[path = "turn_sim_harness.rs"]
mod harness;
mod relay_world;

use polyrtc_engine::*;
use relay_world::{relay_config, World, URL};
use std::time::Duration;

fn candidate_times(w: &World, i: usize) -> Vec<Duration> {
    w.log[i]
        .iter()
        .filter(|(_, e)| matches!(e, Event::IceCandidate { candidate: Some(_) }))
        .map(|(t, _)| t.saturating_duration_since(w.t0))
        .collect()
}

fn sld_offer(w: &mut World, i: usize) {
    w.call(
        i,
        ApiCall::CreateDataChannel {
            label: "c".into(),
            init: common::dc_init(),
        },
    )
    .unwrap();
    let o = match w.call(
        i,
        ApiCall::CreateOffer {
            options: OfferOptions::default(),
        },
    ) {
        Ok(ApiReply::Description { description }) => description,
        r => panic!("{r:?}"),
    };
    w.sld(i, o);
}

#[test]
fn pool_allocates_before_set_local_description_and_gathering_uses_it() {
    let mut w = World::new(vec![relay_config(1, 1), relay_config(2, 0)]);
    w.trickle = false;
    // Nothing is called yet: the pooled connection asks to be driven at once.
    assert_eq!(w.pcs[0].poll_timeout(), Some(w.t0));
    assert_eq!(w.pcs[1].poll_timeout(), None);
    w.run_for(Duration::from_millis(10));
    assert_eq!(
        w.allocations(),
        1,
        "the pool's allocation exists before any description"
    );
    assert!(
        w.log[0].is_empty(),
        "pooling fires no event: {:?}",
        w.log[0]
    );
    assert_eq!(
        w.pcs[0].snapshot().ice_gathering_state,
        IceGatheringState::New
    );
    w.run_for(Duration::from_secs(1));
    // Both set a local description at the same moment.
    let at = w.now.saturating_duration_since(w.t0);
    sld_offer(&mut w, 0);
    sld_offer(&mut w, 1);
    w.run_for(Duration::from_millis(100));
    // The pooled connection gathered from its existing allocation (no second one) ...
    assert_eq!(w.allocations(), 2);
    let pooled = candidate_times(&w, 0);
    let fresh = candidate_times(&w, 1);
    assert_eq!(
        pooled,
        vec![at],
        "candidate in setLocalDescription's own turn"
    );
    assert_eq!(fresh.len(), 1);
    // ... and its events are the ordinary gathering sequence.
    let kinds: Vec<String> = w.log[0]
        .iter()
        .filter_map(|(_, e)| match e {
            Event::IceGatheringStateChange { state } => Some(format!("gathering:{state:?}")),
            Event::IceCandidate { candidate: Some(c) } => {
                Some(format!("candidate:{}", c.url.clone().unwrap_or_default()))
            }
            Event::IceCandidate { candidate: None } => Some("candidate:null".into()),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "gathering:Gathering".to_string(),
            format!("candidate:{URL}"),
            "gathering:Complete".into(),
            "candidate:null".into()
        ]
    );
    // close() releases the allocation (Refresh lifetime 0) and closes the session.
    w.call(0, ApiCall::Close).unwrap();
    w.run_for(Duration::from_millis(10));
    assert_eq!(w.allocations(), 1);
    assert!(w.closed_sessions.iter().any(|(i, _)| *i == 0));
}

#[test]
fn pool_size_zero_allocates_nothing_before_gathering() {
    let mut w = World::new(vec![relay_config(1, 0)]);
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.allocations(), 0);
    assert!(w.sessions.is_empty());
}

#[test]
fn shrinking_or_changing_servers_releases_the_pool() {
    let mut w = World::new(vec![relay_config(1, 3)]);
    w.run_for(Duration::from_millis(100));
    // One pooled allocation per relay server whatever the size: everything is bundled.
    assert_eq!(w.allocations(), 1);
    // Same servers, other size above 0: kept.
    let configuration = relay_config(1, 1);
    w.call(0, ApiCall::SetConfiguration { configuration })
        .unwrap();
    w.run_for(Duration::from_millis(100));
    assert_eq!(w.allocations(), 1);
    assert!(w.closed_sessions.is_empty());
    // Other credentials: the old allocation goes, a new one comes.
    let mut configuration = relay_config(1, 1);
    configuration.ice_servers[0].username = Some("alice".into());
    configuration.ice_servers[0].credential = Some("pw".into());
    configuration.ice_servers[0].urls = Urls::One("wss://relay.example/other".into());
    w.call(0, ApiCall::SetConfiguration { configuration })
        .unwrap();
    w.run_for(Duration::from_millis(100));
    assert_eq!(w.allocations(), 1);
    assert_eq!(w.closed_sessions.len(), 1);
    assert_eq!(w.sessions.len(), 2);
    // Size 0: released.
    let configuration = relay_config(1, 0);
    w.call(0, ApiCall::SetConfiguration { configuration })
        .unwrap();
    w.run_for(Duration::from_millis(100));
    assert_eq!(w.allocations(), 0);
    assert_eq!(w.closed_sessions.len(), 2);
    assert!(w.log[0].is_empty(), "no event: {:?}", w.log[0]);
}

#[test]
fn a_failed_pooled_allocation_is_retried_by_gathering_and_reported_then() {
    let mut w = World::new(vec![relay_config(1, 1)]);
    w.trickle = false;
    // The relay has no port left: the pooled Allocate fails silently ...
    w.sockets.fail = true;
    w.run_for(Duration::from_millis(100));
    assert_eq!(w.allocations(), 0);
    assert!(w.log[0].is_empty(), "{:?}", w.log[0]);
    // ... and gathering tries again; its own failure is what the page hears of.
    sld_offer(&mut w, 0);
    w.run_for(Duration::from_millis(100));
    let errors = w.log[0]
        .iter()
        .filter(|(_, e)| matches!(e, Event::IceCandidateError { .. }))
        .count();
    assert_eq!(errors, 1, "{:?}", w.log[0]);
    w.sockets.fail = false;
}

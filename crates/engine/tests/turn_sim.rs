//! The engine's TURN client against the relay's own sans-IO core, in simulated time: no
//! sockets, no clock; a 30-minute call runs in milliseconds. Authentication, refresh timing,
//! retransmission, mobility, close, and the long call.

#[path = "turn_sim_harness.rs"]
mod harness;

use harness::*;
use polyrtc_engine::turn::{Framing, TurnClient, TurnClientConfig, TurnEvent, TurnState};
use polyrtc_relay::turn::TurnConfig;
use polyrtc_stun::{Message, Method};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

#[test]
fn allocate_retries_after_401_with_long_term_credentials() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.pump();
    let events = sim.take_events();
    assert_eq!(
        events,
        vec![TurnEvent::Allocated {
            relayed: "203.0.113.1:50001".parse().unwrap(),
            mapped: Some("198.51.100.9:40000".parse().unwrap()),
            lifetime: Duration::from_secs(600),
        }]
    );
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(allocs.len(), 2);
    assert!(!allocs[0].1.has(polyrtc_stun::MESSAGE_INTEGRITY));
    assert_eq!(
        allocs[1].1.string_attribute(polyrtc_stun::USERNAME),
        Ok(Some("alice"))
    );
    let key = polyrtc_stun::LongTermKey::derive("alice", "polyrtc", "pw");
    assert_eq!(allocs[1].1.verify_integrity(&key.0), Some(true));
    assert_eq!(sim.error_codes(), vec![401]);
    assert_eq!(sim.metrics.auth_challenges.load(Relaxed), 1);
    assert_eq!(sim.server.allocations().len(), 1);
}

#[test]
fn dont_fragment_is_asked_for_and_set_on_the_relayed_socket() {
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    let config = TurnClientConfig {
        dont_fragment: true,
        ..client_config(Framing::Stream, "pw")
    };
    sim.client = TurnClient::new(config, &mut ChaCha20Rng::seed_from_u64(2), sim.t0);
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocated);
    let allocs = sim.requests(Method::ALLOCATE);
    assert!(allocs
        .iter()
        .all(|(_, m)| m.has(polyrtc_stun::DONT_FRAGMENT)));
    let relayed = "203.0.113.1:50001".parse().unwrap();
    assert_eq!(sim.sockets.dont_fragment, vec![relayed]);
}

#[test]
fn wrong_password_surfaces_401_and_fails() {
    let mut sim = Sim::new(Framing::Stream, "wrong", server_config());
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Failed);
    match sim.take_events().as_slice() {
        [TurnEvent::Error { code: 401, text }] => assert_eq!(text, "Unauthorized"),
        other => panic!("{other:?}"),
    }
    // One unauthenticated try, one signed try; no loop.
    assert_eq!(sim.requests(Method::ALLOCATE).len(), 2);
    sim.run_until(sim.at(120_000));
    assert_eq!(sim.sent.len(), 2);
    assert_eq!(sim.client.poll_timeout(), None);
}

#[test]
fn refresh_goes_out_a_minute_before_expiry() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.run_until(sim.at(539_000));
    assert!(sim.requests(Method::REFRESH).is_empty());
    sim.run_until(sim.at(541_000));
    let refreshes = sim.requests(Method::REFRESH);
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].0, sim.at(540_000));
    assert_eq!(
        refreshes[0].1.u32_attribute(polyrtc_stun::LIFETIME),
        Ok(Some(600))
    );
    assert_eq!(sim.successes(Method::REFRESH), 1);
    sim.run_until(sim.at(3_000_000));
    assert_eq!(sim.client.state(), TurnState::Allocated);
    assert_eq!(sim.server.allocations().len(), 1);
    assert!(sim.take_events().is_empty());
}

#[test]
fn stale_nonce_438_is_retried_with_the_new_nonce() {
    let cfg = TurnConfig {
        nonce_lifetime: Duration::from_secs(100),
        ..server_config()
    };
    let mut sim = Sim::new(Framing::Stream, "pw", cfg);
    sim.pump();
    sim.take_events();
    sim.run_until(sim.at(150_000));
    sim.client.create_permission(sim.now, peer().ip());
    sim.pump();
    assert!(sim.client.has_permission(peer().ip()));
    assert_eq!(sim.error_codes(), vec![401, 438]);
    let perms = sim.requests(Method::CREATE_PERMISSION);
    assert_eq!(perms.len(), 2);
    let nonce = |m: &Message<'_>| {
        m.string_attribute(polyrtc_stun::NONCE)
            .unwrap()
            .map(str::to_owned)
    };
    assert_ne!(nonce(&perms[0].1), nonce(&perms[1].1));
    assert!(sim.take_events().is_empty());
}

#[test]
fn lost_request_is_retransmitted_over_datagrams() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.drop_to_server = 1;
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocating);
    assert_eq!(sim.client.poll_timeout(), Some(sim.at(500)));
    sim.run_until(sim.at(600));
    assert_eq!(sim.client.state(), TurnState::Allocated);
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(allocs.len(), 3, "lost, resent at 500 ms, signed");
    assert_eq!(allocs[0].1.raw(), allocs[1].1.raw());
    assert_eq!(allocs[1].0, sim.at(500));

    // A lost success response: the same request again, the same allocation back.
    sim.client.create_permission(sim.now, peer().ip());
    sim.drop_to_client = 1;
    sim.pump();
    assert!(!sim.client.has_permission(peer().ip()));
    sim.run_until(sim.at(1200));
    assert!(sim.client.has_permission(peer().ip()));
    assert_eq!(sim.requests(Method::CREATE_PERMISSION).len(), 2);
}

/// RFC 8489 §6.2.1's example: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; failure at 39.5 s.
#[test]
fn datagram_retransmissions_follow_rfc8489_schedule() {
    let mut sim = Sim::new(Framing::Datagram, "pw", server_config());
    sim.drop_to_server = usize::MAX;
    sim.run_until(sim.at(39_499));
    assert_eq!(sim.client.state(), TurnState::Allocating);
    sim.run_until(sim.at(39_500));
    let sends: Vec<u128> = sim
        .sent
        .iter()
        .map(|(t, _)| t.duration_since(sim.t0).as_millis())
        .collect();
    assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert!(sim.sent.iter().all(|(_, m)| *m == sim.sent[0].1));
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 701, .. }]
    ));
}

#[test]
fn stream_framing_never_retransmits_and_times_out_as_701() {
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    sim.drop_to_server = 1;
    sim.pump();
    sim.run_until(sim.at(39_499));
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.client.state(), TurnState::Allocating);
    sim.run_until(sim.at(39_500));
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 701, .. }]
    ));
}

/// A new transport session (new 5-tuple). A relay core that answers MOBILITY-TICKET (RFC 8016;
/// the relay-proto branch) moves the allocation to it; one that ignores the comprehension-optional
/// attribute (this branch's relay) leaves the client to report the allocation lost.
#[test]
fn new_session_resumes_with_a_ticket_or_reports_allocation_lost() {
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let cfg = TurnClientConfig {
        request_mobility: true,
        dont_fragment: false,
        ..client_config(Framing::Stream, "pw")
    };
    sim.client = TurnClient::new(cfg, &mut rng, sim.now);
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Allocated);
    let allocs = sim.requests(Method::ALLOCATE);
    assert_eq!(
        allocs[1].1.attribute(polyrtc_stun::MOBILITY_TICKET),
        Some(&[][..])
    );
    sim.client.send_to(sim.now, peer(), b"one").unwrap();
    sim.pump();
    let relayed = sim.client.relayed_address().unwrap();
    sim.take_events();

    let ticket = sim.client.has_mobility_ticket();
    sim.client.transport_lost(sim.now);
    assert_eq!(sim.client.state(), TurnState::Reconnecting);
    sim.run_until(sim.at(5_000));
    sim.cid = client_id(Framing::Stream, 40002);
    sim.client.transport_reconnected(sim.now);
    sim.pump();
    if !ticket {
        assert_eq!(sim.client.state(), TurnState::Failed);
        assert!(matches!(
            sim.take_events().as_slice(),
            [TurnEvent::AllocationLost { .. }]
        ));
        return;
    }
    assert_eq!(sim.client.state(), TurnState::Allocated);
    assert_eq!(sim.take_events(), vec![TurnEvent::Resumed { relayed }]);
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    sim.client.send_to(sim.now, peer(), b"two").unwrap();
    sim.pump();
    assert_eq!(sim.to_peer.last().unwrap(), &(peer(), b"two".to_vec()));
    sim.peer_send(peer(), b"back");
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"back".to_vec()
        }]
    );
}

#[test]
fn close_deletes_the_allocation() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.client.close(sim.now);
    sim.pump();
    assert_eq!(sim.client.state(), TurnState::Closed);
    assert_eq!(sim.server.allocations().len(), 0);
    let refresh = sim.requests(Method::REFRESH);
    assert_eq!(
        refresh[0].1.u32_attribute(polyrtc_stun::LIFETIME),
        Ok(Some(0))
    );
    assert_eq!(sim.client.poll_timeout(), None);
}

/// 30 simulated minutes of traffic both ways every second: every packet must arrive, and the
/// allocation, permission and channel must be refreshed on time, never more often than needed.
#[test]
fn thirty_minute_call_keeps_everything_alive() {
    for framing in [Framing::Stream, Framing::Datagram] {
        let mut sim = allocated_sim(framing);
        let (mut up, mut down) = (0usize, 0usize);
        for s in 0..1800u64 {
            sim.run_until(sim.at(s * 1000));
            let msg = format!("up {s}");
            sim.client.send_to(sim.now, peer(), msg.as_bytes()).unwrap();
            up += 1;
            sim.pump();
            sim.peer_send(peer(), format!("down {s}").as_bytes());
            down += 1;
        }
        sim.run_until(sim.at(1_800_000));
        let data: Vec<_> = sim
            .take_events()
            .into_iter()
            .filter(|e| !matches!(e, TurnEvent::Data { .. }))
            .collect();
        assert!(data.is_empty(), "{framing:?}: unexpected {data:?}");
        assert_eq!(sim.to_peer.len(), up, "{framing:?}");
        let received = sim
            .received
            .iter()
            .filter(|m| m[0] & 0xc0 == 0x40 || m[..2] == [0, 0x17])
            .count();
        assert_eq!(received, down, "{framing:?}");
        assert_eq!(sim.metrics.no_permission_dropped.load(Relaxed), 0);
        // Refresh at 540, 1080, 1620 s; permission at 0 then every 240 s up to 1680 s;
        // channel at 0 then 540, 1080, 1620 s.
        assert_eq!(sim.successes(Method::REFRESH), 3, "{framing:?}");
        assert_eq!(sim.successes(Method::CREATE_PERMISSION), 8, "{framing:?}");
        assert_eq!(sim.successes(Method::CHANNEL_BIND), 4, "{framing:?}");
        // The relay's 600 s nonces go stale: those requests are retried once each.
        let stale = sim.error_codes().iter().filter(|c| **c == 438).count();
        assert!(stale >= 2, "{framing:?}: {stale} stale nonces");
        assert_eq!(
            sim.error_codes().iter().filter(|c| **c != 438).count(),
            1,
            "only the first 401"
        );
        assert_eq!(sim.client.state(), TurnState::Allocated);
    }
}

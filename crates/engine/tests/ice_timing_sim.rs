//! Timing of the ICE agent in simulated time against RFC 8445 / RFC 7675 / Chromium numbers:
//! consent freshness, disconnection and failure, loss and reordering, pacing and
//! retransmission.

mod ice_common;
use ice_common::*;
use polyrtc_engine::ice::*;
use polyrtc_stun::{Class, Message};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[test]
fn consent_loss_disconnects_then_fails_on_time() {
    let mut n = Net::pair(6, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    n.run_for(Duration::from_secs(12));
    assert!(n.connected());
    // Cut the network right after a consent response, so the next request is the first lost.
    let r0 = n.peers[0].agent_ref().last_consent_response();
    assert!(n.run_until(Duration::from_secs(30), |n| n.peers[0]
        .agent_ref()
        .last_consent_response()
        != r0));
    let cut = n.now;
    n.blackhole = true;
    let last_response = n.peers[0].agent_ref().last_consent_response().unwrap();
    assert!(
        n.run_until(Duration::from_secs(120), |n| n.peers[0].agent_ref().state()
            == S::Failed)
    );
    let a = &n.peers[0];
    let disc = a.first_state(S::Disconnected).unwrap();
    let failed = a.first_state(S::Failed).unwrap();
    // The first consent request after the cut goes out within 6 s (5 s + 20%)...
    let is_request =
        |t: &Transmit| Message::parse(&t.data).is_ok_and(|m| m.class == Class::Request);
    let first_lost = a
        .sent
        .iter()
        .find(|(t, x)| *t >= cut && is_request(x))
        .unwrap()
        .0;
    assert!(first_lost - cut <= Duration::from_secs(6));
    // ...Chromium's 2.5 s later the state is disconnected...
    assert_eq!(disc - first_lost, DISCONNECTED_AFTER);
    // ...and RFC 7675's 30 s after the last response, failed.
    assert_eq!(failed - last_response, CONSENT_TIMEOUT);
    let states: Vec<S> = a.state_events().iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        vec![S::Checking, S::Connected, S::Disconnected, S::Failed]
    );
    // RFC 7675 §5.1: no more packets after consent is lost.
    assert!(a.sent.iter().all(|(t, _)| *t <= failed));
    assert!(a.agent_ref().poll_timeout().is_none());
}

#[test]
fn consent_recovers_from_short_outage() {
    let mut n = Net::pair(7, true, false);
    assert!(n.run_until(Duration::from_secs(5), Net::connected));
    n.blackhole = true;
    assert!(
        n.run_until(Duration::from_secs(30), |n| n.peers[0].agent_ref().state()
            == S::Disconnected)
    );
    n.blackhole = false;
    assert!(n.run_until(Duration::from_secs(40), Net::connected));
    let states: Vec<S> = n.peers[0].state_events().iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        vec![S::Checking, S::Connected, S::Disconnected, S::Connected]
    );
}

#[test]
fn five_percent_loss_with_reordering_and_duplicates_still_connects() {
    let mut times = vec![];
    for seed in 100..130 {
        let mut n = Net::pair(seed, seed % 2 == 0, seed % 2 == 1);
        n.loss_percent = 5;
        n.jitter = 30 * MS; // reorders packets sent less than 30 ms apart
        n.duplicate_percent = 5;
        assert!(
            n.run_until(Duration::from_secs(10), Net::connected),
            "seed {seed}"
        );
        mirrored(&n);
        times.push(n.elapsed(n.now));
    }
    times.sort();
    eprintln!("connect times: {times:?}");
    // Most runs see no loss on their few critical packets; a loss costs one RTO (500 ms),
    // two 1.5 s, three 3.5 s (retransmissions at 0.5, 1.5, 3.5 s).
    assert!(
        times[times.len() / 2] < 200 * MS,
        "median {:?}",
        times[times.len() / 2]
    );
    assert!(
        times[times.len() * 9 / 10] < 2000 * MS,
        "p90 {:?}",
        times[times.len() * 9 / 10]
    );
    assert!(
        *times.last().unwrap() < 4000 * MS,
        "worst {:?}",
        times.last()
    );
}

#[test]
fn pacing_and_retransmission_timing() {
    // Three remote candidates that never answer: checks are paced Ta = 50 ms apart and each
    // retransmits 7 times with RTO 500 ms doubling up to 3 s (RFC 8445 §14, RFC 8489 §6.2.1).
    let t0 = Instant::now();
    let mut a = IceAgent::new(creds("aaaa"), true, 1, t0);
    a.add_local_candidate(LocalCandidate::host(addr("10.0.0.1:5000"), 65535));
    a.set_remote_credentials(creds("bbbb"));
    for (i, port) in [7001u16, 7002, 7003].iter().enumerate() {
        let prio = candidate_priority(126, 65535 - i as u16, 1);
        let r = RemoteCandidate::new(
            SocketAddr::new(addr("10.0.0.2:1").ip(), *port),
            CandidateKind::Host,
            prio,
            &format!("f{i}"),
        );
        a.add_remote_candidate(r).unwrap();
    }
    a.end_of_remote_candidates();
    let mut sent: Vec<(Duration, SocketAddr)> = vec![];
    let mut now = t0;
    a.handle_timeout(now);
    loop {
        while let Some(t) = a.poll_transmit() {
            sent.push((now - t0, t.to));
        }
        let Some(next) = a.poll_timeout() else { break };
        assert!(next >= now);
        now = next;
        a.handle_timeout(now);
        if now - t0 > Duration::from_secs(60) {
            panic!("no end");
        }
    }
    let firsts: Vec<Duration> = [7001u16, 7002, 7003]
        .iter()
        .map(|p| sent.iter().find(|(_, to)| to.port() == *p).unwrap().0)
        .collect();
    assert_eq!(
        firsts,
        vec![Duration::ZERO, 50 * MS, 100 * MS],
        "highest priority first, Ta apart"
    );
    let to_first: Vec<u64> = sent
        .iter()
        .filter(|(_, to)| to.port() == 7001)
        .map(|(t, _)| t.as_millis() as u64)
        .collect();
    // RTO = max(500 ms, Ta * 3 busy pairs) = 500 ms at the first check.
    assert_eq!(to_first, vec![0, 500, 1500, 3500, 6500, 9500, 12500, 15500]);
    assert_eq!(a.state(), S::Failed);
    assert!(a.pairs().all(|p| p.state == PairState::Failed));
    // The last pair's last retransmission waited one capped RTO: 100 ms + 18.5 s.
    assert_eq!(now - t0, 18_600 * MS);
}

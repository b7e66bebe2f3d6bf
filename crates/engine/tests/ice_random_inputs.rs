//! Arbitrary and adversarial datagrams into `IceAgent::handle_packet` never panic, and the
//! agent keeps working afterwards (seeded, deterministic loops).

use polyrtc_engine::ice::*;
use polyrtc_stun::{Class, Message, MessageBuilder, Method, TransactionId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const LOCAL: &str = "10.0.0.1:5000";
const REMOTE: &str = "10.0.0.2:6000";

fn agent(now: Instant, controlling: bool) -> IceAgent {
    let creds = IceCredentials {
        ufrag: "loca".into(),
        pwd: "local-password-0123456789".into(),
    };
    let mut a = IceAgent::new(creds, controlling, 42, now);
    a.add_local_candidate(LocalCandidate::host(LOCAL.parse().unwrap(), 65535));
    a.set_remote_credentials(IceCredentials {
        ufrag: "remo".into(),
        pwd: "remote-password-012345678".into(),
    });
    let prio = candidate_priority(126, 1, 1);
    a.add_remote_candidate(RemoteCandidate::new(
        REMOTE.parse().unwrap(),
        CandidateKind::Host,
        prio,
        "1",
    ))
    .unwrap();
    a
}

fn random_bytes(rng: &mut ChaCha20Rng, max: usize) -> Vec<u8> {
    let len = (rng.next_u32() as usize) % max;
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// A well-formed STUN Binding message (any class) with random attributes of random
/// sizes, optionally authenticated with `key` so it gets past integrity checks.
fn random_stun(rng: &mut ChaCha20Rng, tid: TransactionId, key: Option<&[u8]>) -> Vec<u8> {
    let class = [
        Class::Request,
        Class::Success,
        Class::Error,
        Class::Indication,
    ][(rng.next_u32() % 4) as usize];
    let mut b = MessageBuilder::new(class, Method::BINDING, tid);
    let types = [
        0x0006u16, 0x0024, 0x0025, 0x8029, 0x802a, 0x0020, 0x0009, 0x0001, 0x8022, 0x7777,
    ];
    for _ in 0..(rng.next_u32() % 6) {
        let typ = types[(rng.next_u32() as usize) % types.len()];
        let value = random_bytes(rng, 24);
        b.attribute(typ, &value);
    }
    if rng.next_u32().is_multiple_of(2) {
        b.attribute(0x0006, b"loca:remo");
    }
    if let Some(k) = key {
        b.message_integrity(k);
    }
    if rng.next_u32().is_multiple_of(2) {
        b.fingerprint();
    }
    b.into_bytes()
}

#[test]
fn arbitrary_datagrams_never_panic() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x1ce);
    let t0 = Instant::now();
    let (local, remote): (SocketAddr, SocketAddr) =
        (LOCAL.parse().unwrap(), REMOTE.parse().unwrap());
    for round in 0..200u64 {
        let mut now = t0;
        let mut a = agent(now, round % 2 == 0);
        let mut tids = vec![];
        for i in 0..200u32 {
            now += Duration::from_millis(u64::from(rng.next_u32() % 40));
            a.handle_timeout(now);
            while let Some(t) = a.poll_transmit() {
                if let Ok(m) = Message::parse(&t.data) {
                    tids.push(m.transaction_id);
                }
            }
            let tid = match tids.get((rng.next_u32() as usize) % tids.len().max(1)) {
                Some(t) if rng.next_u32().is_multiple_of(2) => *t,
                _ => TransactionId::from_rng(&mut rng),
            };
            let data = match i % 4 {
                0 => random_bytes(&mut rng, 120),
                1 => random_stun(&mut rng, tid, None),
                2 => random_stun(&mut rng, tid, Some(b"local-password-0123456789")),
                _ => random_stun(&mut rng, tid, Some(b"remote-password-012345678")),
            };
            let from = if rng.next_u32().is_multiple_of(4) {
                SocketAddr::new(remote.ip(), 1 + (rng.next_u32() % 65535) as u16)
            } else {
                remote
            };
            a.handle_packet(now, local, from, &data);
            // Truncations of a valid-looking message too.
            let cut = (rng.next_u32() as usize) % (data.len() + 1);
            a.handle_packet(now, local, from, &data[..cut]);
            let _ = a.poll_timeout();
            while a.poll_event().is_some() {}
            let _: Vec<_> = a.pairs().map(|p| p.state).collect();
        }
    }
}

#[test]
fn non_stun_is_not_consumed() {
    let t0 = Instant::now();
    let mut a = agent(t0, true);
    let (local, remote) = (LOCAL.parse().unwrap(), REMOTE.parse().unwrap());
    for first in [20u8, 23, 63, 128, 191, 64, 255] {
        assert!(!a.handle_packet(t0, local, remote, &[first, 1, 2, 3, 4, 5, 6, 7]));
    }
    // A TURN Allocate response is STUN but not ICE's: left for the TURN client.
    let b = MessageBuilder::new(Class::Success, Method::ALLOCATE, TransactionId([9; 12]));
    assert!(!a.handle_packet(t0, local, remote, &b.into_bytes()));
    // A Binding response to a transaction that is not ours (e.g. a STUN server's) neither.
    let b = MessageBuilder::new(Class::Success, Method::BINDING, TransactionId([9; 12]));
    assert!(!a.handle_packet(t0, local, remote, &b.into_bytes()));
}

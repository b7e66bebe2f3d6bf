//! Bounded fuzzing on stable: seeded random and mutated inputs into every
//! parser and the whole server, plus a replay of the cargo-fuzz seed corpus.

use polyrtc_relay::client::TurnClient;
use polyrtc_relay::fuzzing::{fuzz_server, fuzz_stream_framing, fuzz_stun};
use polyrtc_relay::stun::{self, Method};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn all(data: &[u8]) {
    fuzz_stun(data);
    fuzz_stream_framing(data);
    fuzz_server(data);
}

/// Well-formed inputs to mutate and to seed the corpus with.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut tc = TurnClient::new("user", "pass");
    tc.realm = Some("polyrtc".into());
    tc.nonce = Some("1-00".into());
    let peer = "198.51.100.7:5000".parse().unwrap();
    let peer6 = "[2001:db8::7]:5000".parse().unwrap();
    let mut v = vec![
        ("binding", TurnClient::binding()),
        ("allocate", tc.allocate().1),
        ("refresh", tc.refresh(600).1),
        ("refresh0", tc.refresh(0).1),
        ("permission", tc.create_permission(peer).1),
        ("permission6", tc.create_permission(peer6).1),
        ("channel_bind", tc.channel_bind(0x4000, peer).1),
        ("send", TurnClient::send_indication(peer, b"payload")),
        (
            "channel_data",
            TurnClient::channel_data(0x4000, b"payload", true),
        ),
        (
            "allocate_even",
            tc.request(Method::ALLOCATE, |b| {
                b.attribute(stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                    .attribute(stun::EVEN_PORT, &[0x80, 0, 0, 0]);
            })
            .1,
        ),
    ];
    let with = |attrs: &[(u16, &[u8])]| {
        tc.request(Method::ALLOCATE, |b| {
            b.attribute(stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0]);
            for (t, v) in attrs {
                b.attribute(*t, v);
            }
        })
        .1
    };
    v.push(("allocate_mobile", with(&[(stun::MOBILITY_TICKET, &[])])));
    v.push((
        "allocate_dual",
        with(&[(stun::ADDITIONAL_ADDRESS_FAMILY, &[2, 0, 0, 0])]),
    ));
    v.push((
        "allocate_v6",
        with(&[(stun::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0])]),
    ));
    let ticket = polyrtc_relay::turn::TicketKey::new([0; 32]).issue(
        polyrtc_relay::allocation::Mobility {
            id: 1,
            generation: 0,
        },
        "anonymous",
    );
    v.push((
        "refresh_ticket",
        tc.request(Method::REFRESH, |b| {
            b.attribute(stun::MOBILITY_TICKET, &ticket);
        })
        .1,
    ));
    // One frame with several messages, as a WebSocket client batches them.
    let mut batch = tc.allocate().1;
    batch.extend_from_slice(&tc.channel_bind(0x4001, peer).1);
    batch.extend_from_slice(&TurnClient::channel_data(0x4001, b"x", true));
    v.push(("batch", batch));
    v
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..256);
        let mut data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Bias towards plausible headers so parsing goes deep.
        if len >= 8 && rng.gen_bool(0.5) {
            data[0] &= 0x7f;
            data[4..8].copy_from_slice(&stun::MAGIC_COOKIE.to_be_bytes());
            let body = (len as u16).saturating_sub(20) & !3;
            data[2..4].copy_from_slice(&body.to_be_bytes());
        }
        all(&data);
    }
}

#[test]
fn mutated_messages_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xfeed);
    let seeds = seeds();
    for i in 0..20_000 {
        let mut data = seeds[i % seeds.len()].1.clone();
        for _ in 0..rng.gen_range(1..6) {
            match rng.gen_range(0..4) {
                0 if !data.is_empty() => {
                    let at = rng.gen_range(0..data.len());
                    data[at] = rng.gen();
                }
                1 if !data.is_empty() => data.truncate(rng.gen_range(0..data.len())),
                2 => data.extend((0..rng.gen_range(0..8)).map(|_| rng.gen::<u8>())),
                _ if data.len() > 4 => {
                    // Corrupt a length field.
                    let at = rng.gen_range(0..data.len() - 1);
                    data[at] = 0xff;
                }
                _ => {}
            }
        }
        all(&data);
    }
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
}

#[test]
fn seed_corpus_replays_without_panic() {
    let mut n = 0;
    for target in std::fs::read_dir(corpus_dir()).expect("fuzz/corpus exists") {
        for file in std::fs::read_dir(target.unwrap().path()).unwrap() {
            let data = std::fs::read(file.unwrap().path()).unwrap();
            all(&data);
            n += 1;
        }
    }
    assert!(n >= 10, "corpus has {n} files");
}

/// `cargo test -p polyrtc-relay --test fuzz -- --ignored` rewrites the seeds.
#[test]
#[ignore]
fn regenerate_seed_corpus() {
    for target in ["stun_parse", "stream_framing", "turn_server"] {
        let dir = corpus_dir().join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

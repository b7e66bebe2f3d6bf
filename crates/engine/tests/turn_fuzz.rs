//! Fuzz-style property test: whatever the server (or an attacker on the path) sends, and
//! whatever the caller does in between, the TURN client never panics and its timers keep
//! moving forward. Seeded, so a failure is reproducible by its seed.

use polyrtc_engine::turn::{Framing, TurnClient, TurnClientConfig, TurnState};
use polyrtc_stun::framing::ChannelData;
use polyrtc_stun::{self as stun, Class, LongTermKey, Message, MessageBuilder, TransactionId};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn below(rng: &mut ChaCha20Rng, n: u32) -> u32 {
    rng.next_u32() % n
}

fn random_bytes(rng: &mut ChaCha20Rng, max: u32) -> Vec<u8> {
    let mut v = vec![0u8; below(rng, max + 1) as usize];
    rng.fill_bytes(&mut v);
    v
}

fn random_addr(rng: &mut ChaCha20Rng) -> SocketAddr {
    let ip = rng.next_u32().to_be_bytes();
    SocketAddr::from((ip, below(rng, 65536) as u16))
}

/// A plausible server message answering `request` (or not), often signed with the right key,
/// then sometimes corrupted.
fn random_reply(rng: &mut ChaCha20Rng, request: Option<&[u8]>, key: &LongTermKey) -> Vec<u8> {
    let parsed = request.and_then(|r| Message::parse(r).ok());
    let (method, id) = match &parsed {
        Some(m) if below(rng, 8) != 0 => (m.method, m.transaction_id),
        _ => (
            stun::Method(below(rng, 12) as u16),
            TransactionId::from_rng(rng),
        ),
    };
    let class = [
        Class::Success,
        Class::Error,
        Class::Indication,
        Class::Request,
    ][below(rng, 4) as usize];
    let mut b = MessageBuilder::new(class, method, id);
    if let Some(m) = parsed.as_ref().filter(|_| below(rng, 3) == 0) {
        return good_reply(m, key);
    }
    for _ in 0..below(rng, 7) {
        match below(rng, 11) {
            0 => {
                let code = [300, 400, 401, 403, 420, 437, 438, 441, 486, 508, 599, 0]
                    [below(rng, 12) as usize];
                b.error_code(code, "fuzz");
            }
            1 => {
                b.attribute(stun::REALM, b"polyrtc");
            }
            2 => {
                b.attribute(stun::NONCE, &random_bytes(rng, 12));
            }
            3 => {
                b.xor_address(stun::XOR_RELAYED_ADDRESS, random_addr(rng));
            }
            4 => {
                b.xor_address(stun::XOR_MAPPED_ADDRESS, random_addr(rng));
            }
            5 => {
                b.u32_attribute(stun::LIFETIME, rng.next_u32() % 4000);
            }
            6 => {
                b.attribute(stun::MOBILITY_TICKET, &random_bytes(rng, 20));
            }
            7 => {
                b.attribute(stun::ALTERNATE_SERVER, &random_bytes(rng, 20));
            }
            8 => {
                b.xor_address(stun::XOR_PEER_ADDRESS, random_addr(rng))
                    .attribute(stun::DATA, &random_bytes(rng, 40));
            }
            9 => {
                b.u32_attribute(stun::LIFETIME, u32::MAX);
            }
            _ => {
                let typ = rng.next_u32() as u16;
                b.attribute(typ, &random_bytes(rng, 10));
            }
        }
    }
    if below(rng, 3) != 0 {
        b.message_integrity(&key.0);
    }
    if below(rng, 4) == 0 {
        b.fingerprint();
    }
    let mut out = b.into_bytes();
    corrupt(rng, &mut out);
    out
}

/// What a correct server would answer, so sessions get past authentication and allocation.
fn good_reply(req: &Message<'_>, key: &LongTermKey) -> Vec<u8> {
    if req.class != Class::Request {
        return vec![];
    }
    if !req.has(stun::MESSAGE_INTEGRITY) {
        let mut b = MessageBuilder::new(Class::Error, req.method, req.transaction_id);
        b.error_code(401, "Unauthorized")
            .attribute(stun::REALM, b"polyrtc")
            .attribute(stun::NONCE, b"nonce");
        return b.into_bytes();
    }
    let mut b = MessageBuilder::new(Class::Success, req.method, req.transaction_id);
    b.xor_address(stun::XOR_RELAYED_ADDRESS, "192.0.2.1:9".parse().unwrap())
        .u32_attribute(stun::LIFETIME, 600)
        .attribute(stun::MOBILITY_TICKET, b"ticket")
        .message_integrity(&key.0);
    b.into_bytes()
}

fn corrupt(rng: &mut ChaCha20Rng, out: &mut Vec<u8>) {
    match below(rng, 6) {
        0 if !out.is_empty() => {
            let i = below(rng, out.len() as u32) as usize;
            out[i] ^= 1 << below(rng, 8);
        }
        1 => out.truncate(below(rng, out.len() as u32 + 1) as usize),
        2 => out.extend(random_bytes(rng, 8)),
        _ => {}
    }
}

fn config(framing: Framing, mobility: bool) -> TurnClientConfig {
    TurnClientConfig {
        username: "alice".into(),
        password: "pw".into(),
        server_url: "turn:fuzz".into(),
        framing,
        request_mobility: mobility,
        dont_fragment: false,
        max_lifetime: Duration::from_secs(u64::from(mobility) * 100_000 + 30),
    }
}

/// One random session: `steps` actions of the caller, the server and the clock.
fn session(seed: u64, steps: usize) -> bool {
    let mut reached = false;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let key = LongTermKey::derive("alice", "polyrtc", "pw");
    let framing = if seed.is_multiple_of(2) {
        Framing::Stream
    } else {
        Framing::Datagram
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut c = TurnClient::new(config(framing, seed.is_multiple_of(3)), &mut rng, now);
    let mut sent: Vec<Vec<u8>> = vec![];
    let peers: Vec<SocketAddr> = (0..4).map(|_| random_addr(&mut rng)).collect();
    for _ in 0..steps {
        while let Some(m) = c.poll_transmit() {
            sent.push(m);
        }
        let last = sent.last().map(Vec::as_slice);
        match below(&mut rng, 12) {
            0..=3 => {
                let reply = random_reply(&mut rng, last, &key);
                c.handle_input(now, &reply);
            }
            4 => {
                // Several messages in one frame, possibly with a broken one inside.
                let mut frame = vec![];
                for _ in 0..below(&mut rng, 4) + 1 {
                    frame.extend(random_reply(&mut rng, last, &key));
                    let ch = 0x4000 + below(&mut rng, 3) as u16;
                    let data = random_bytes(&mut rng, 30);
                    frame.extend(ChannelData::encode(ch, &data, below(&mut rng, 2) == 0));
                }
                c.handle_input(now, &frame);
            }
            5 => c.handle_input(now, &random_bytes(&mut rng, 100)),
            6 => {
                let p = peers[below(&mut rng, 4) as usize];
                let _ = c.send_to(now, p, &random_bytes(&mut rng, 50));
            }
            7 => c.create_permission(now, peers[below(&mut rng, 4) as usize].ip()),
            8 => match below(&mut rng, 8) {
                0 => c.transport_lost(now),
                1 => c.transport_reconnected(now),
                2 => c.close(now),
                _ => {}
            },
            _ => {
                let before = c.poll_timeout();
                now += Duration::from_millis(u64::from(below(&mut rng, 700_000)));
                if let Some(t) = before {
                    now = now.max(t);
                }
                c.handle_timeout(now);
                // Nothing left due: a shell looping on poll_timeout must not spin.
                if let Some(after) = c.poll_timeout() {
                    assert!(
                        after > now,
                        "seed {seed}: timer at {after:?} not after {now:?} {c:?}"
                    );
                }
            }
        }
        while c.poll_event().is_some() {}
        reached |= c.state() == TurnState::Allocated;
    }
    reached
}

#[test]
fn arbitrary_server_input_never_panics() {
    let allocated = (0..1500).filter(|seed| session(*seed, 200)).count();
    // The generator must get past authentication often enough to fuzz the allocated paths.
    assert!(
        allocated > 300,
        "only {allocated} sessions reached Allocated"
    );
    eprintln!("{allocated} of 1500 sessions reached Allocated");
}

#[test]
fn pure_noise_never_panics_in_any_state() {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    for framing in [Framing::Stream, Framing::Datagram] {
        let now = Instant::now();
        let mut c = TurnClient::new(config(framing, true), &mut rng, now);
        for _ in 0..20_000 {
            let noise = random_bytes(&mut rng, 200);
            c.handle_input(now, &noise);
        }
        // Noise never reaches a transaction: still allocating, nothing to report.
        assert_eq!(c.state(), TurnState::Allocating);
        assert_eq!(c.poll_event(), None);
    }
}

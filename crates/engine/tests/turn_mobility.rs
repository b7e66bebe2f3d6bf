//! RFC 8016 mobility, response authentication and a refused DONT-FRAGMENT against a minimal
//! fake TURN server: the relay's core does not issue MOBILITY-TICKETs yet, and it grants
//! DONT-FRAGMENT (see turn_sim.rs for its behaviour).

use polyrtc_engine::turn::{
    Framing, TurnClient, TurnClientConfig, TurnError, TurnEvent, TurnState,
};
use polyrtc_stun::{self as stun, Class, LongTermKey, Message, MessageBuilder, Method};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const RELAYED: &str = "198.51.100.1:60000";

/// Answers every request; issues tickets `t1`, `t2`, … and accepts only the latest.
struct FakeServer {
    key: LongTermKey,
    issued: u32,
    reject_resume: bool,
    refuse_channels: bool,
    /// Answer an Allocate carrying DONT-FRAGMENT with 420, as a server that cannot set DF.
    refuse_dont_fragment: bool,
    /// Every request received.
    seen: Vec<Vec<u8>>,
}

impl FakeServer {
    fn new() -> Self {
        FakeServer {
            key: LongTermKey::derive("alice", "fake", "pw"),
            issued: 0,
            reject_resume: false,
            refuse_channels: false,
            refuse_dont_fragment: false,
            seen: vec![],
        }
    }

    fn ticket(&self) -> Vec<u8> {
        format!("t{}", self.issued).into_bytes()
    }

    fn answer(&mut self, req: &[u8]) -> Option<Vec<u8>> {
        self.seen.push(req.to_vec());
        let m = Message::parse(req).ok()?;
        if m.class != Class::Request {
            return None;
        }
        if !m.has(stun::MESSAGE_INTEGRITY) {
            let mut b = MessageBuilder::new(Class::Error, m.method, m.transaction_id);
            b.error_code(401, "Unauthorized")
                .attribute(stun::REALM, b"fake")
                .attribute(stun::NONCE, b"n1");
            return Some(b.into_bytes());
        }
        assert_eq!(m.verify_integrity(&self.key.0), Some(true));
        if m.method == Method::CHANNEL_BIND && self.refuse_channels {
            let mut e = MessageBuilder::new(Class::Error, m.method, m.transaction_id);
            e.error_code(403, "Forbidden")
                .message_integrity(&self.key.0);
            return Some(e.into_bytes());
        }
        if m.method == Method::ALLOCATE && m.has(stun::DONT_FRAGMENT) && self.refuse_dont_fragment {
            let mut e = MessageBuilder::new(Class::Error, m.method, m.transaction_id);
            e.error_code(420, "Unknown Attribute")
                .attribute(stun::UNKNOWN_ATTRIBUTES, &stun::DONT_FRAGMENT.to_be_bytes())
                .message_integrity(&self.key.0);
            return Some(e.into_bytes());
        }
        let mut b = MessageBuilder::new(Class::Success, m.method, m.transaction_id);
        match m.method {
            Method::ALLOCATE => {
                b.xor_address(stun::XOR_RELAYED_ADDRESS, RELAYED.parse().unwrap())
                    .u32_attribute(stun::LIFETIME, 600);
                if m.has(stun::MOBILITY_TICKET) {
                    self.issued += 1;
                    b.attribute(stun::MOBILITY_TICKET, &self.ticket());
                }
            }
            Method::REFRESH => {
                if let Some(t) = m.attribute(stun::MOBILITY_TICKET) {
                    if self.reject_resume || t != self.ticket() {
                        let mut e = MessageBuilder::new(Class::Error, m.method, m.transaction_id);
                        e.error_code(437, "Allocation Mismatch")
                            .message_integrity(&self.key.0);
                        return Some(e.into_bytes());
                    }
                    self.issued += 1;
                    b.attribute(stun::MOBILITY_TICKET, &self.ticket());
                }
                b.u32_attribute(stun::LIFETIME, 600);
            }
            _ => {}
        }
        b.message_integrity(&self.key.0);
        Some(b.into_bytes())
    }
}

fn mobile_client(now: Instant) -> TurnClient {
    client(now, false)
}

fn client(now: Instant, dont_fragment: bool) -> TurnClient {
    let cfg = TurnClientConfig {
        username: "alice".into(),
        password: "pw".into(),
        server_url: "wss://fake/turn".into(),
        framing: Framing::Stream,
        request_mobility: true,
        dont_fragment,
        max_lifetime: Duration::from_secs(600),
    };
    TurnClient::new(cfg, &mut ChaCha20Rng::seed_from_u64(9), now)
}

/// Exchange until the client has nothing more to say; return the client's requests.
fn pump(c: &mut TurnClient, s: &mut FakeServer, now: Instant) -> Vec<Vec<u8>> {
    let mut sent = vec![];
    while let Some(m) = c.poll_transmit() {
        sent.push(m.clone());
        if let Some(resp) = s.answer(&m) {
            c.handle_input(now, &resp);
        }
    }
    sent
}

fn events(c: &mut TurnClient) -> Vec<TurnEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn methods(sent: &[Vec<u8>]) -> Vec<Method> {
    sent.iter()
        .filter_map(|m| Message::parse(m).ok())
        .filter(|m| m.class == Class::Request)
        .map(|m| m.method)
        .collect()
}

#[test]
fn allocation_resumes_on_a_new_transport_with_the_latest_ticket() {
    let t0 = Instant::now();
    let (mut c, mut s) = (mobile_client(t0), FakeServer::new());
    pump(&mut c, &mut s, t0);
    assert!(c.has_mobility_ticket());
    let peer: SocketAddr = "203.0.113.7:4000".parse().unwrap();
    c.send_to(t0, peer, b"hi").unwrap();
    pump(&mut c, &mut s, t0);
    assert_eq!(c.channel(peer), Some(0x4000));
    events(&mut c);

    for round in 1..=2u32 {
        let now = t0 + Duration::from_secs(u64::from(round) * 10);
        c.transport_lost(now);
        assert_eq!(c.state(), TurnState::Reconnecting);
        assert_eq!(
            c.send_to(now, peer, b"x"),
            Err(TurnError::NotAllocated(TurnState::Reconnecting))
        );
        assert_eq!(c.poll_transmit(), None);
        c.transport_reconnected(now);
        let sent = pump(&mut c, &mut s, now);
        let resume = Message::parse(&sent[0]).unwrap();
        assert_eq!(resume.method, Method::REFRESH);
        let presented = format!("t{round}");
        assert_eq!(
            resume.attribute(stun::MOBILITY_TICKET),
            Some(presented.as_bytes())
        );
        // Refreshes possibly missed while disconnected go out at once.
        assert_eq!(
            methods(&sent),
            vec![
                Method::REFRESH,
                Method::CREATE_PERMISSION,
                Method::CHANNEL_BIND
            ]
        );
        assert_eq!(c.state(), TurnState::Allocated);
        assert_eq!(
            events(&mut c),
            vec![TurnEvent::Resumed {
                relayed: RELAYED.parse().unwrap()
            }]
        );
        c.send_to(now, peer, b"after").unwrap();
        assert_eq!(c.poll_transmit().unwrap()[..2], [0x40, 0x00]);
    }
}

#[test]
fn refused_resume_reports_allocation_lost() {
    let t0 = Instant::now();
    let (mut c, mut s) = (mobile_client(t0), FakeServer::new());
    pump(&mut c, &mut s, t0);
    events(&mut c);
    c.transport_lost(t0);
    s.reject_resume = true;
    c.transport_reconnected(t0);
    pump(&mut c, &mut s, t0);
    assert_eq!(c.state(), TurnState::Failed);
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::AllocationLost { .. }]
    ));
}

#[test]
fn transport_lost_while_allocating_starts_over() {
    let t0 = Instant::now();
    let (mut c, mut s) = (mobile_client(t0), FakeServer::new());
    let first = c.poll_transmit().unwrap();
    c.transport_lost(t0);
    c.transport_reconnected(t0);
    let sent = pump(&mut c, &mut s, t0);
    assert_eq!(methods(&sent), vec![Method::ALLOCATE, Method::ALLOCATE]);
    assert_ne!(sent[0], first, "a new transaction");
    assert_eq!(c.state(), TurnState::Allocated);
}

#[test]
fn forged_or_unmatched_responses_are_ignored() {
    let t0 = Instant::now();
    let (mut c, mut s) = (mobile_client(t0), FakeServer::new());
    let first = c.poll_transmit().unwrap();
    let challenge = s.answer(&first).unwrap();
    c.handle_input(t0, &challenge);
    let signed = c.poll_transmit().unwrap();
    let good = s.answer(&signed).unwrap();
    let id = Message::parse(&signed).unwrap().transaction_id;

    // A success signed with another key, and one without integrity: both dropped.
    let mut forged = MessageBuilder::new(Class::Success, Method::ALLOCATE, id);
    forged
        .xor_address(stun::XOR_RELAYED_ADDRESS, "192.0.2.66:1".parse().unwrap())
        .message_integrity(&[0u8; 16]);
    c.handle_input(t0, &forged.into_bytes());
    let mut bare = MessageBuilder::new(Class::Success, Method::ALLOCATE, id);
    bare.xor_address(stun::XOR_RELAYED_ADDRESS, "192.0.2.66:1".parse().unwrap());
    c.handle_input(t0, &bare.into_bytes());
    // An unsigned 403 for a signed request: dropped too.
    let mut err = MessageBuilder::new(Class::Error, Method::ALLOCATE, id);
    err.error_code(403, "Forbidden");
    c.handle_input(t0, &err.into_bytes());
    // The genuine answer under another transaction id: no match.
    let mut other = good.clone();
    other[10] ^= 1;
    c.handle_input(t0, &other);
    assert_eq!(c.state(), TurnState::Allocating);
    assert!(events(&mut c).is_empty());

    c.handle_input(t0, &good);
    assert_eq!(c.relayed_address(), Some(RELAYED.parse().unwrap()));
    // A replay of the answer changes nothing.
    c.handle_input(t0, &good);
    assert_eq!(events(&mut c).len(), 1);
}

#[test]
fn refused_channel_falls_back_to_send_indications_without_retrying() {
    let t0 = Instant::now();
    let (mut c, mut s) = (mobile_client(t0), FakeServer::new());
    s.refuse_channels = true;
    pump(&mut c, &mut s, t0);
    events(&mut c);
    let peer: SocketAddr = "203.0.113.7:4000".parse().unwrap();
    let mut sent = vec![];
    for _ in 0..3 {
        c.send_to(t0, peer, b"data").unwrap();
        sent.extend(pump(&mut c, &mut s, t0));
    }
    assert_eq!(
        methods(&sent),
        vec![Method::CREATE_PERMISSION, Method::CHANNEL_BIND]
    );
    let sends = sent
        .iter()
        .filter_map(|m| Message::parse(m).ok())
        .filter(|m| m.class == Class::Indication && m.method == Method::SEND)
        .count();
    assert_eq!(sends, 3);
    assert_eq!(c.channel(peer), None);
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::ChannelFailed { code: 403, .. }]
    ));
}

/// RFC 8489 §10: 300 Try Alternate is reported with the alternate address, never followed.
#[test]
fn try_alternate_is_reported_not_followed() {
    let t0 = Instant::now();
    let mut c = mobile_client(t0);
    let req = c.poll_transmit().unwrap();
    let id = Message::parse(&req).unwrap().transaction_id;
    let mut b = MessageBuilder::new(Class::Error, Method::ALLOCATE, id);
    // ALTERNATE-SERVER is a plain (not XORed) address: family 1, port 3479, 192.0.2.9.
    b.error_code(300, "Try Alternate")
        .attribute(stun::ALTERNATE_SERVER, &[0, 1, 0x0d, 0x97, 192, 0, 2, 9]);
    c.handle_input(t0, &b.into_bytes());
    assert_eq!(c.state(), TurnState::Failed);
    assert_eq!(
        events(&mut c),
        vec![TurnEvent::Error {
            code: 300,
            text: "Try Alternate (alternate server 192.0.2.9:3479)".into()
        }]
    );
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn dont_fragment_refused_with_420_allocates_without_it() {
    let t0 = Instant::now();
    let mut c = client(t0, true);
    let mut s = FakeServer {
        refuse_dont_fragment: true,
        ..FakeServer::new()
    };
    let sent = pump(&mut c, &mut s, t0);
    assert_eq!(c.state(), TurnState::Allocated);
    let allocates: Vec<Message<'_>> = sent
        .iter()
        .filter_map(|m| Message::parse(m).ok())
        .filter(|m| m.method == Method::ALLOCATE)
        .collect();
    // Unsigned (401), signed with DONT-FRAGMENT (420), signed without it.
    assert_eq!(allocates.len(), 3);
    assert!(allocates[1].has(stun::DONT_FRAGMENT));
    assert!(!allocates[2].has(stun::DONT_FRAGMENT));
    assert!(matches!(
        events(&mut c).as_slice(),
        [TurnEvent::Allocated { .. }]
    ));
}

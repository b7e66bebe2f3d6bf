//! The core driven by hand: no sockets, simulated time.

use super::*;
use crate::allocation::ClientTransport;
use crate::auth::Credentials;
use crate::client::TurnClient;
use crate::stun::{Message, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS};

/// Relay sockets without sockets: IPv4 on 203.0.113.1, IPv6 (if `v6`) on
/// 2001:db8::1; `exhausted` makes every bind fail (no free port).
struct Fake {
    port: u16,
    v6: bool,
    exhausted: bool,
    /// Relayed addresses asked to send with DF set (DONT-FRAGMENT).
    dont_fragment: Vec<SocketAddr>,
}

impl RelaySockets for Fake {
    fn supports(&self, f: AddressFamily) -> bool {
        f == AddressFamily::V4 || self.v6
    }
    fn open(&mut self, f: AddressFamily, even: bool) -> std::io::Result<SocketAddr> {
        if self.exhausted {
            return Err(std::io::Error::from(std::io::ErrorKind::AddrInUse));
        }
        self.port += if even && self.port.is_multiple_of(2) {
            2
        } else {
            1
        };
        let ip: IpAddr = match f {
            AddressFamily::V4 => [203, 0, 113, 1].into(),
            AddressFamily::V6 => "2001:db8::1".parse().expect("literal"),
        };
        Ok(SocketAddr::new(ip, self.port))
    }
    fn open_pair(&mut self, f: AddressFamily) -> std::io::Result<SocketAddr> {
        let even = self.open(f, true)?;
        self.port += 1;
        Ok(even)
    }
    fn dont_fragment(&mut self, relay: SocketAddr) -> std::io::Result<()> {
        self.dont_fragment.push(relay);
        Ok(())
    }
}

struct Harness {
    server: TurnServer,
    sockets: Fake,
    t0: Instant,
}

fn harness(cfg: TurnConfig) -> Harness {
    let t0 = Instant::now();
    let auth = Authenticator {
        realm: cfg.realm.clone(),
        credentials: Credentials::new(
            &cfg.realm,
            &[("alice".into(), "pw".into()), ("bob".into(), "pw".into())],
            vec![],
        ),
        nonces: crate::auth::NonceIssuer::new([1; 32], cfg.nonce_lifetime.as_secs()),
    };
    let server = TurnServer::new(cfg, auth, Arc::new(Metrics::default()), t0, 1_700_000_000);
    Harness {
        server,
        sockets: Fake {
            port: 50000,
            v6: false,
            exhausted: false,
            dont_fragment: Vec::new(),
        },
        t0,
    }
}

fn client(port: u16) -> ClientId {
    ClientId {
        transport: ClientTransport::Udp,
        remote: SocketAddr::from(([198, 51, 100, 9], port)),
        local: SocketAddr::from(([203, 0, 113, 1], 3478)),
        conn: 0,
    }
}

impl Harness {
    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    fn feed(&mut self, secs: u64, c: ClientId, data: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        let now = self.at(secs);
        self.server
            .handle_client(now, c, data, &mut self.sockets, &mut out);
        out
    }

    /// Send a request, return the single answer's bytes.
    fn ask(&mut self, secs: u64, c: ClientId, data: &[u8]) -> Vec<u8> {
        let out = self.feed(secs, c, data);
        match out.as_slice() {
            [Output::ToClient { client, data }] if *client == c => data.clone(),
            other => panic!("expected one answer, got {other:?}"),
        }
    }

    fn code(&mut self, secs: u64, c: ClientId, data: &[u8]) -> Option<u16> {
        let resp = self.ask(secs, c, data);
        Message::parse(&resp).unwrap().error_code().map(|(c, _)| c)
    }

    /// 401 then Allocate; returns the relayed address.
    fn allocate(&mut self, secs: u64, c: ClientId, tc: &mut TurnClient) -> SocketAddr {
        let resp = self.ask(secs, c, &tc.allocate().1);
        assert!(tc.learn(&Message::parse(&resp).unwrap()));
        let resp = self.ask(secs, c, &tc.allocate().1);
        let m = Message::parse(&resp).unwrap();
        assert_eq!(m.class, Class::Success, "{:?}", m.error_code());
        assert_eq!(m.verify_integrity(&tc.key().unwrap().0), Some(true));
        m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap()
    }
}

fn open_policy() -> TurnConfig {
    TurnConfig {
        peer_policy: PeerPolicy {
            allow_loopback: true,
            allow_private: true,
            own_addresses: vec![],
        },
        ..Default::default()
    }
}

#[test]
fn allocation_expires_and_refresh_clamps_to_max_lifetime() {
    let mut h = harness(open_policy());
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    let relay = h.allocate(0, c, &mut tc);
    let resp = h.ask(10, c, &tc.refresh(100_000).1);
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.u32_attribute(crate::stun::LIFETIME).unwrap(), Some(3600));
    let mut out = Vec::new();
    h.server.handle_timeout(h.at(3609), &mut out);
    assert!(out.is_empty());
    h.server.handle_timeout(h.at(3610), &mut out);
    assert_eq!(out, vec![Output::CloseRelay { relay }]);
    assert!(h.server.allocations().is_empty());
}

#[test]
fn stale_nonce_after_its_lifetime_then_recovers() {
    let mut h = harness(TurnConfig {
        nonce_lifetime: Duration::from_secs(30),
        ..open_policy()
    });
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    h.allocate(0, c, &mut tc);
    let resp = h.ask(31, c, &tc.refresh(600).1);
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.error_code().map(|e| e.0), Some(438));
    assert!(tc.learn(&m));
    assert_eq!(h.code(31, c, &tc.refresh(600).1), None);
}

#[test]
fn peer_data_needs_a_permission_and_channels_pad_only_on_streams() {
    let mut h = harness(open_policy());
    let mut c = client(1);
    c.transport = ClientTransport::Tcp;
    let mut tc = TurnClient::new("alice", "pw");
    let relay = h.allocate(0, c, &mut tc);
    let peer: SocketAddr = "198.51.100.20:7000".parse().unwrap();
    let mut out = Vec::new();
    h.server
        .handle_peer(h.at(1), relay, peer, b"early", &mut out);
    assert!(out.is_empty(), "no permission yet");
    assert_eq!(h.code(1, c, &tc.channel_bind(0x4001, peer).1), None);
    h.server
        .handle_peer(h.at(2), relay, peer, b"hello", &mut out);
    assert_eq!(
        out,
        vec![Output::ToClient {
            client: c,
            data: vec![0x40, 0x01, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]
        }]
    );
    let out = h.feed(3, c, &TurnClient::channel_data(0x4001, b"back", true));
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay,
            peer,
            data: b"back".to_vec()
        }]
    );
    // The permission (300 s) lapses before the channel (600 s).
    let mut out = Vec::new();
    h.server.handle_timeout(h.at(301), &mut out);
    h.server
        .handle_peer(h.at(302), relay, peer, b"late", &mut out);
    assert!(out.is_empty());
}

#[test]
fn intra_relay_shortcut_delivers_without_the_kernel() {
    let mut h = harness(TurnConfig::default());
    let (ca, cb) = (client(1), client(2));
    let (mut ta, mut tb) = (TurnClient::new("alice", "pw"), TurnClient::new("bob", "pw"));
    let ra = h.allocate(0, ca, &mut ta);
    let rb = h.allocate(0, cb, &mut tb);
    // 203.0.113.1 is public, so the default policy allows it; relay addresses are allowed anyway.
    assert_eq!(h.code(1, ca, &ta.create_permission(rb).1), None);
    assert_eq!(h.code(1, cb, &tb.create_permission(ra).1), None);
    let out = h.feed(2, ca, &TurnClient::send_indication(rb, b"hi bob"));
    let [Output::ToClient { client, data }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(*client, cb);
    let m = Message::parse(data).unwrap();
    assert_eq!(m.method, Method::DATA);
    assert_eq!(m.xor_address(XOR_PEER_ADDRESS).unwrap(), Some(ra));
    assert_eq!(m.attribute(crate::stun::DATA), Some(&b"hi bob"[..]));
}

#[test]
fn sha256_requests_get_sha256_answers_and_other_user_gets_441() {
    let mut h = harness(open_policy());
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    tc.sha256 = true;
    h.allocate(0, c, &mut tc);
    let resp = h.ask(1, c, &tc.refresh(600).1);
    let m = Message::parse(&resp).unwrap();
    assert!(m.has(crate::stun::MESSAGE_INTEGRITY_SHA256) && !m.has(crate::stun::MESSAGE_INTEGRITY));
    let mut bob = TurnClient::new("bob", "pw");
    bob.realm = tc.realm.clone();
    bob.nonce = tc.nonce.clone();
    assert_eq!(h.code(1, c, &bob.refresh(600).1), Some(441));
}

#[test]
fn unauthenticated_requests_are_rate_limited_per_ip() {
    let mut h = harness(TurnConfig {
        unauth_rate_per_sec: 1,
        unauth_burst: 3,
        ..open_policy()
    });
    let c = client(1);
    for _ in 0..3 {
        assert_eq!(h.feed(0, c, &TurnClient::binding()).len(), 1);
    }
    assert!(h.feed(0, c, &TurnClient::binding()).is_empty());
    assert_eq!(h.feed(1, c, &TurnClient::binding()).len(), 1);
    assert!(h.server.metrics.rate_limited.load(Relaxed) >= 1);
}

#[test]
fn unknown_comprehension_required_attribute_is_420() {
    let mut h = harness(open_policy());
    let mut b = MessageBuilder::new(Class::Request, Method::BINDING, TransactionId([4; 12]));
    b.attribute(0x7777, b"?");
    let resp = h.ask(0, client(1), &b.into_bytes());
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.error_code().map(|e| e.0), Some(420));
    assert_eq!(
        m.attribute(crate::stun::UNKNOWN_ATTRIBUTES),
        Some(&[0x77, 0x77][..])
    );
}

#[test]
fn allocate_retransmission_gets_the_same_relay_and_reservation_token_is_refused() {
    let mut h = harness(open_policy());
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.ask(0, c, &tc.allocate().1);
    tc.learn(&Message::parse(&resp).unwrap());
    let (_, req) = tc.allocate();
    let first = Message::parse(&h.ask(0, c, &req))
        .unwrap()
        .xor_address(XOR_RELAYED_ADDRESS)
        .unwrap();
    let again = Message::parse(&h.ask(1, c, &req))
        .unwrap()
        .xor_address(XOR_RELAYED_ADDRESS)
        .unwrap();
    assert_eq!(first, again);
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::RESERVATION_TOKEN, &[0; 8]);
    });
    assert_eq!(h.code(1, client(2), &req), Some(508), "unknown token");
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0]);
    });
    assert_eq!(h.code(1, client(3), &req), Some(440));
}

#[test]
fn even_port_with_reservation_then_token() {
    let mut h = harness(open_policy());
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.ask(0, client(1), &tc.allocate().1);
    tc.learn(&Message::parse(&resp).unwrap());
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::EVEN_PORT, &[0x80, 0, 0, 0]);
    });
    let resp = h.ask(0, client(1), &req);
    let m = Message::parse(&resp).unwrap();
    let even = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    assert_eq!(even.port() % 2, 0);
    let token = m
        .attribute(crate::stun::RESERVATION_TOKEN)
        .unwrap()
        .to_vec();
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::RESERVATION_TOKEN, &token);
    });
    let resp = h.ask(1, client(2), &req);
    let odd = Message::parse(&resp)
        .unwrap()
        .xor_address(XOR_RELAYED_ADDRESS)
        .unwrap()
        .unwrap();
    assert_eq!(odd.port(), even.port() + 1);
    // An unused reservation is released after 30 s.
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::EVEN_PORT, &[0x80, 0, 0, 0]);
    });
    let resp = h.ask(2, client(3), &req);
    let even = Message::parse(&resp)
        .unwrap()
        .xor_address(XOR_RELAYED_ADDRESS)
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    h.server.handle_timeout(h.at(40), &mut out);
    let odd = SocketAddr::new(even.ip(), even.port() + 1);
    assert!(out.contains(&Output::CloseRelay { relay: odd }));
}

#[test]
fn dont_fragment_sets_df_on_the_new_relayed_address_only() {
    let mut h = harness(open_policy());
    let mut tc = TurnClient::new("alice", "pw");
    // Without the attribute: fragmenting allowed, as before.
    let plain = h.allocate(0, client(1), &mut tc);
    assert!(h.sockets.dont_fragment.is_empty(), "{plain} got DF unasked");
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(crate::stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(crate::stun::DONT_FRAGMENT, &[]);
    });
    let resp = h.ask(0, client(2), &req);
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success, "{:?}", m.error_code());
    let relay = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    assert_eq!(h.sockets.dont_fragment, vec![relay]);
}

#[test]
fn bandwidth_limit_drops_the_excess() {
    let mut h = harness(TurnConfig {
        max_allocation_bytes_per_sec: Some(100_000),
        ..open_policy()
    });
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    let relay = h.allocate(0, c, &mut tc);
    let peer: SocketAddr = "198.51.100.20:7000".parse().unwrap();
    assert_eq!(h.code(0, c, &tc.channel_bind(0x4000, peer).1), None);
    let frame = TurnClient::channel_data(0x4000, &[0; 1000], false);
    let sent = (0..200)
        .filter(|_| !h.feed(1, c, &frame).is_empty())
        .count();
    // Burst is max(rate / 4, 64 KiB): 65 datagrams of 1,000 bytes.
    assert_eq!(sent, 65);
    // A second later 100 more kB are allowed (peer to client counts too).
    let mut out = Vec::new();
    for _ in 0..200 {
        h.server
            .handle_peer(h.at(2), relay, peer, &[0; 1000], &mut out);
    }
    assert_eq!(out.len(), 65);
    assert!(h.server.metrics.bandwidth_dropped.load(Relaxed) > 0);
}

mod proto;

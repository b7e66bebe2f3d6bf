//! Mobility, dual stack, per-user bandwidth, external addresses and capacity
//! errors in the core, with simulated time.

use super::*;

fn stream_client(conn: u64, transport: ClientTransport) -> ClientId {
    ClientId {
        transport,
        conn,
        ..client(40000 + conn as u16)
    }
}

impl Harness {
    /// Challenge (if needed) then Allocate with `extra`; the parsed answer's bytes.
    fn allocate_with(
        &mut self,
        secs: u64,
        c: ClientId,
        tc: &mut TurnClient,
        extra: impl Fn(&mut MessageBuilder),
    ) -> Vec<u8> {
        if tc.nonce.is_none() {
            let resp = self.ask(secs, c, &tc.allocate().1);
            assert!(tc.learn(&Message::parse(&resp).unwrap()));
        }
        let (_, req) = tc.request(Method::ALLOCATE, |b| {
            b.attribute(stun::REQUESTED_TRANSPORT, &[stun::TRANSPORT_UDP, 0, 0, 0]);
            extra(b);
        });
        self.ask(secs, c, &req)
    }

    fn close_session(&mut self, secs: u64, c: ClientId) -> Vec<Output> {
        let mut out = Vec::new();
        let now = self.at(secs);
        self.server.session_closed(now, c, &mut out);
        out
    }

    fn tick(&mut self, secs: u64) -> Vec<Output> {
        let mut out = Vec::new();
        let now = self.at(secs);
        self.server.handle_timeout(now, &mut out);
        out
    }
}

fn ticket_refresh(tc: &TurnClient, ticket: &[u8]) -> Vec<u8> {
    tc.request(Method::REFRESH, |b| {
        b.attribute(stun::MOBILITY_TICKET, ticket);
    })
    .1
}

#[test]
fn ticket_moves_the_allocation_and_a_closed_session_keeps_it_for_the_grace() {
    let mut h = harness(open_policy());
    let (ca, cb) = (
        stream_client(1, ClientTransport::Tcp),
        stream_client(2, ClientTransport::WebSocket),
    );
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.allocate_with(0, ca, &mut tc, |b| {
        b.attribute(stun::MOBILITY_TICKET, &[]);
    });
    let m = Message::parse(&resp).unwrap();
    let relay = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    let ticket = m.attribute(stun::MOBILITY_TICKET).unwrap().to_vec();
    assert_eq!(ticket.len(), TICKET_LEN);
    let peer: SocketAddr = "198.51.100.20:7000".parse().unwrap();
    assert_eq!(h.code(1, ca, &tc.channel_bind(0x4001, peer).1), None);
    // The TCP connection drops: kept, but only for the 60 s grace.
    assert!(h.close_session(10, ca).is_empty());
    assert_eq!(h.server.allocations().len(), 1);
    // The client is back on a WebSocket 30 s later.
    let resp = h.ask(40, cb, &ticket_refresh(&tc, &ticket));
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success, "{:?}", m.error_code());
    assert_ne!(m.attribute(stun::MOBILITY_TICKET), Some(&ticket[..]));
    assert!(h.server.allocations().get(&ca).is_none());
    let a = h.server.allocations().get(&cb).unwrap();
    assert_eq!(a.relay_public, relay);
    // Channel kept, and now padded for a stream transport.
    let mut out = Vec::new();
    h.server
        .handle_peer(h.at(41), relay, peer, b"hello", &mut out);
    assert_eq!(
        out,
        vec![Output::ToClient {
            client: cb,
            data: vec![0x40, 0x01, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]
        }]
    );
    // The refresh gave a full lifetime again: past the old grace, still there.
    assert!(h.tick(80).is_empty());
    // The old ticket is spent.
    let cc = stream_client(3, ClientTransport::Tcp);
    assert_eq!(h.code(90, cc, &ticket_refresh(&tc, &ticket)), Some(400));
    // Closed and never back: freed when the grace runs out.
    assert!(h.close_session(100, cb).is_empty());
    assert!(h.tick(159).is_empty());
    assert_eq!(h.tick(160), vec![Output::CloseRelay { relay }]);
}

#[test]
fn session_without_ticket_or_with_mobility_off_frees_at_once() {
    for mobility in [true, false] {
        let mut h = harness(TurnConfig {
            mobility,
            ..open_policy()
        });
        let c = stream_client(1, ClientTransport::WebTransport);
        let mut tc = TurnClient::new("alice", "pw");
        let relay = h.allocate(0, c, &mut tc);
        assert_eq!(h.close_session(1, c), vec![Output::CloseRelay { relay }]);
        let c2 = stream_client(2, ClientTransport::WebTransport);
        let mut t2 = TurnClient::new("alice", "pw");
        let resp = h.allocate_with(2, c2, &mut t2, |b| {
            b.attribute(stun::MOBILITY_TICKET, &[]);
        });
        let code = Message::parse(&resp).unwrap().error_code().map(|e| e.0);
        assert_eq!(code, if mobility { None } else { Some(405) });
    }
}

#[test]
fn dual_stack_gets_two_relays_and_routes_per_family() {
    let mut h = harness(TurnConfig {
        external_ips: vec!["2001:db8::99".parse().unwrap()],
        ..open_policy()
    });
    h.sockets.v6 = true;
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.allocate_with(0, c, &mut tc, |b| {
        b.attribute(
            stun::ADDITIONAL_ADDRESS_FAMILY,
            &[stun::FAMILY_IPV6, 0, 0, 0],
        );
    });
    let m = Message::parse(&resp).unwrap();
    let relays = m.xor_addresses(XOR_RELAYED_ADDRESS).unwrap();
    assert_eq!(relays.len(), 2, "{relays:?}");
    let (r4, r6_public) = (relays[0], relays[1]);
    assert_eq!(r4.ip().to_string(), "203.0.113.1");
    // The IPv6-only external address applies to the IPv6 half only.
    assert_eq!(r6_public.ip().to_string(), "2001:db8::99");
    let r6_local = SocketAddr::new("2001:db8::1".parse().unwrap(), r6_public.port());
    let p6: SocketAddr = "[2001:db8::5]:9000".parse().unwrap();
    let p4: SocketAddr = "198.51.100.5:9000".parse().unwrap();
    assert_eq!(h.code(1, c, &tc.create_permission(p6).1), None);
    let out = h.feed(2, c, &TurnClient::send_indication(p6, b"six"));
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay: r6_local,
            peer: p6,
            data: b"six".to_vec()
        }]
    );
    // No permission for the IPv4 peer: dropped on either relayed address.
    let mut out = Vec::new();
    h.server.handle_peer(h.at(3), r4, p4, b"x", &mut out);
    assert!(out.is_empty());
    h.server.handle_peer(h.at(3), r6_local, p6, b"in", &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn refresh_zero_closes_both_halves() {
    let mut h = harness(open_policy());
    h.sockets.v6 = true;
    let c = client(1);
    let mut tc = TurnClient::new("alice", "pw");
    h.allocate_with(0, c, &mut tc, |b| {
        b.attribute(
            stun::ADDITIONAL_ADDRESS_FAMILY,
            &[stun::FAMILY_IPV6, 0, 0, 0],
        );
    });
    let out = h.feed(1, c, &tc.refresh(0).1);
    let closes = out
        .iter()
        .filter(|o| matches!(o, Output::CloseRelay { .. }))
        .count();
    assert_eq!(closes, 2);
}

#[test]
fn no_free_port_is_508() {
    let mut h = harness(open_policy());
    h.sockets.exhausted = true;
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.allocate_with(0, client(1), &mut tc, |_| {});
    let code = Message::parse(&resp).unwrap().error_code().map(|e| e.0);
    assert_eq!(code, Some(508));
    assert!(h.server.allocations().is_empty());
}

#[test]
fn user_bandwidth_is_shared_by_the_users_allocations() {
    let mut h = harness(TurnConfig {
        max_user_bytes_per_sec: Some(100_000),
        ..open_policy()
    });
    let peer: SocketAddr = "198.51.100.20:7000".parse().unwrap();
    let mut sent = 0;
    for port in [1, 2] {
        let c = client(port);
        let mut tc = TurnClient::new("alice", "pw");
        h.allocate(0, c, &mut tc);
        assert_eq!(h.code(0, c, &tc.channel_bind(0x4000, peer).1), None);
        let frame = TurnClient::channel_data(0x4000, &[0; 1000], false);
        sent += (0..50).filter(|_| !h.feed(1, c, &frame).is_empty()).count();
    }
    // One 65,536-byte burst for both allocations.
    assert_eq!(sent, 65);
    assert_eq!(h.server.metrics.user_bandwidth_dropped.load(Relaxed), 35);
    // Bob is not limited by Alice.
    let c = client(3);
    let mut tb = TurnClient::new("bob", "pw");
    h.allocate(1, c, &mut tb);
    assert_eq!(h.code(1, c, &tb.channel_bind(0x4000, peer).1), None);
    let frame = TurnClient::channel_data(0x4000, &[0; 1000], false);
    assert_eq!(h.feed(1, c, &frame).len(), 1);
}

#[test]
fn external_ip_parsing() {
    let e: ExternalIp = "203.0.113.5/10.0.0.5".parse().unwrap();
    assert_eq!(e.private, Some("10.0.0.5".parse().unwrap()));
    assert!("203.0.113.5/::1".parse::<ExternalIp>().is_err());
    assert!("nope".parse::<ExternalIp>().is_err());
    assert_eq!("2001:db8::1".parse::<ExternalIp>().unwrap().private, None);
}

#[test]
fn draft_dual_stack_attribute_is_answered_in_kind() {
    let mut h = harness(open_policy());
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.allocate_with(0, client(1), &mut tc, |b| {
        b.attribute(
            stun::ADDITIONAL_ADDRESS_FAMILY_DRAFT,
            &[stun::FAMILY_IPV6, 0, 0, 0],
        );
    });
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success);
    // No IPv6 here: the refusal comes back under the draft number too.
    let aec = m.attribute(stun::ADDRESS_ERROR_CODE_DRAFT).unwrap();
    assert_eq!(aec.get(..4), Some(&[stun::FAMILY_IPV6, 0, 4, 40][..]));
    assert!(!m.has(stun::ADDRESS_ERROR_CODE));
}

#[test]
fn reservation_token_keeps_the_reserved_family() {
    let mut h = harness(open_policy());
    h.sockets.v6 = true;
    let mut tc = TurnClient::new("alice", "pw");
    let resp = h.allocate_with(0, client(1), &mut tc, |b| {
        b.attribute(
            stun::REQUESTED_ADDRESS_FAMILY,
            &[stun::FAMILY_IPV6, 0, 0, 0],
        )
        .attribute(stun::EVEN_PORT, &[0x80, 0, 0, 0]);
    });
    let m = Message::parse(&resp).unwrap();
    let even = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    let token = m.attribute(stun::RESERVATION_TOKEN).unwrap().to_vec();
    // The RTCP allocation names no family (RFC 8656 §7.2) and gets the odd IPv6 port.
    let resp = h.allocate_with(1, client(2), &mut tc, |b| {
        b.attribute(stun::RESERVATION_TOKEN, &token);
    });
    let m = Message::parse(&resp).unwrap();
    let odd = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    assert!(odd.is_ipv6());
    assert_eq!(odd.port(), even.port() + 1);
}

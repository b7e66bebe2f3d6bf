//! IPv6 and dual-stack allocations (RFC 8656 §7.2, RFC 6156) over real
//! sockets on ::1 and 127.0.0.1. Tests needing ::1 print SKIPPED and return
//! when the host has no IPv6 loopback (`unshare -n` + `ip link set lo up`
//! gives one).

mod common;

use common::{allocate_with, ipv6_loopback_available, peer_recv, Conn, Kind};
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::framing::ChannelData;
use polyrtc_relay::stun::{self, Class, Message, Method, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS};
use std::net::SocketAddr;
use tokio::net::{TcpStream, UdpSocket};

const V4: [u8; 4] = [stun::FAMILY_IPV4, 0, 0, 0];
const V6: [u8; 4] = [stun::FAMILY_IPV6, 0, 0, 0];

async fn data_indication(c: &mut Conn) -> (SocketAddr, Vec<u8>) {
    let m = c.recv().await;
    let msg = Message::parse(&m).unwrap();
    assert_eq!((msg.class, msg.method), (Class::Indication, Method::DATA));
    (
        msg.xor_address(XOR_PEER_ADDRESS).unwrap().unwrap(),
        msg.attribute(stun::DATA).unwrap().to_vec(),
    )
}

#[tokio::test]
async fn dual_stack_allocation_relays_both_families() {
    if !ipv6_loopback_available("dual_stack_allocation_relays_both_families") {
        return;
    }
    let s = common::start(|c| {
        c.relay_ips = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    })
    .await;
    for kind in [Kind::Udp, Kind::Tcp] {
        let p4 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let p6 = UdpSocket::bind("[::1]:0").await.unwrap();
        let (a4, a6) = (p4.local_addr().unwrap(), p6.local_addr().unwrap());
        let mut c = Conn::open(kind, &s).await;
        let mut tc = TurnClient::new("user", "pass");
        let resp = allocate_with(&mut c, &mut tc, |b| {
            b.attribute(stun::ADDITIONAL_ADDRESS_FAMILY, &V6);
        })
        .await;
        let m = Message::parse(&resp).unwrap();
        let relays = m.xor_addresses(XOR_RELAYED_ADDRESS).unwrap();
        assert!(!m.has(stun::ADDRESS_ERROR_CODE));
        let [r4, r6] = relays.as_slice() else {
            panic!("two relayed addresses, got {relays:?}")
        };
        let (r4, r6) = (*r4, *r6);
        assert_eq!(r4.ip().to_string(), "127.0.0.1");
        assert_eq!(r6.ip().to_string(), "::1");
        assert_eq!(c.code(&tc.create_permission(a4).1).await, None);
        assert_eq!(c.code(&tc.channel_bind(0x4001, a6).1).await, None);
        // Each peer is reached from the relayed address of its family.
        c.send(&TurnClient::send_indication(a4, b"v4 out")).await;
        assert_eq!(peer_recv(&p4).await, (b"v4 out".to_vec(), r4));
        let stream = c.is_stream();
        c.send(&TurnClient::channel_data(0x4001, b"v6 out", stream))
            .await;
        assert_eq!(peer_recv(&p6).await, (b"v6 out".to_vec(), r6));
        p4.send_to(b"v4 in", r4).await.unwrap();
        assert_eq!(data_indication(&mut c).await, (a4, b"v4 in".to_vec()));
        p6.send_to(b"v6 in", r6).await.unwrap();
        let m = c.recv().await;
        let cd = ChannelData::parse(&m).unwrap();
        assert_eq!((cd.channel, cd.data), (0x4001, &b"v6 in"[..]), "{kind:?}");
        // Deleting frees both sockets.
        assert_eq!(c.code(&tc.refresh(0).1).await, None);
    }
    assert_eq!(s.allocation_count(), 0);
    s.shutdown().await;
}

#[tokio::test]
async fn ipv6_listeners_and_an_ipv6_only_relay() {
    if !ipv6_loopback_available("ipv6_listeners_and_an_ipv6_only_relay") {
        return;
    }
    let s = common::start(|c| {
        c.listen = Some("[::1]:0".parse().unwrap());
        c.ws_listen = None;
        c.relay_ips = vec!["::1".parse().unwrap()];
    })
    .await;
    let peer = UdpSocket::bind("[::1]:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let udp = UdpSocket::bind("[::1]:0").await.unwrap();
    let tcp = TcpStream::connect(s.tcp_addr.unwrap()).await.unwrap();
    for mut c in [
        Conn::Udp(udp, s.udp_addr.unwrap()),
        Conn::Tcp(tcp, Vec::new()),
    ] {
        let resp = c.ask(&TurnClient::binding()).await;
        let mapped = Message::parse(&resp)
            .unwrap()
            .xor_address(stun::XOR_MAPPED_ADDRESS)
            .unwrap()
            .unwrap();
        assert_eq!(mapped.ip().to_string(), "::1");
        let mut tc = TurnClient::new("user", "pass");
        // No IPv4 relay address configured: the default family is refused.
        let resp = c.ask(&tc.allocate().1).await;
        tc.learn(&Message::parse(&resp).unwrap());
        assert_eq!(c.code(&tc.allocate().1).await, Some(440));
        let resp = allocate_with(&mut c, &mut tc, |b| {
            b.attribute(stun::REQUESTED_ADDRESS_FAMILY, &V6);
        })
        .await;
        let relay = Message::parse(&resp)
            .unwrap()
            .xor_address(XOR_RELAYED_ADDRESS)
            .unwrap()
            .unwrap();
        assert_eq!(relay.ip().to_string(), "::1");
        let v4_peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(c.code(&tc.create_permission(v4_peer).1).await, Some(443));
        assert_eq!(c.code(&tc.create_permission(peer_addr).1).await, None);
        c.send(&TurnClient::send_indication(peer_addr, b"over v6"))
            .await;
        assert_eq!(peer_recv(&peer).await, (b"over v6".to_vec(), relay));
        peer.send_to(b"back", relay).await.unwrap();
        assert_eq!(data_indication(&mut c).await, (peer_addr, b"back".to_vec()));
    }
    s.shutdown().await;
}

/// 440 and 443 where the relay has no IPv6 address (no ::1 needed).
#[tokio::test]
async fn address_family_errors_on_an_ipv4_only_relay() {
    let s = common::start(|_| {}).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let resp = c.ask(&tc.allocate().1).await;
    tc.learn(&Message::parse(&resp).unwrap());
    let ask = |attrs: Vec<(u16, [u8; 4])>| {
        tc.request(Method::ALLOCATE, move |b| {
            b.attribute(stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0]);
            for (t, v) in &attrs {
                b.attribute(*t, v);
            }
        })
        .1
    };
    let req6 = ask(vec![(stun::REQUESTED_ADDRESS_FAMILY, V6)]);
    assert_eq!(c.code(&req6).await, Some(440));
    let unknown = ask(vec![(stun::REQUESTED_ADDRESS_FAMILY, [3, 0, 0, 0])]);
    assert_eq!(c.code(&unknown).await, Some(440));
    let both = ask(vec![
        (stun::REQUESTED_ADDRESS_FAMILY, V4),
        (stun::ADDITIONAL_ADDRESS_FAMILY, V6),
    ]);
    assert_eq!(c.code(&both).await, Some(400));
    let additional_v4 = ask(vec![(stun::ADDITIONAL_ADDRESS_FAMILY, V4)]);
    assert_eq!(c.code(&additional_v4).await, Some(400));
    // Dual stack asked, IPv4 granted, the IPv6 half refused in ADDRESS-ERROR-CODE.
    let resp = c
        .ask(&ask(vec![(stun::ADDITIONAL_ADDRESS_FAMILY, V6)]))
        .await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success);
    assert_eq!(m.xor_addresses(XOR_RELAYED_ADDRESS).unwrap().len(), 1);
    let aec = m.attribute(stun::ADDRESS_ERROR_CODE).unwrap();
    assert_eq!(aec.get(..4), Some(&[stun::FAMILY_IPV6, 0, 4, 40][..]));
    // The allocation has no IPv6 side: v6 peers are 443. A Refresh naming
    // IPv6 still refreshes it (coturn's turnutils_uclient -Z sends one).
    let v6_peer: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
    assert_eq!(c.code(&tc.create_permission(v6_peer).1).await, Some(443));
    assert_eq!(c.code(&tc.channel_bind(0x4000, v6_peer).1).await, Some(443));
    let (_, refresh6) = tc.request(Method::REFRESH, |b| {
        b.attribute(stun::REQUESTED_ADDRESS_FAMILY, &V6);
    });
    assert_eq!(c.code(&refresh6).await, None);
    assert_eq!(c.code(&tc.refresh(600).1).await, None);
    s.shutdown().await;
}

/// A `[::]` listener is dual-stack: IPv4 clients show as themselves, not as
/// `::ffff:127.0.0.1`, and are answered over UDP and TCP.
#[tokio::test]
async fn unspecified_ipv6_listener_serves_ipv4_clients() {
    if !ipv6_loopback_available("unspecified_ipv6_listener_serves_ipv4_clients") {
        return;
    }
    let s = common::start(|c| {
        c.listen = Some("[::]:0".parse().unwrap());
        c.relay_ips = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let port = s.udp_addr.unwrap().port();
    let v4: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = TcpStream::connect(v4).await.unwrap();
    for mut c in [Conn::Udp(udp, v4), Conn::Tcp(tcp, Vec::new())] {
        let mut tc = TurnClient::new("user", "pass");
        let resp = allocate_with(&mut c, &mut tc, |_| {}).await;
        let m = Message::parse(&resp).unwrap();
        let mapped = m.xor_address(stun::XOR_MAPPED_ADDRESS).unwrap().unwrap();
        assert_eq!(mapped.ip().to_string(), "127.0.0.1");
        assert_eq!(c.code(&tc.refresh(600).1).await, None);
    }
    s.shutdown().await;
}

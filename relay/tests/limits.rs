//! Per-user bandwidth, capacity errors and advertised external addresses,
//! over real sockets on 127.0.0.1.

mod common;

use common::{peer_recv, Conn, Kind};
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::stun::{Message, XOR_MAPPED_ADDRESS, XOR_RELAYED_ADDRESS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Count datagrams per source until the peer has been quiet for 300 ms.
async fn count_by_source(peer: UdpSocket) -> HashMap<SocketAddr, usize> {
    let mut counts = HashMap::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok((_, from))) =
        tokio::time::timeout(Duration::from_millis(300), peer.recv_from(&mut buf)).await
    {
        *counts.entry(from).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn per_user_bandwidth_drops_over_all_of_a_users_allocations() {
    // 10 kB/s per user; the bucket holds a burst of 64 KiB.
    let s = common::start(|c| {
        c.turn.max_user_bytes_per_sec = Some(10_000);
        c.users.push(("other".into(), "pw".into()));
    })
    .await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut conns = Vec::new();
    for (user, pw) in [("user", "pass"), ("user", "pass"), ("other", "pw")] {
        let mut c = Conn::open(Kind::Udp, &s).await;
        let mut tc = TurnClient::new(user, pw);
        let relay = c.allocate(&mut tc).await;
        assert_eq!(c.code(&tc.channel_bind(0x4000, peer_addr).1).await, None);
        conns.push((c, relay));
    }
    let counter = tokio::spawn(count_by_source(peer));
    let frame = TurnClient::channel_data(0x4000, &[7; 1000], false);
    // 50 datagrams of 1,000 bytes from each allocation, in small bursts so
    // no socket buffer overflows on a loaded machine.
    for _ in 0..10 {
        for (c, _) in conns.iter_mut() {
            for _ in 0..5 {
                c.send(&frame).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let counts = counter.await.unwrap();
    let got = |i: usize| counts.get(&conns[i].1).copied().unwrap_or(0);
    let user_total = got(0) + got(1);
    // "user" shares one 65,536-byte burst (+ ~2 kB refill) over both allocations.
    assert!((60..=72).contains(&user_total), "user got {user_total}");
    assert!(
        got(0) > 0 && got(1) > 0,
        "both allocations used the shared budget"
    );
    assert_eq!(got(2), 50, "other user has its own budget");
    let dropped = s.metrics().user_bandwidth_dropped.load(Relaxed) as usize;
    assert_eq!(
        dropped + user_total,
        100,
        "every excess datagram dropped and counted"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn total_capacity_is_508_and_user_quota_486() {
    let s = common::start(|c| {
        c.turn.quotas.total = 2;
        c.turn.quotas.per_user = 1;
        c.users.push(("other".into(), "pw".into()));
        c.users.push(("third".into(), "pw".into()));
    })
    .await;
    let mut a = Conn::open(Kind::Udp, &s).await;
    let mut ta = TurnClient::new("user", "pass");
    a.allocate(&mut ta).await;
    let mut b = Conn::open(Kind::Udp, &s).await;
    assert_eq!(b.code(&ta.allocate().1).await, Some(486), "user quota");
    let mut tb = TurnClient::new("other", "pw");
    b.allocate(&mut tb).await;
    let mut c = Conn::open(Kind::Tcp, &s).await;
    let mut tc = TurnClient::new("third", "pw");
    let resp = c.ask(&tc.allocate().1).await;
    tc.learn(&Message::parse(&resp).unwrap());
    assert_eq!(c.code(&tc.allocate().1).await, Some(508), "server full");
    // Room again once one is deleted.
    assert_eq!(a.code(&ta.refresh(0).1).await, None);
    assert_eq!(c.code(&tc.allocate().1).await, None);
    assert!(s.metrics().allocations_rejected_quota.load(Relaxed) >= 2);
    s.shutdown().await;
}

async fn relayed_and_mapped(ext: &[&str]) -> (SocketAddr, SocketAddr, SocketAddr) {
    let ext: Vec<_> = ext.iter().map(|e| e.parse().unwrap()).collect();
    let s = common::start(|c| c.turn.external_ips = ext).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut c = Conn::open(Kind::Udp, &s).await;
    let Conn::Udp(sock, _) = &c else {
        unreachable!()
    };
    let client_addr = sock.local_addr().unwrap();
    let mut tc = TurnClient::new("user", "pass");
    let resp = c.ask(&tc.allocate().1).await;
    tc.learn(&Message::parse(&resp).unwrap());
    let resp = c.ask(&tc.allocate().1).await;
    let m = Message::parse(&resp).unwrap();
    let relayed = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    let mapped = m.xor_address(XOR_MAPPED_ADDRESS).unwrap().unwrap();
    assert_eq!(mapped, client_addr, "reflexive address is never rewritten");
    // The socket itself is on 127.0.0.1 whatever is advertised.
    assert_eq!(c.code(&tc.create_permission(peer_addr).1).await, None);
    c.send(&TurnClient::send_indication(peer_addr, b"x")).await;
    let (_, bound) = peer_recv(&peer).await;
    assert_eq!(bound.ip().to_string(), "127.0.0.1");
    assert_eq!(bound.port(), relayed.port());
    s.shutdown().await;
    (relayed, mapped, bound)
}

#[tokio::test]
async fn external_ip_is_mapped_per_relay_address() {
    // PUBLIC/PRIVATE for our relay IP: advertised.
    let (relayed, _, _) = relayed_and_mapped(&["203.0.113.7/127.0.0.1", "2001:db8::7"]).await;
    assert_eq!(relayed.ip().to_string(), "203.0.113.7");
    // A mapping for another private address does not apply.
    let (relayed, _, bound) = relayed_and_mapped(&["203.0.113.9/10.9.9.9"]).await;
    assert_eq!(relayed, bound);
    // PUBLIC alone applies to every relay address of its family.
    let (relayed, _, _) = relayed_and_mapped(&["2001:db8::8", "203.0.113.8"]).await;
    assert_eq!(relayed.ip().to_string(), "203.0.113.8");
}

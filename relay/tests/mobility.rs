//! MOBILITY-TICKET (RFC 8016) over real sockets: an allocation follows its
//! client to a new TCP connection or WebSocket session.

mod common;

use common::{allocate_with, eventually, peer_recv, Conn, Kind};
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::framing::ChannelData;
use polyrtc_relay::stun::{self, Class, Message, Method, XOR_RELAYED_ADDRESS};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Allocate asking for a ticket; (relayed address, ticket).
async fn allocate_mobile(c: &mut Conn, tc: &mut TurnClient) -> (SocketAddr, Vec<u8>) {
    let resp = allocate_with(c, tc, |b| {
        b.attribute(stun::MOBILITY_TICKET, &[]);
    })
    .await;
    let m = Message::parse(&resp).unwrap();
    let relay = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();
    let ticket = m
        .attribute(stun::MOBILITY_TICKET)
        .expect("a ticket")
        .to_vec();
    assert!(!ticket.is_empty());
    (relay, ticket)
}

fn refresh_with_ticket(tc: &TurnClient, ticket: &[u8]) -> Vec<u8> {
    tc.request(Method::REFRESH, |b| {
        b.u32_attribute(stun::LIFETIME, 600)
            .attribute(stun::MOBILITY_TICKET, ticket);
    })
    .1
}

/// Refresh with the ticket on `c`; the new ticket.
async fn move_to(c: &mut Conn, tc: &TurnClient, ticket: &[u8]) -> Vec<u8> {
    let resp = c.ask(&refresh_with_ticket(tc, ticket)).await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success, "refresh: {:?}", m.error_code());
    assert_eq!(m.verify_integrity(&tc.key().unwrap().0), Some(true));
    let next = m.attribute(stun::MOBILITY_TICKET).expect("a new ticket");
    assert_ne!(next, ticket, "each move issues a new ticket");
    next.to_vec()
}

/// Data both ways through channel 0x4001 on `c`, from the same relayed address.
async fn data_both_ways(c: &mut Conn, peer: &UdpSocket, relay: SocketAddr) {
    peer.send_to(b"to client", relay).await.unwrap();
    let m = c.recv().await;
    let cd = ChannelData::parse(&m).unwrap();
    assert_eq!((cd.channel, cd.data), (0x4001, &b"to client"[..]));
    c.send(&TurnClient::channel_data(0x4001, b"to peer", true))
        .await;
    assert_eq!(peer_recv(peer).await, (b"to peer".to_vec(), relay));
}

#[tokio::test]
async fn ticket_moves_a_tcp_allocation_to_a_new_connection() {
    let s = common::start(|_| {}).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut first = Conn::open(Kind::Tcp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let (relay, ticket) = allocate_mobile(&mut first, &mut tc).await;
    assert_eq!(
        first.code(&tc.channel_bind(0x4001, peer_addr).1).await,
        None
    );
    data_both_ways(&mut first, &peer, relay).await;

    let mut second = Conn::open(Kind::Tcp, &s).await;
    let next = move_to(&mut second, &tc, &ticket).await;
    // Same relayed address, channel and permission, now on the new connection.
    data_both_ways(&mut second, &peer, relay).await;
    assert_eq!(s.metrics().mobility_moves.load(Relaxed), 1);
    // The old connection no longer owns it: closing it frees nothing, and a
    // plain Refresh from it is 437.
    assert_eq!(first.code(&tc.refresh(600).1).await, Some(437));
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.allocation_count(), 1);
    data_both_ways(&mut second, &peer, relay).await;
    // The superseded ticket no longer works; the new one does (same 5-tuple).
    let mut third = Conn::open(Kind::Tcp, &s).await;
    assert_eq!(
        third.code(&refresh_with_ticket(&tc, &ticket)).await,
        Some(400)
    );
    move_to(&mut second, &tc, &next).await;
    s.shutdown().await;
}

#[tokio::test]
async fn ticket_keeps_a_websocket_allocation_across_sessions() {
    let s = common::start(|_| {}).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut first = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let (relay, ticket) = allocate_mobile(&mut first, &mut tc).await;
    assert_eq!(
        first.code(&tc.channel_bind(0x4001, peer_addr).1).await,
        None
    );
    // The session ends (page reload, network change): the allocation stays.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.allocation_count(), 1, "kept for its ticket");
    let mut second = Conn::open(Kind::Ws, &s).await;
    move_to(&mut second, &tc, &ticket).await;
    data_both_ways(&mut second, &peer, relay).await;
    // Without a ticket, closing a session still frees at once.
    let mut plain = Conn::open(Kind::Ws, &s).await;
    let mut tp = TurnClient::new("user", "pass");
    plain.allocate(&mut tp).await;
    assert_eq!(s.allocation_count(), 2);
    drop(plain);
    assert!(eventually(|| s.allocation_count() == 1).await);
    s.shutdown().await;
}

#[tokio::test]
async fn ticketed_allocation_is_freed_after_the_grace_period() {
    let s = common::start(|c| c.turn.mobility_grace = Duration::from_secs(1)).await;
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    allocate_mobile(&mut c, &mut tc).await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.allocation_count(), 1);
    // The one-second timer frees it within grace + 1 s.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert!(common::eventually(|| s.allocation_count() == 0).await);
    s.shutdown().await;
}

#[tokio::test]
async fn bad_ticket_is_400_and_another_users_credentials_441() {
    let s = common::start(|c| c.users.push(("other".into(), "pw".into()))).await;
    let mut c = Conn::open(Kind::Tcp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let (_, ticket) = allocate_mobile(&mut c, &mut tc).await;
    let mut fresh = Conn::open(Kind::Tcp, &s).await;
    let mut forged = ticket.clone();
    if let Some(last) = forged.last_mut() {
        *last ^= 0x55;
    }
    assert_eq!(
        fresh.code(&refresh_with_ticket(&tc, &forged)).await,
        Some(400)
    );
    assert_eq!(
        fresh.code(&refresh_with_ticket(&tc, b"short")).await,
        Some(400)
    );
    let mut other = TurnClient::new("other", "pw");
    other.realm = tc.realm.clone();
    other.nonce = tc.nonce.clone();
    assert_eq!(
        fresh.code(&refresh_with_ticket(&other, &ticket)).await,
        Some(441)
    );
    // A 5-tuple that already has its own allocation cannot take another: 437.
    let mut busy = Conn::open(Kind::Tcp, &s).await;
    let mut tb = TurnClient::new("user", "pass");
    busy.allocate(&mut tb).await;
    assert_eq!(
        busy.code(&refresh_with_ticket(&tc, &ticket)).await,
        Some(437)
    );
    // None of this moved or broke the original.
    assert_eq!(c.code(&tc.refresh(600).1).await, None);
    s.shutdown().await;
}

#[tokio::test]
async fn mobility_disabled_is_405_and_sessions_free_at_once() {
    let s = common::start(|c| c.turn.mobility = false).await;
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let resp = c.ask(&tc.allocate().1).await;
    tc.learn(&Message::parse(&resp).unwrap());
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(stun::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .attribute(stun::MOBILITY_TICKET, &[]);
    });
    assert_eq!(c.code(&req).await, Some(405));
    assert_eq!(c.code(&tc.allocate().1).await, None);
    assert_eq!(
        c.code(&refresh_with_ticket(&tc, &[b'A'; 32])).await,
        Some(405)
    );
    drop(c);
    assert!(eventually(|| s.allocation_count() == 0).await);
    s.shutdown().await;
}

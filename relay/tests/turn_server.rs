//! The relay over real sockets on 127.0.0.1, started in-process on port 0.

mod common;

use common::{http_get, start, ws_connect, Conn, Kind, ALL};
use polyrtc_relay::auth::rest_password;
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::framing::ChannelData;
use polyrtc_relay::stun::{self, Class, Message, Method, XOR_MAPPED_ADDRESS, XOR_PEER_ADDRESS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

#[tokio::test]
async fn binding_over_udp_tcp_and_websocket() {
    let s = start(|_| {}).await;
    for kind in ALL {
        let mut c = Conn::open(kind, &s).await;
        let resp = c.ask(&TurnClient::binding()).await;
        let m = Message::parse(&resp).unwrap();
        assert_eq!(
            (m.class, m.method),
            (Class::Success, Method::BINDING),
            "{kind:?}"
        );
        let mapped = m.xor_address(XOR_MAPPED_ADDRESS).unwrap().unwrap();
        assert_eq!(mapped.ip().to_string(), "127.0.0.1", "{kind:?}");
        assert!(m.has(stun::FINGERPRINT), "fingerprint echoed");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn allocate_challenge_then_success_on_every_transport() {
    let s = start(|_| {}).await;
    let mut open = Vec::new();
    for kind in ALL {
        let mut c = Conn::open(kind, &s).await;
        let mut tc = TurnClient::new("user", "pass");
        let relay = c.allocate(&mut tc).await;
        assert_eq!(relay.ip().to_string(), "127.0.0.1");
        assert_ne!(relay.port(), 0);
        open.push(c);
    }
    assert_eq!(s.allocation_count(), 3);
    // Closing the TCP and WebSocket connections frees theirs at once.
    open.truncate(1);
    assert!(common::eventually(|| s.allocation_count() == 1).await);
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_401() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "wrong");
    let m0 = c.ask(&tc.allocate().1).await;
    assert!(tc.learn(&Message::parse(&m0).unwrap()));
    let resp = c.ask(&tc.allocate().1).await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.error_code().map(|e| e.0), Some(401));
    assert!(m.has(stun::NONCE) && m.has(stun::REALM));
    assert!(
        s.metrics()
            .auth_failures
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    s.shutdown().await;
}

#[tokio::test]
async fn stale_nonce_is_438_and_the_new_nonce_works() {
    let s = start(|c| c.turn.nonce_lifetime = Duration::from_secs(1)).await;
    let mut c = Conn::open(Kind::Tcp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    // A nonce the server never issued.
    let mut forged = tc.clone();
    forged.nonce = Some("0-00112233445566778899aabb".into());
    assert_eq!(c.code(&forged.refresh(600).1).await, Some(438));
    // Ours, once it has aged past its lifetime.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = c.ask(&tc.refresh(600).1).await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.error_code().map(|e| e.0), Some(438));
    assert!(tc.learn(&m));
    assert_eq!(c.code(&tc.refresh(600).1).await, None);
    s.shutdown().await;
}

#[tokio::test]
async fn refresh_with_lifetime_zero_deletes_the_allocation() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    assert_eq!(s.allocation_count(), 1);
    let resp = c.ask(&tc.refresh(0).1).await;
    let m = Message::parse(&resp).unwrap();
    assert_eq!(m.class, Class::Success);
    assert_eq!(m.u32_attribute(stun::LIFETIME).unwrap(), Some(0));
    assert_eq!(s.allocation_count(), 0);
    assert_eq!(c.code(&tc.refresh(600).1).await, Some(437));
    s.shutdown().await;
}

async fn data_indication_from(c: &mut Conn) -> (SocketAddr, Vec<u8>) {
    let m = c.recv().await;
    let msg = Message::parse(&m).unwrap();
    assert_eq!((msg.class, msg.method), (Class::Indication, Method::DATA));
    (
        msg.xor_address(XOR_PEER_ADDRESS).unwrap().unwrap(),
        msg.attribute(stun::DATA).unwrap().to_vec(),
    )
}

#[tokio::test]
async fn send_indication_reaches_a_udp_peer_and_its_reply_is_a_data_indication() {
    let s = start(|_| {}).await;
    for kind in ALL {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let mut c = Conn::open(kind, &s).await;
        let mut tc = TurnClient::new("user", "pass");
        let relay = c.allocate(&mut tc).await;
        assert_eq!(
            c.code(&tc.create_permission(peer_addr).1).await,
            None,
            "{kind:?}"
        );
        c.send(&TurnClient::send_indication(peer_addr, b"to peer"))
            .await;
        let mut buf = [0u8; 1500];
        let (n, from) = tokio::time::timeout(common::TIMEOUT, peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"to peer");
        assert_eq!(from, relay, "the peer sees the relayed address");
        peer.send_to(b"to client", relay).await.unwrap();
        assert_eq!(
            data_indication_from(&mut c).await,
            (peer_addr, b"to client".to_vec()),
            "{kind:?}"
        );
    }
    s.shutdown().await;
}

#[tokio::test]
async fn channel_bind_and_channel_data_both_ways() {
    let s = start(|_| {}).await;
    for kind in ALL {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let mut c = Conn::open(kind, &s).await;
        let mut tc = TurnClient::new("user", "pass");
        let relay = c.allocate(&mut tc).await;
        assert_eq!(c.code(&tc.channel_bind(0x4001, peer_addr).1).await, None);
        let stream = c.is_stream();
        c.send(&TurnClient::channel_data(0x4001, b"odd", stream))
            .await;
        let mut buf = [0u8; 1500];
        let (n, from) = tokio::time::timeout(common::TIMEOUT, peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], from), (&b"odd"[..], relay));
        peer.send_to(b"hello", relay).await.unwrap();
        let m = c.recv().await;
        let cd = ChannelData::parse(&m).unwrap();
        assert_eq!((cd.channel, cd.data), (0x4001, &b"hello"[..]), "{kind:?}");
        // Stream transports pad ChannelData to 4 bytes (RFC 8656 §12.5).
        assert_eq!(m.len(), if stream { 12 } else { 9 }, "{kind:?}");
        // Rebinding the channel to another peer is refused.
        let other: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(c.code(&tc.channel_bind(0x4001, other).1).await, Some(400));
    }
    s.shutdown().await;
}

#[tokio::test]
async fn loopback_peer_is_forbidden_without_the_flag() {
    let s = start(|c| c.turn.peer_policy.allow_loopback = false).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    assert_eq!(c.code(&tc.create_permission(peer).1).await, Some(403));
    assert_eq!(c.code(&tc.channel_bind(0x4000, peer).1).await, Some(403));
    let private: SocketAddr = "10.1.2.3:5000".parse().unwrap();
    assert_eq!(c.code(&tc.create_permission(private).1).await, Some(403));
    s.shutdown().await;
}

#[tokio::test]
async fn second_allocate_on_the_same_five_tuple_is_437() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    assert_eq!(c.code(&tc.allocate().1).await, Some(437));
    let mut fresh = Conn::open(Kind::Udp, &s).await;
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(fresh.code(&tc.create_permission(peer).1).await, Some(437));
    s.shutdown().await;
}

#[tokio::test]
async fn tcp_relaying_is_442() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let m0 = c.ask(&tc.allocate().1).await;
    tc.learn(&Message::parse(&m0).unwrap());
    let (_, req) = tc.request(Method::ALLOCATE, |b| {
        b.attribute(stun::REQUESTED_TRANSPORT, &[6, 0, 0, 0]);
    });
    assert_eq!(c.code(&req).await, Some(442));
    let (_, req) = tc.request(Method::ALLOCATE, |_| {});
    assert_eq!(c.code(&req).await, Some(400), "REQUESTED-TRANSPORT missing");
    s.shutdown().await;
}

#[tokio::test]
async fn quota_is_486_per_user_and_frees_with_the_allocation() {
    let s = start(|c| c.turn.quotas.per_user = 1).await;
    let mut a = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    a.allocate(&mut tc).await;
    let mut b = Conn::open(Kind::Udp, &s).await;
    assert_eq!(b.code(&tc.allocate().1).await, Some(486));
    assert_eq!(a.code(&tc.refresh(0).1).await, None);
    assert_eq!(b.code(&tc.allocate().1).await, None);
    s.shutdown().await;
}

#[tokio::test]
async fn peer_family_mismatch_is_443() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Udp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    let v6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
    assert_eq!(c.code(&tc.create_permission(v6).1).await, Some(443));
    s.shutdown().await;
}

#[tokio::test]
async fn other_user_on_the_same_five_tuple_is_441() {
    let s = start(|c| c.users.push(("other".into(), "pw".into()))).await;
    let mut c = Conn::open(Kind::Tcp, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    let mut other = TurnClient::new("other", "pw");
    other.realm = tc.realm.clone();
    other.nonce = tc.nonce.clone();
    assert_eq!(c.code(&other.refresh(600).1).await, Some(441));
    s.shutdown().await;
}

#[tokio::test]
async fn time_limited_credentials_over_websocket() {
    let s = start(|c| c.static_auth_secrets = vec!["s3cret".into()]).await;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let username = format!("{}:page-42", unix + 600);
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new(&username, &rest_password("s3cret", &username));
    c.allocate(&mut tc).await;
    // Expired credentials are refused.
    let old = format!("{}:page-42", unix - 1);
    let mut c2 = Conn::open(Kind::Ws, &s).await;
    let mut tc2 = TurnClient::new(&old, &rest_password("s3cret", &old));
    let m0 = c2.ask(&tc2.allocate().1).await;
    tc2.learn(&Message::parse(&m0).unwrap());
    assert_eq!(c2.code(&tc2.allocate().1).await, Some(401));
    s.shutdown().await;
}

#[tokio::test]
async fn websocket_frames_carry_several_messages_each_way() {
    let s = start(|_| {}).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    let relay = c.allocate(&mut tc).await;
    assert_eq!(c.code(&tc.channel_bind(0x4002, peer_addr).1).await, None);
    // Eight ChannelData messages in one frame.
    let mut frame = Vec::new();
    for i in 0..8u8 {
        frame.extend_from_slice(&ChannelData::encode(0x4002, &[i; 5], true));
    }
    c.send(&frame).await;
    let mut buf = [0u8; 1500];
    for i in 0..8u8 {
        let (n, _) = tokio::time::timeout(common::TIMEOUT, peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], &[i; 5]);
    }
    for i in 0..8u8 {
        peer.send_to(&[i; 3], relay).await.unwrap();
    }
    for i in 0..8u8 {
        let m = c.recv().await;
        assert_eq!(ChannelData::parse(&m).unwrap().data, &[i; 3]);
    }
    s.shutdown().await;
}

#[tokio::test]
async fn closing_the_websocket_frees_its_allocation() {
    let s = start(|_| {}).await;
    let mut c = Conn::open(Kind::Ws, &s).await;
    let mut tc = TurnClient::new("user", "pass");
    c.allocate(&mut tc).await;
    assert_eq!(s.allocation_count(), 1);
    drop(c);
    assert!(common::eventually(|| s.allocation_count() == 0).await);
    s.shutdown().await;
}

#[tokio::test]
async fn metrics_health_and_origin_allow_list() {
    let s = start(|c| c.ws_allowed_origins = vec!["https://app.example".into()]).await;
    let ws = s.ws_addr.unwrap();
    assert!(http_get(ws, "/health", "")
        .await
        .starts_with("HTTP/1.1 200"));
    let mut c = Conn::open(Kind::Udp, &s).await;
    c.ask(&TurnClient::binding()).await;
    let metrics = http_get(ws, "/metrics", "").await;
    assert!(
        metrics.contains("turn_requests_total{transport=\"udp\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE turn_allocations_active gauge"));
    assert!(http_get(ws, "/nope", "").await.starts_with("HTTP/1.1 404"));
    assert!(ws_connect(ws, "/turn", Some("https://evil.example"))
        .await
        .is_err());
    assert!(ws_connect(ws, "/turn", None).await.is_err());
    let mut ok = ws_connect(ws, "/", Some("https://app.example"))
        .await
        .unwrap();
    use futures_util::{SinkExt, StreamExt};
    ok.send(tokio_tungstenite::tungstenite::Message::Binary(
        TurnClient::binding(),
    ))
    .await
    .unwrap();
    let reply = tokio::time::timeout(common::TIMEOUT, ok.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(Message::parse(&reply.into_data()).is_ok());
    s.shutdown().await;
}

#[tokio::test]
async fn garbage_on_tcp_closes_the_connection_but_not_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = start(|_| {}).await;
    let mut t = tokio::net::TcpStream::connect(s.tcp_addr.unwrap())
        .await
        .unwrap();
    t.write_all(&[0xff; 64]).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(common::TIMEOUT, t.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed");
    let mut c = Conn::open(Kind::Udp, &s).await;
    c.ask(&TurnClient::binding()).await;
    s.shutdown().await;
}

/// Two clients of one relay (the polyfill↔polyfill case): each allocation's
/// relayed address is the other's peer, through the kernel or handed over
/// inside the relay, with the same result.
#[tokio::test]
async fn two_allocations_reach_each_other_with_and_without_the_shortcut() {
    for shortcut in [true, false] {
        let s = start(|c| {
            c.turn.intra_relay_shortcut = shortcut;
            c.turn.peer_policy.allow_loopback = false;
        })
        .await;
        let mut a = Conn::open(Kind::Ws, &s).await;
        let mut b = Conn::open(Kind::Udp, &s).await;
        let (mut ta, mut tb) = (
            TurnClient::new("user", "pass"),
            TurnClient::new("user", "pass"),
        );
        let ra = a.allocate(&mut ta).await;
        let rb = b.allocate(&mut tb).await;
        // Loopback peers are refused, but another allocation of this relay is not.
        assert_eq!(a.code(&ta.channel_bind(0x4000, rb).1).await, None);
        assert_eq!(b.code(&tb.create_permission(ra).1).await, None);
        a.send(&TurnClient::channel_data(0x4000, b"from a", true))
            .await;
        assert_eq!(
            data_indication_from(&mut b).await,
            (ra, b"from a".to_vec()),
            "shortcut {shortcut}"
        );
        b.send(&TurnClient::send_indication(ra, b"from b")).await;
        let m = a.recv().await;
        let cd = ChannelData::parse(&m).unwrap();
        assert_eq!(
            (cd.channel, cd.data),
            (0x4000, &b"from b"[..]),
            "shortcut {shortcut}"
        );
        let shortcut_count = s
            .metrics()
            .intra_relay_packets
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(shortcut_count > 0, shortcut);
        s.shutdown().await;
    }
}

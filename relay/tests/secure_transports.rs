//! TLS (`turns:`), `wss://`, WebTransport, `/webtransport` and `/credentials`
//! over real sockets on 127.0.0.1.

mod common;

use common::secure::{http, json_body, webtransport_info, wt_connect, TestCert, Via};
use common::{start, Conn, TIMEOUT};
use polyrtc_relay::certs::RotationPolicy;
use polyrtc_relay::client::TurnClient;
use polyrtc_relay::config::Config;
use polyrtc_relay::framing::ChannelData;
use polyrtc_relay::server::RunningServer;
use polyrtc_relay::stun::{self, Class, Message, Method, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

fn with_cert(c: &mut Config, cert: &TestCert) {
    c.secure.tls_cert = Some(cert.cert.clone());
    c.secure.tls_key = Some(cert.key.clone());
}

async fn peer_recv(peer: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = tokio::time::timeout(TIMEOUT, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

fn metric(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// Allocate, CreatePermission + Send/Data, ChannelBind + ChannelData both ways.
async fn full_round_trip(c: &mut Conn) {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut tc = TurnClient::new("user", "pass");
    let relay = c.allocate(&mut tc).await;
    assert_eq!(c.code(&tc.create_permission(peer_addr).1).await, None);
    c.send(&TurnClient::send_indication(peer_addr, b"to peer"))
        .await;
    assert_eq!(peer_recv(&peer).await, (b"to peer".to_vec(), relay));
    peer.send_to(b"to client", relay).await.unwrap();
    let m = c.recv().await;
    let msg = Message::parse(&m).unwrap();
    assert_eq!((msg.class, msg.method), (Class::Indication, Method::DATA));
    assert_eq!(msg.xor_address(XOR_PEER_ADDRESS).unwrap(), Some(peer_addr));
    assert_eq!(msg.attribute(stun::DATA), Some(&b"to client"[..]));
    assert_eq!(c.code(&tc.channel_bind(0x4001, peer_addr).1).await, None);
    c.send(&TurnClient::channel_data(0x4001, b"odd", true))
        .await;
    assert_eq!(peer_recv(&peer).await, (b"odd".to_vec(), relay));
    peer.send_to(b"hello", relay).await.unwrap();
    let m = c.recv().await;
    let cd = ChannelData::parse(&m).unwrap();
    assert_eq!((cd.channel, cd.data), (0x4001, &b"hello"[..]));
    assert_eq!(m.len(), 12, "padded as on TCP (RFC 8656 §12.5)");
}

async fn wait_for_allocations(s: &RunningServer, n: usize) {
    for _ in 0..100 {
        if s.allocation_count() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.allocation_count(), n);
}

#[tokio::test]
async fn turn_over_tls_relays_both_ways_and_checks_passwords() {
    let cert = TestCert::new("tls").await;
    let s = start(|c| {
        with_cert(c, &cert);
        c.secure.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut c = Conn::open_tls(&s, &cert).await;
    full_round_trip(&mut c).await;
    // Wrong password: 401 again after the challenge.
    let mut bad = Conn::open_tls(&s, &cert).await;
    let mut tc = TurnClient::new("user", "wrong");
    let m0 = bad.ask(&tc.allocate().1).await;
    assert!(tc.learn(&Message::parse(&m0).unwrap()));
    assert_eq!(bad.code(&tc.allocate().1).await, Some(401));
    let metrics = http(s.ws_addr.unwrap(), "GET", "/metrics", "").await;
    assert!(
        metric(
            &metrics,
            "turn_allocations_created_total{transport=\"tls\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metric(&metrics, "turn_connections_active{transport=\"tls\"} 2"),
        "{metrics}"
    );
    drop(c);
    wait_for_allocations(&s, 0).await;
    s.shutdown().await;
}

#[tokio::test]
async fn wss_relays_both_ways_and_applies_the_origin_allow_list() {
    let cert = TestCert::new("wss").await;
    let s = start(|c| {
        with_cert(c, &cert);
        c.secure.wss_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let mut c = Conn::open_wss(&s, &cert).await;
    full_round_trip(&mut c).await;
    let metrics = http(s.ws_addr.unwrap(), "GET", "/metrics", "").await;
    assert!(
        metric(
            &metrics,
            "turn_allocations_created_total{transport=\"wss\"} 1"
        ),
        "{metrics}"
    );
    s.shutdown().await;

    let s = start(|c| {
        with_cert(c, &cert);
        c.secure.wss_listen = Some("127.0.0.1:0".parse().unwrap());
        c.ws_allowed_origins = vec!["https://app.example".into()];
    })
    .await;
    let wss = s.wss_addr.unwrap();
    let refused = cert
        .wss(wss, Some("https://evil.example"))
        .await
        .err()
        .unwrap();
    assert!(refused.contains("403"), "{refused}");
    assert!(cert.wss(wss, None).await.is_err());
    let mut ok = Conn::Wss(
        cert.wss(wss, Some("https://app.example")).await.unwrap(),
        Default::default(),
    );
    let resp = ok.ask(&TurnClient::binding()).await;
    assert_eq!(Message::parse(&resp).unwrap().class, Class::Success);
    s.shutdown().await;
}

fn wt_config(c: &mut Config) {
    c.secure.wt_listen = Some("127.0.0.1:0".parse().unwrap());
    c.turn.quotas.per_user = 1;
}

#[tokio::test]
async fn webtransport_datagrams_streams_and_session_close() {
    let s = start(wt_config).await;
    let (url, hashes, doc) = webtransport_info(s.ws_addr.unwrap()).await;
    assert_eq!(
        url,
        format!("https://127.0.0.1:{}/turn", s.wt_addr.unwrap().port())
    );
    assert_eq!(hashes.len(), 1);
    assert!(doc["expires"].as_u64().unwrap() > 1_700_000_000);
    let mut wt = wt_connect(&url, hashes.clone(), None).await.unwrap();
    // The served certificate is the published one.
    let served = wt.conn.peer_identity().unwrap();
    assert_eq!(served.as_slice()[0].hash(), hashes[0]);

    // Allocate over datagrams: 401, then success, replies as datagrams.
    let mut tc = TurnClient::new("user", "pass");
    let (via, m0) = wt.ask(&tc.allocate().1, Via::Datagram).await;
    assert_eq!(via, Via::Datagram);
    assert!(tc.learn(&Message::parse(&m0).unwrap()));
    let (_, m) = wt.ask(&tc.allocate().1, Via::Datagram).await;
    let m = Message::parse(&m).unwrap();
    assert_eq!(m.class, Class::Success, "{:?}", m.error_code());
    let relay = m.xor_address(XOR_RELAYED_ADDRESS).unwrap().unwrap();

    // A request on the stream is answered on the stream.
    let (via, m) = wt.ask(&TurnClient::binding(), Via::Stream).await;
    assert_eq!(
        (via, Message::parse(&m).unwrap().class),
        (Via::Stream, Class::Success)
    );

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let (_, m) = wt
        .ask(&tc.channel_bind(0x4002, peer_addr).1, Via::Datagram)
        .await;
    assert_eq!(Message::parse(&m).unwrap().class, Class::Success);
    // Small ChannelData: one datagram each way.
    wt.send_datagram(&TurnClient::channel_data(0x4002, b"small", false));
    assert_eq!(peer_recv(&peer).await, (b"small".to_vec(), relay));
    peer.send_to(b"back", relay).await.unwrap();
    let (via, m) = wt.recv().await;
    assert_eq!(via, Via::Datagram);
    assert_eq!(ChannelData::parse(&m).unwrap().data, b"back");
    // Oversize: 1,500 bytes exceed any QUIC datagram here; the stream carries them.
    let big: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
    assert!(big.len() + 4 > wt.max_datagram());
    wt.send(&TurnClient::channel_data(0x4002, &big, true)).await;
    assert_eq!(peer_recv(&peer).await, (big.clone(), relay));
    peer.send_to(&big, relay).await.unwrap();
    let (via, m) = wt.recv().await;
    assert_eq!(via, Via::Stream);
    assert_eq!(ChannelData::parse(&m).unwrap().data, &big[..]);

    let metrics = http(s.ws_addr.unwrap(), "GET", "/metrics", "").await;
    assert!(
        metric(
            &metrics,
            "turn_allocations_created_total{transport=\"webtransport\"} 1"
        ),
        "{metrics}"
    );
    // Quota 1 per user: a second session is refused while the first lives,
    // and succeeds once closing the first freed its allocation.
    let mut wt2 = wt_connect(&url, hashes.clone(), None).await.unwrap();
    let mut tc2 = TurnClient::new("user", "pass");
    let (_, m0) = wt2.ask(&tc2.allocate().1, Via::Datagram).await;
    assert!(tc2.learn(&Message::parse(&m0).unwrap()));
    let (_, m) = wt2.ask(&tc2.allocate().1, Via::Datagram).await;
    assert_eq!(
        Message::parse(&m).unwrap().error_code().map(|e| e.0),
        Some(486)
    );
    wt.conn.close(wtransport::VarInt::from_u32(0), b"bye");
    drop(wt);
    wait_for_allocations(&s, 0).await;
    let (_, m) = wt2.ask(&tc2.allocate().1, Via::Datagram).await;
    assert_eq!(Message::parse(&m).unwrap().class, Class::Success);
    s.shutdown().await;
}

#[tokio::test]
async fn webtransport_refuses_wrong_hashes_foreign_origins_and_other_paths() {
    let s = start(|c| {
        wt_config(c);
        c.ws_allowed_origins = vec!["https://app.example".into()];
    })
    .await;
    let ws = s.ws_addr.unwrap();
    let (url, hashes, _) = webtransport_info(ws).await;
    let wrong = wtransport::tls::Sha256Digest::new([7; 32]);
    assert!(wt_connect(&url, vec![wrong], Some("https://app.example"))
        .await
        .is_err());
    assert!(
        wt_connect(&url, hashes.clone(), Some("https://evil.example"))
            .await
            .is_err()
    );
    let other = url.replace("/turn", "/other");
    assert!(
        wt_connect(&other, hashes.clone(), Some("https://app.example"))
            .await
            .is_err()
    );
    let mut ok = wt_connect(&url, hashes, Some("https://app.example"))
        .await
        .unwrap();
    let (_, m) = ok.ask(&TurnClient::binding(), Via::Datagram).await;
    assert_eq!(Message::parse(&m).unwrap().class, Class::Success);
    // CORS on the hash document follows the same allow-list.
    let allowed = http(
        ws,
        "GET",
        "/webtransport",
        "Origin: https://app.example\r\n",
    )
    .await;
    assert!(
        allowed.contains("Access-Control-Allow-Origin: https://app.example\r\n"),
        "{allowed}"
    );
    let refused = http(
        ws,
        "GET",
        "/webtransport",
        "Origin: https://evil.example\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    s.shutdown().await;
}

#[tokio::test]
async fn minted_credentials_are_accepted_and_the_key_is_required() {
    let s = start(|c| {
        c.static_auth_secrets = vec!["s3cret".into()];
        c.secure.credentials_api_key = Some("op-key".into());
        c.secure.credentials_uris = vec!["turn:127.0.0.1:3478".into()];
    })
    .await;
    let ws = s.ws_addr.unwrap();
    let none = http(ws, "POST", "/credentials?user=alice", "").await;
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    let wrong = http(
        ws,
        "POST",
        "/credentials?user=alice",
        "Authorization: Bearer nope\r\n",
    )
    .await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let resp = http(
        ws,
        "POST",
        "/credentials?user=alice&ttl=600",
        "Authorization: Bearer op-key\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let v = json_body(&resp);
    assert_eq!(v["ttl"], 600);
    assert_eq!(v["uris"][0], "turn:127.0.0.1:3478");
    let username = v["username"].as_str().unwrap();
    assert!(username.ends_with(":alice"), "{username}");
    let mut c = Conn::open(common::Kind::Udp, &s).await;
    let mut tc = TurnClient::new(username, v["password"].as_str().unwrap());
    c.allocate(&mut tc).await;
    // GET works too; a tampered password does not.
    let get = http(
        ws,
        "GET",
        "/credentials?user=bob",
        "Authorization: Bearer op-key\r\n",
    )
    .await;
    let v = json_body(&get);
    let mut c2 = Conn::open(common::Kind::Udp, &s).await;
    let mut bad = TurnClient::new(v["username"].as_str().unwrap(), "AAAA");
    let m0 = c2.ask(&bad.allocate().1).await;
    assert!(bad.learn(&Message::parse(&m0).unwrap()));
    assert_eq!(c2.code(&bad.allocate().1).await, Some(401));
    s.shutdown().await;
}

#[tokio::test]
async fn endpoints_are_absent_when_not_configured() {
    let s = start(|_| {}).await;
    let ws = s.ws_addr.unwrap();
    assert!(http(ws, "GET", "/webtransport", "")
        .await
        .starts_with("HTTP/1.1 404"));
    assert!(http(
        ws,
        "POST",
        "/credentials?user=a",
        "Authorization: Bearer x\r\n"
    )
    .await
    .starts_with("HTTP/1.1 404"));
    assert!(http(ws, "POST", "/metrics", "")
        .await
        .starts_with("HTTP/1.1 405"));
    s.shutdown().await;
}

#[tokio::test]
async fn certificate_rotation_announces_switches_and_keeps_live_sessions() {
    let s = start(|c| {
        wt_config(c);
        c.secure.wt_rotation = RotationPolicy {
            rotate_every: Duration::from_millis(3000),
            announce_ahead: Duration::from_millis(1000),
            ..RotationPolicy::default()
        };
    })
    .await;
    let ws = s.ws_addr.unwrap();
    let (url, first, _) = webtransport_info(ws).await;
    assert_eq!(first.len(), 1);
    let mut old = wt_connect(&url, first.clone(), None).await.unwrap();
    // Announced: the current hash first, the next one beside it.
    // Schedule from start: announce at 2 s, switch at 3 s, next announce at 4 s.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, both, _) = webtransport_info(ws).await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], first[0]);
    // Switched: only the new certificate, which new sessions get.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, after, _) = webtransport_info(ws).await;
    assert_eq!(after, vec![both[1].clone()]);
    assert!(wt_connect(&url, first.clone(), None).await.is_err());
    let fresh = wt_connect(&url, both.clone(), None).await.unwrap();
    assert_eq!(
        fresh.conn.peer_identity().unwrap().as_slice()[0].hash(),
        both[1]
    );
    // The session opened before the switch still works.
    let (_, m) = old.ask(&TurnClient::binding(), Via::Datagram).await;
    assert_eq!(Message::parse(&m).unwrap().class, Class::Success);
    s.shutdown().await;
}

//! Entry points for fuzzers and the in-tree bounded fuzz test: every parser
//! the network reaches, fed arbitrary bytes, must return without panicking.

use crate::allocation::{ClientId, ClientTransport};
use crate::auth::{Authenticator, Credentials, NonceIssuer};
use crate::framing;
use crate::metrics::Metrics;
use crate::stun::{self, Class, Message, MessageBuilder, Method};
use crate::turn::{AddressFamily, Output, PeerPolicy, RelaySockets, TurnConfig, TurnServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// STUN parsing plus every typed accessor.
pub fn fuzz_stun(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        for a in &m.attributes {
            let _ = m.xor_address(a.typ);
            let _ = m.u32_attribute(a.typ);
            let _ = m.string_attribute(a.typ);
        }
        let _ = m.error_code();
        let _ = m.verify_integrity(b"key");
    }
    let _ = framing::ChannelData::parse(data);
}

/// The stream / WebSocket framing path.
pub fn fuzz_stream_framing(data: &[u8]) {
    for frame in framing::split_frames(data) {
        match frame {
            Ok(f) => fuzz_stun(f),
            Err(_) => break,
        }
    }
}

struct FakeSockets(u16);

impl RelaySockets for FakeSockets {
    fn supports(&self, _: AddressFamily) -> bool {
        true
    }
    fn open(&mut self, f: AddressFamily, _: bool) -> std::io::Result<SocketAddr> {
        self.0 = self.0.wrapping_add(1);
        Ok(match f {
            AddressFamily::V4 => SocketAddr::from(([192, 0, 2, 1], self.0)),
            AddressFamily::V6 => SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], self.0)),
        })
    }
    fn open_pair(&mut self, f: AddressFamily) -> std::io::Result<SocketAddr> {
        let a = self.open(f, true)?;
        self.0 = self.0.wrapping_add(1);
        Ok(a)
    }
    fn dont_fragment(&mut self, _: SocketAddr) -> std::io::Result<()> {
        Ok(())
    }
}

/// A whole TURN server fed `data` as client messages (split as a WebSocket
/// frame) and as a peer datagram, with auth off so requests reach the
/// allocation logic.
pub fn fuzz_server(data: &[u8]) {
    let now = Instant::now();
    let cfg = TurnConfig {
        auth_enabled: false,
        peer_policy: PeerPolicy {
            allow_loopback: true,
            allow_private: true,
            own_addresses: vec![],
        },
        ..TurnConfig::default()
    };
    let auth = Authenticator {
        realm: cfg.realm.clone(),
        credentials: Credentials::new(&cfg.realm, &[], vec![]),
        nonces: NonceIssuer::new([0; 32], 600),
    };
    let mut server = TurnServer::new(cfg, auth, Arc::new(Metrics::default()), now, 0);
    let client = ClientId {
        transport: ClientTransport::WebSocket,
        remote: SocketAddr::from(([198, 51, 100, 1], 5000)),
        local: SocketAddr::from(([192, 0, 2, 1], 443)),
        conn: 1,
    };
    let mut sockets = FakeSockets(40000);
    let mut out: Vec<Output> = Vec::new();
    for frame in framing::split_frames(data) {
        match frame {
            Ok(f) => server.handle_client(now, client, f, &mut sockets, &mut out),
            Err(_) => break,
        }
    }
    server.handle_client(now, client, data, &mut sockets, &mut out);
    // RFC 8016: if an Allocate earned a ticket, the session closes and a
    // second one presents it, so the move path runs on fuzzed state too.
    let ticket = out.iter().find_map(|o| match o {
        Output::ToClient { data, .. } => Message::parse(data)
            .ok()
            .filter(|m| m.class == Class::Success)
            .and_then(|m| m.attribute(stun::MOBILITY_TICKET).map(<[u8]>::to_vec)),
        _ => None,
    });
    server.session_closed(now, client, &mut out);
    let moved = ClientId { conn: 2, ..client };
    if let Some(t) = ticket {
        let mut b = MessageBuilder::new(
            Class::Request,
            Method::REFRESH,
            stun::TransactionId([9; 12]),
        );
        b.attribute(stun::MOBILITY_TICKET, &t);
        server.handle_client(now, moved, &b.into_bytes(), &mut sockets, &mut out);
    }
    server.handle_client(now, moved, data, &mut sockets, &mut out);
    server.handle_peer(
        now,
        SocketAddr::from(([192, 0, 2, 1], 40001)),
        SocketAddr::from(([198, 51, 100, 2], 9)),
        data,
        &mut out,
    );
    server.handle_timeout(now + std::time::Duration::from_secs(4000), &mut out);
}

//! Chromium 156's real first flights, captured by `chromium_interop.rs` (re-capture with
//! `POLYRTC_UPDATE_FIXTURES=1`): its ClientHello, which offers DTLS 1.3 with an
//! X25519MLKEM768 key share and so spans two records, and its server flight. Our server must
//! answer the hello with a cookie and then negotiate DTLS 1.2; our parsers must read both.

use std::time::Instant;

use polyrtc_dtls::handshake::header::{fragment_message, parse_fragments};
use polyrtc_dtls::handshake::messages::{
    CertificateMsg, ClientHello, HelloVerifyRequest, ServerHello, ServerKeyExchange,
};
use polyrtc_dtls::handshake::reassembly::{Message, Reassembler};
use polyrtc_dtls::handshake::HandshakeType;
use polyrtc_dtls::record::{ContentType, Record, DTLS_1_0, DTLS_1_2};
use polyrtc_dtls::{Certificate, Config, Endpoint, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const CLIENT_HELLO: &[u8] = include_bytes!("fixtures/chromium156_client_hello.bin");
const SERVER_FLIGHT: &[u8] = include_bytes!("fixtures/chromium156_server_flight.bin");

/// Reassemble every epoch-0 handshake message in a run of records, numbered from the first.
fn messages(records: &[u8]) -> Vec<Message> {
    let mut r = Reassembler::new();
    for (i, rec) in Record::parse_datagram(records).into_iter().enumerate() {
        assert_eq!(rec.content_type, ContentType::Handshake);
        assert_eq!(rec.epoch, 0);
        for (h, piece) in parse_fragments(rec.fragment).unwrap() {
            if i == 0 {
                r.reset_to(h.message_seq);
            }
            r.offer(&h, piece, 0);
        }
    }
    std::iter::from_fn(|| r.pop()).collect()
}

/// The extension types of a ClientHello body, in order (our parser keeps only known ones).
fn extension_types(body: &[u8]) -> Vec<u16> {
    let mut at = 2 + 32;
    at += 1 + usize::from(body[at]); // session_id
    at += 1 + usize::from(body[at]); // cookie
    at += 2 + usize::from(u16::from_be_bytes([body[at], body[at + 1]])); // cipher_suites
    at += 1 + usize::from(body[at]); // compression_methods
    let end = at + 2 + usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    at += 2;
    let mut types = Vec::new();
    while at < end {
        types.push(u16::from_be_bytes([body[at], body[at + 1]]));
        at += 4 + usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
    }
    assert_eq!(at, body.len());
    types
}

/// The same ClientHello body with `cookie` in place of its (empty) cookie, as Chromium would
/// send it after our HelloVerifyRequest (RFC 6347 §4.2.1).
fn with_cookie(body: &[u8], cookie: &[u8]) -> Vec<u8> {
    let at = 2 + 32 + 1 + usize::from(body[34]);
    let old = usize::from(body[at]);
    let mut out = body[..at].to_vec();
    out.push(cookie.len() as u8);
    out.extend_from_slice(cookie);
    out.extend_from_slice(&body[at + 1 + old..]);
    out
}

fn records(msg_type: HandshakeType, seq: u16, body: &[u8], record_seq: u64) -> Vec<Vec<u8>> {
    fragment_message(msg_type, seq, body, 1175)
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut d = Vec::new();
            Record {
                content_type: ContentType::Handshake,
                version: DTLS_1_0,
                epoch: 0,
                sequence: record_seq + i as u64,
                fragment: f,
            }
            .encode(&mut d);
            d
        })
        .collect()
}

fn drain(server: &mut Endpoint) -> Vec<u8> {
    std::iter::from_fn(|| server.poll_datagram())
        .flatten()
        .collect()
}

#[test]
fn chromium_client_hello_is_a_fragmented_dtls13_capable_hello() {
    let recs = Record::parse_datagram(CLIENT_HELLO);
    assert!(
        recs.len() >= 2,
        "the post-quantum key share needs two records"
    );
    let msgs = messages(CLIENT_HELLO);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].msg_type, HandshakeType::ClientHello);
    let hello = ClientHello::parse(&msgs[0].body).unwrap();
    assert_eq!(hello.client_version, DTLS_1_2);
    assert!(hello.cookie.is_empty());
    assert!(hello.cipher_suites.contains(&0xcca9));
    assert!(hello.cipher_suites.contains(&0xc02b));
    assert!(hello.extensions.extended_master_secret);
    assert!(hello.extensions.use_srtp.is_some());
    let types = extension_types(&msgs[0].body);
    assert!(
        types.contains(&43),
        "supported_versions (DTLS 1.3 offered): {types:?}"
    );
    assert!(types.contains(&51), "key_share: {types:?}");
}

#[test]
fn our_server_answers_chromium_with_a_cookie_then_dtls_1_2() {
    let now = Instant::now();
    let cert = Certificate::generate(
        KeyAlgorithm::EcdsaP256,
        &mut ChaCha20Rng::seed_from_u64(1),
        1_795_564_800_000,
        86_400_000,
    )
    .unwrap();
    let mut server = Endpoint::new(
        Role::Server,
        Config::new(cert),
        ChaCha20Rng::seed_from_u64(2),
        now,
    );
    // As captured: each record was its own datagram.
    for rec in Record::parse_datagram(CLIENT_HELLO) {
        let mut d = Vec::new();
        rec.encode(&mut d);
        server.handle_datagram(now, &d);
    }
    let reply = messages(&drain(&mut server));
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].msg_type, HandshakeType::HelloVerifyRequest);
    let hvr = HelloVerifyRequest::parse(&reply[0].body).unwrap();
    assert!(!hvr.cookie.is_empty());

    let body = with_cookie(&messages(CLIENT_HELLO)[0].body, &hvr.cookie);
    for d in records(HandshakeType::ClientHello, 1, &body, 2) {
        server.handle_datagram(now, &d);
    }
    let flight = messages(&drain(&mut server));
    let types: Vec<HandshakeType> = flight.iter().map(|m| m.msg_type).collect();
    assert_eq!(
        types,
        [
            HandshakeType::ServerHello,
            HandshakeType::Certificate,
            HandshakeType::ServerKeyExchange,
            HandshakeType::CertificateRequest,
            HandshakeType::ServerHelloDone
        ]
    );
    let sh = ServerHello::parse(&flight[0].body).unwrap();
    assert_eq!(sh.server_version, DTLS_1_2);
    assert_eq!(
        sh.cipher_suite, 0xcca9,
        "ChaCha20-Poly1305, offered by Chromium"
    );
    assert!(sh.extensions.extended_master_secret);
    assert_eq!(sh.extensions.use_srtp, Some((vec![7], vec![])));
    // X25519: we cannot use Chromium's ML-KEM hybrid share.
    assert_eq!(
        ServerKeyExchange::parse(&flight[2].body)
            .unwrap()
            .named_group,
        29
    );
    assert!(server.poll_event().is_none());
}

#[test]
fn chromium_server_flight_parses() {
    let msgs = messages(SERVER_FLIGHT);
    let types: Vec<HandshakeType> = msgs.iter().map(|m| m.msg_type).collect();
    assert_eq!(
        types,
        [
            HandshakeType::ServerHello,
            HandshakeType::Certificate,
            HandshakeType::ServerKeyExchange,
            HandshakeType::CertificateRequest,
            HandshakeType::ServerHelloDone
        ]
    );
    let sh = ServerHello::parse(&msgs[0].body).unwrap();
    assert_eq!(sh.server_version, DTLS_1_2);
    assert!(sh.extensions.extended_master_secret);
    let chain = CertificateMsg::parse(&msgs[1].body).unwrap().chain;
    assert_eq!(chain.len(), 1, "WebRTC's self-signed certificate");
}

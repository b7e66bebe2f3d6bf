//! Our server against a ClientHello shaped like a current browser's: DTLS 1.3
//! supported_versions, a post-quantum key share that pushes the hello past one MTU (so it
//! arrives fragmented, here in reverse order), GREASE and TLS 1.3 suites. The server must
//! answer with a cookie, then negotiate DTLS 1.2 as configured.

use std::time::Instant;

use polyrtc_dtls::codec::{put_prefixed, put_u16, put_u16_list, put_vec8, Reader};
use polyrtc_dtls::extensions::{put_raw_extension, Extensions};
use polyrtc_dtls::handshake::header::{fragment_message, parse_fragments};
use polyrtc_dtls::handshake::messages::{HelloVerifyRequest, ServerHello, ServerKeyExchange};
use polyrtc_dtls::handshake::reassembly::Reassembler;
use polyrtc_dtls::handshake::HandshakeType;
use polyrtc_dtls::record::{ContentType, Record, DTLS_1_0, DTLS_1_2};
use polyrtc_dtls::{Certificate, Config, Endpoint, KeyAlgorithm, Role};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn browser_hello(cookie: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put_u16(&mut body, DTLS_1_2);
    body.extend_from_slice(&[0x42; 32]);
    put_vec8(&mut body, &[]);
    put_vec8(&mut body, cookie);
    put_u16_list(
        &mut body,
        &[
            0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc009, 0xc013, 0x009c,
            0x002f,
        ],
    );
    put_vec8(&mut body, &[0]);
    put_prefixed(&mut body, 2, |e| {
        put_raw_extension(e, 0x0a0a, &[]); // GREASE
        put_raw_extension(e, 0xff01, &[0]);
        put_raw_extension(e, 23, &[]);
        put_raw_extension(e, 10, &[0, 8, 0x11, 0xec, 0, 29, 0, 23, 0, 24]);
        put_raw_extension(e, 11, &[1, 0]);
        put_raw_extension(
            e,
            13,
            &[0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1],
        );
        put_raw_extension(e, 14, &[0, 8, 0, 7, 0, 8, 0, 1, 0, 2, 0]);
        put_raw_extension(e, 43, &[4, 0xfe, 0xfc, 0xfe, 0xfd]); // supported_versions
        put_raw_extension(e, 45, &[1, 1]); // psk_key_exchange_modes
        let mut ks = Vec::new();
        put_prefixed(&mut ks, 2, |k| {
            put_u16(k, 0x11ec); // X25519MLKEM768
            put_prefixed(k, 2, |k| k.extend_from_slice(&[0x55; 1216]));
            put_u16(k, 29);
            put_prefixed(k, 2, |k| k.extend_from_slice(&[0x09; 32]));
        });
        put_raw_extension(e, 51, &ks); // key_share
    });
    body
}

/// ClientHello as two records in two datagrams, delivered last fragment first.
fn send_hello(server: &mut Endpoint, now: Instant, seq: u16, record_seq: u64, body: &[u8]) {
    let frags = fragment_message(HandshakeType::ClientHello, seq, body, 1000);
    assert_eq!(frags.len(), 2);
    let mut datagrams: Vec<Vec<u8>> = frags
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
        .collect();
    datagrams.reverse();
    for d in datagrams {
        server.handle_datagram(now, &d);
    }
}

fn read_messages(server: &mut Endpoint, r: &mut Reassembler) -> Vec<(HandshakeType, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(d) = server.poll_datagram() {
        for rec in Record::parse_datagram(&d) {
            assert_eq!(rec.content_type, ContentType::Handshake);
            for (h, piece) in parse_fragments(rec.fragment).unwrap() {
                r.offer(&h, piece, 0);
            }
        }
    }
    while let Some(m) = r.pop() {
        out.push((m.msg_type, m.body));
    }
    out
}

#[test]
fn browser_like_hello_gets_a_cookie_then_dtls_1_2() {
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
    let hello = browser_hello(&[]);
    assert!(hello.len() > 1200, "the hello should need fragmenting");
    // The test's own parser accepts it too, ignoring what it does not know.
    let ext_start = 2 + 32 + 1 + 1 + 2 + 24 + 2;
    let ext = Extensions::parse(Reader::new(&hello[ext_start..]).vec16().unwrap()).unwrap();
    assert!(ext.extended_master_secret);

    send_hello(&mut server, now, 0, 0, &hello);
    let mut r = Reassembler::new();
    let msgs = read_messages(&mut server, &mut r);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, HandshakeType::HelloVerifyRequest);
    let hvr = HelloVerifyRequest::parse(&msgs[0].1).unwrap();

    send_hello(&mut server, now, 1, 2, &browser_hello(&hvr.cookie));
    let msgs = read_messages(&mut server, &mut r);
    let types: Vec<HandshakeType> = msgs.iter().map(|m| m.0).collect();
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
    let sh = ServerHello::parse(&msgs[0].1).unwrap();
    assert_eq!(sh.server_version, DTLS_1_2);
    assert_eq!(sh.cipher_suite, 0xcca9);
    assert!(sh.extensions.extended_master_secret);
    assert_eq!(sh.extensions.use_srtp, Some((vec![7], vec![])));
    assert_eq!(sh.extensions.renegotiation_info, Some(vec![]));
    let ske = ServerKeyExchange::parse(&msgs[2].1).unwrap();
    assert_eq!(ske.named_group, 29);
    assert!(server.poll_event().is_none());
}

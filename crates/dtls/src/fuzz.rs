//! Entry points for fuzzing the parsers where they live (cargo-fuzz targets call these; the
//! unit tests replay them on stable). None may panic, whatever the input.

use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::config::{Config, Role};
use crate::endpoint::Endpoint;
use crate::handshake::header::{encode_message, parse_fragments as split_fragments};
use crate::handshake::messages::{
    parse_finished, CertificateMsg, CertificateRequest, CertificateVerify, ClientHello,
    ClientKeyExchange, HelloVerifyRequest, ServerHello, ServerKeyExchange,
};
use crate::handshake::HandshakeType;
use crate::record::{ContentType, Record};

/// A datagram through the record and handshake-fragment parsers and every message parser.
pub fn parse_datagram(data: &[u8]) {
    for rec in Record::parse_datagram(data) {
        if let Ok(frags) = split_fragments(rec.fragment) {
            for (_, body) in frags {
                parse_message_bodies(body);
            }
        }
    }
}

/// The bytes as the body of a handshake record: a run of fragment headers and pieces.
pub fn parse_fragments(data: &[u8]) {
    if let Ok(frags) = split_fragments(data) {
        for (_, body) in frags {
            parse_message_bodies(body);
        }
    }
}

/// Every handshake message parser on the same bytes.
pub fn parse_message_bodies(body: &[u8]) {
    let _ = ClientHello::parse(body);
    let _ = ServerHello::parse(body);
    let _ = HelloVerifyRequest::parse(body);
    let _ = CertificateMsg::parse(body);
    let _ = ServerKeyExchange::parse(body);
    let _ = CertificateRequest::parse(body);
    let _ = ClientKeyExchange::parse(body);
    let _ = CertificateVerify::parse(body);
    let _ = parse_finished(body);
}

/// Datagrams into a server endpoint, 100 ms apart, with its timers run in between. `data` is a
/// sequence of datagrams, each prefixed by its length (u16, big-endian; see
/// [`encode_datagrams`]). The server's cookie is spliced into every whole cookie-less
/// ClientHello after the first HelloVerifyRequest, so inputs reach the states behind it.
/// Returns whether the handshake completed (for seeds that must get that far).
pub fn server_handshake(
    config: Config,
    rng: impl CryptoRngCore + Send + 'static,
    now: Instant,
    data: &[u8],
) -> bool {
    let mut server = Endpoint::new(Role::Server, config, rng, now);
    let mut cookie: Option<Vec<u8>> = None;
    let mut rest = data;
    let mut now = now;
    let mut connected = false;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (datagram, tail) = tail.split_at(len);
        rest = tail;
        match cookie.as_deref().and_then(|c| splice_cookie(datagram, c)) {
            Some(spliced) => server.handle_datagram(now, &spliced),
            None => server.handle_datagram(now, datagram),
        }
        while let Some(out) = server.poll_datagram() {
            cookie = cookie.or_else(|| hello_verify_cookie(&out));
        }
        while let Some(ev) = server.poll_event() {
            connected |= matches!(ev, crate::endpoint::Event::Connected { .. });
        }
        now += Duration::from_millis(100);
        server.handle_timeout(now);
    }
    connected
}

/// Length-prefix datagrams for [`server_handshake`].
pub fn encode_datagrams<'a>(datagrams: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for d in datagrams {
        let d = &d[..d.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(d.len() as u16).to_be_bytes());
        out.extend_from_slice(d);
    }
    out
}

fn hello_verify_cookie(datagram: &[u8]) -> Option<Vec<u8>> {
    let rec = Record::parse_datagram(datagram).into_iter().next()?;
    let (h, body) = split_fragments(rec.fragment).ok()?.into_iter().next()?;
    (h.msg_type == HandshakeType::HelloVerifyRequest)
        .then(|| HelloVerifyRequest::parse(body).ok().map(|m| m.cookie))
        .flatten()
}

/// `datagram` with `cookie` put into each unfragmented ClientHello that has none, if any.
fn splice_cookie(datagram: &[u8], cookie: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(datagram.len() + cookie.len());
    let mut changed = false;
    for rec in Record::parse_datagram(datagram) {
        let spliced = (rec.content_type == ContentType::Handshake && rec.epoch == 0)
            .then(|| split_fragments(rec.fragment).ok())
            .flatten()
            .and_then(|frags| match frags.as_slice() {
                [(h, body)]
                    if h.msg_type == HandshakeType::ClientHello
                        && h.fragment_offset == 0
                        && h.fragment_length == h.length =>
                {
                    let hello = ClientHello::parse(body).ok()?;
                    hello.cookie.is_empty().then(|| {
                        // version(2) random(32) session_id<0..32> cookie<0..255>
                        let at = 2 + 32 + 1 + hello.session_id.len();
                        let mut b = body[..at].to_vec();
                        b.push(cookie.len() as u8);
                        b.extend_from_slice(cookie);
                        b.extend_from_slice(&body[at + 1..]);
                        encode_message(HandshakeType::ClientHello, h.message_seq, &b)
                    })
                }
                _ => None,
            });
        changed |= spliced.is_some();
        match spliced {
            Some(fragment) => Record {
                fragment: &fragment,
                ..rec
            }
            .encode(&mut out),
            None => rec.encode(&mut out),
        }
    }
    changed.then_some(out)
}

/// DER certificate + PKCS#8 key as JS could hand them over.
pub fn certificate_from_der(data: &[u8]) {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let _ = crate::certificate::Certificate::from_der(b, a);
    let _ = crate::certificate::verify_with_certificate(
        data,
        b"m",
        a,
        crate::certificate::SignatureScheme::EcdsaSha256,
    );
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::certificate::{Certificate, KeyAlgorithm};

    #[test]
    fn server_handshake_gets_past_the_cookie() {
        let cert = |seed| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng, 1_795_564_800_000, 1000)
                .unwrap()
        };
        let now = Instant::now();
        let mut client = Endpoint::new(
            Role::Client,
            Config::new(cert(1)),
            ChaCha20Rng::seed_from_u64(2),
            now,
        );
        let hello = client.poll_datagram().unwrap();
        // The client's retry after a HelloVerifyRequest comes in a new record (the server's
        // replay window drops the same record sequence number twice).
        let mut retry = Vec::new();
        let rec = Record::parse_datagram(&hello).remove(0);
        Record { sequence: 1, ..rec }.encode(&mut retry);

        let mut server = Endpoint::new(
            Role::Server,
            Config::new(cert(3)),
            ChaCha20Rng::seed_from_u64(4),
            now,
        );
        server.handle_datagram(now, &hello);
        let hvr = server.poll_datagram().unwrap();
        let c = hello_verify_cookie(&hvr).expect("a HelloVerifyRequest");
        let spliced = splice_cookie(&retry, &c).expect("the hello takes the cookie");
        assert!(
            splice_cookie(&spliced, &c).is_none(),
            "a hello with a cookie stays"
        );
        server.handle_datagram(now, &spliced);
        let flight: Vec<u8> = std::iter::from_fn(|| server.poll_datagram())
            .flatten()
            .collect();
        assert!(flight.len() > 400, "flight 4 follows the spliced hello");

        // The same through the fuzz entry point, which must not panic.
        let input = encode_datagrams([hello.as_slice(), retry.as_slice()]);
        server_handshake(
            Config::new(cert(3)),
            ChaCha20Rng::seed_from_u64(4),
            now,
            &input,
        );
    }

    #[test]
    fn random_inputs_do_not_panic() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
        for i in 0..5000 {
            let mut d = vec![0u8; (rng.next_u32() % 400) as usize];
            rng.fill_bytes(&mut d);
            if i % 2 == 0 && d.len() > 26 {
                // Plausible record + handshake headers so the inner parsers get reached.
                d[0] = 22;
                d[1] = 0xfe;
                d[2] = 0xfd;
                let len = (d.len() - 13) as u16;
                d[11..13].copy_from_slice(&len.to_be_bytes());
                d[14] = 0;
                d[15] = 0;
                d[22] = 0;
                d[23] = 0;
            }
            super::parse_datagram(&d);
            super::parse_message_bodies(&d);
            super::certificate_from_der(&d);
        }
    }
}

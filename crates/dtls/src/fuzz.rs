//! Entry points for fuzzing the parsers where they live (cargo-fuzz targets call these; the
//! unit tests replay them on stable). None may panic, whatever the input.

use crate::handshake::header::parse_fragments;
use crate::handshake::messages::{
    parse_finished, CertificateMsg, CertificateRequest, CertificateVerify, ClientHello,
    ClientKeyExchange, HelloVerifyRequest, ServerHello, ServerKeyExchange,
};
use crate::record::Record;

/// A datagram through the record and handshake-fragment parsers and every message parser.
pub fn parse_datagram(data: &[u8]) {
    for rec in Record::parse_datagram(data) {
        if let Ok(frags) = parse_fragments(rec.fragment) {
            for (_, body) in frags {
                parse_message_bodies(body);
            }
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

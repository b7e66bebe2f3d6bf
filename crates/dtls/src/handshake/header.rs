//! The DTLS handshake message header (RFC 6347 §4.2.2) and fragmentation of a message into
//! pieces that fit a record budget (RFC 6347 §4.2.3).

use crate::codec::{put_u16, put_u24, put_u8, DecodeError, Reader};

/// msg_type(1) + length(3) + message_seq(2) + fragment_offset(3) + fragment_length(3).
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// RFC 5246 §7.4 HandshakeType, plus hello_verify_request (RFC 6347 §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeType {
    HelloRequest,
    ClientHello,
    ServerHello,
    HelloVerifyRequest,
    Certificate,
    ServerKeyExchange,
    CertificateRequest,
    ServerHelloDone,
    CertificateVerify,
    ClientKeyExchange,
    Finished,
}

impl HandshakeType {
    pub fn to_u8(self) -> u8 {
        match self {
            HandshakeType::HelloRequest => 0,
            HandshakeType::ClientHello => 1,
            HandshakeType::ServerHello => 2,
            HandshakeType::HelloVerifyRequest => 3,
            HandshakeType::Certificate => 11,
            HandshakeType::ServerKeyExchange => 12,
            HandshakeType::CertificateRequest => 13,
            HandshakeType::ServerHelloDone => 14,
            HandshakeType::CertificateVerify => 15,
            HandshakeType::ClientKeyExchange => 16,
            HandshakeType::Finished => 20,
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => HandshakeType::HelloRequest,
            1 => HandshakeType::ClientHello,
            2 => HandshakeType::ServerHello,
            3 => HandshakeType::HelloVerifyRequest,
            11 => HandshakeType::Certificate,
            12 => HandshakeType::ServerKeyExchange,
            13 => HandshakeType::CertificateRequest,
            14 => HandshakeType::ServerHelloDone,
            15 => HandshakeType::CertificateVerify,
            16 => HandshakeType::ClientKeyExchange,
            20 => HandshakeType::Finished,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    pub msg_type: HandshakeType,
    /// Length of the whole message body.
    pub length: u32,
    pub message_seq: u16,
    pub fragment_offset: u32,
    pub fragment_length: u32,
}

impl HandshakeHeader {
    pub fn parse(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let msg_type =
            HandshakeType::from_u8(r.u8()?).ok_or(DecodeError::Invalid("handshake type"))?;
        let h = HandshakeHeader {
            msg_type,
            length: r.u24()?,
            message_seq: r.u16()?,
            fragment_offset: r.u24()?,
            fragment_length: r.u24()?,
        };
        if u64::from(h.fragment_offset) + u64::from(h.fragment_length) > u64::from(h.length) {
            return Err(DecodeError::Invalid("fragment range"));
        }
        Ok(h)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, self.msg_type.to_u8());
        put_u24(out, self.length);
        put_u16(out, self.message_seq);
        put_u24(out, self.fragment_offset);
        put_u24(out, self.fragment_length);
    }
}

/// Parse every (header, fragment body) of a handshake record.
pub fn parse_fragments(record: &[u8]) -> Result<Vec<(HandshakeHeader, &[u8])>, DecodeError> {
    let mut r = Reader::new(record);
    let mut out = Vec::new();
    while !r.is_empty() {
        let h = HandshakeHeader::parse(&mut r)?;
        let body = r.take(h.fragment_length as usize)?;
        out.push((h, body));
    }
    Ok(out)
}

/// A whole message as the handshake transcript and its first transmission see it
/// (RFC 6347 §4.2.6: hashed as if sent in one fragment).
pub fn encode_message(msg_type: HandshakeType, message_seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
    HandshakeHeader {
        msg_type,
        length: body.len() as u32,
        message_seq,
        fragment_offset: 0,
        fragment_length: body.len() as u32,
    }
    .encode(&mut out);
    out.extend_from_slice(body);
    out
}

/// Split a message body into fragments (header + piece), each at most `max_fragment_len`
/// bytes including its 12-byte header. An empty body still yields one fragment.
pub fn fragment_message(
    msg_type: HandshakeType,
    message_seq: u16,
    body: &[u8],
    max_fragment_len: usize,
) -> Vec<Vec<u8>> {
    let piece = max_fragment_len.saturating_sub(HANDSHAKE_HEADER_LEN).max(1);
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let end = (offset + piece).min(body.len());
        let mut frag = Vec::with_capacity(HANDSHAKE_HEADER_LEN + end - offset);
        HandshakeHeader {
            msg_type,
            length: body.len() as u32,
            message_seq,
            fragment_offset: offset as u32,
            fragment_length: (end - offset) as u32,
        }
        .encode(&mut frag);
        frag.extend_from_slice(&body[offset..end]);
        out.push(frag);
        offset = end;
        if offset >= body.len() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = HandshakeHeader {
            msg_type: HandshakeType::Certificate,
            length: 1000,
            message_seq: 3,
            fragment_offset: 400,
            fragment_length: 600,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), HANDSHAKE_HEADER_LEN);
        assert_eq!(HandshakeHeader::parse(&mut Reader::new(&out)), Ok(h));
    }

    #[test]
    fn fragment_past_the_end_is_rejected() {
        let mut out = Vec::new();
        HandshakeHeader {
            msg_type: HandshakeType::Finished,
            length: 10,
            message_seq: 0,
            fragment_offset: 8,
            fragment_length: 3,
        }
        .encode(&mut out);
        assert!(HandshakeHeader::parse(&mut Reader::new(&out)).is_err());
    }

    #[test]
    fn fragments_cover_the_body() {
        let body: Vec<u8> = (0..=255).collect();
        let frags = fragment_message(HandshakeType::Certificate, 2, &body, 100);
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for f in &frags {
            assert!(f.len() <= 100);
            let parsed = parse_fragments(f).unwrap();
            let (h, piece) = parsed[0];
            assert_eq!(h.fragment_offset as usize, joined.len());
            assert_eq!(h.length, 256);
            joined.extend_from_slice(piece);
        }
        assert_eq!(joined, body);
        assert_eq!(
            fragment_message(HandshakeType::ServerHelloDone, 0, &[], 100).len(),
            1
        );
    }
}

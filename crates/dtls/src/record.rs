//! The DTLS record layer framing (RFC 6347 §4.1): `DTLSPlaintext` / `DTLSCiphertext` headers
//! with a 16-bit epoch and 48-bit sequence number; several records may share one datagram.

use crate::codec::{put_u16, put_u48, put_u8, DecodeError, Reader};

/// DTLS 1.2 on the wire (RFC 6347 §4.1: the one's complement of TLS 1.2's {3, 3}).
pub const DTLS_1_2: u16 = 0xfefd;
/// DTLS 1.0, which clients may put in the record carrying their first ClientHello.
pub const DTLS_1_0: u16 = 0xfeff;
/// type(1) + version(2) + epoch(2) + sequence_number(6) + length(2).
pub const RECORD_HEADER_LEN: usize = 13;
/// RFC 6347 §4.1: the length MUST NOT exceed 2^14 (+ 2048 for ciphertext expansion).
pub const MAX_CIPHERTEXT_LEN: usize = (1 << 14) + 2048;
/// Largest 48-bit sequence number (RFC 6347 §4.1).
pub const MAX_SEQUENCE: u64 = (1 << 48) - 1;

/// RFC 5246 §6.2.1 ContentType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    ChangeCipherSpec,
    Alert,
    Handshake,
    ApplicationData,
}

impl ContentType {
    pub fn to_u8(self) -> u8 {
        match self {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            20 => ContentType::ChangeCipherSpec,
            21 => ContentType::Alert,
            22 => ContentType::Handshake,
            23 => ContentType::ApplicationData,
            _ => return None,
        })
    }
}

/// One record as it is on the wire; `fragment` is plaintext in epoch 0 and AEAD output after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub content_type: ContentType,
    pub version: u16,
    pub epoch: u16,
    pub sequence: u64,
    pub fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parse one record from the front of `r`.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let content_type =
            ContentType::from_u8(r.u8()?).ok_or(DecodeError::Invalid("content type"))?;
        let version = r.u16()?;
        if version != DTLS_1_2 && version != DTLS_1_0 {
            return Err(DecodeError::Invalid("record version"));
        }
        let epoch = r.u16()?;
        let sequence = r.u48()?;
        let fragment = r.vec16()?;
        if fragment.len() > MAX_CIPHERTEXT_LEN {
            return Err(DecodeError::Invalid("record length"));
        }
        Ok(Record {
            content_type,
            version,
            epoch,
            sequence,
            fragment,
        })
    }

    /// All records of a datagram. RFC 6347 §4.1.2.7: invalid records are silently discarded;
    /// a framing error leaves the rest of the datagram unreadable, so parsing stops there.
    pub fn parse_datagram(datagram: &'a [u8]) -> Vec<Record<'a>> {
        let mut r = Reader::new(datagram);
        let mut out = Vec::new();
        while !r.is_empty() {
            match Record::parse(&mut r) {
                Ok(rec) => out.push(rec),
                Err(_) => break,
            }
        }
        out
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_header(
            out,
            self.content_type,
            self.version,
            self.epoch,
            self.sequence,
            self.fragment.len(),
        );
        out.extend_from_slice(self.fragment);
    }
}

pub fn encode_header(
    out: &mut Vec<u8>,
    content_type: ContentType,
    version: u16,
    epoch: u16,
    sequence: u64,
    len: usize,
) {
    put_u8(out, content_type.to_u8());
    put_u16(out, version);
    put_u16(out, epoch);
    put_u48(out, sequence);
    put_u16(out, len as u16);
}

/// Whether a datagram on a shared ICE/DTLS/SRTP port is DTLS: first byte 20..=63
/// (RFC 7983 §7).
pub fn is_dtls(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20..=63))
}

/// The 64-bit `seq_num` of the AEAD additional data and nonces: epoch || sequence
/// (RFC 6347 §4.1.2.1).
pub fn epoch_seq(epoch: u16, sequence: u64) -> u64 {
    (u64::from(epoch) << 48) | (sequence & MAX_SEQUENCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, body: &[u8]) -> Record<'_> {
        Record {
            content_type: ContentType::Handshake,
            version: DTLS_1_2,
            epoch: 1,
            sequence: seq,
            fragment: body,
        }
    }

    #[test]
    fn records_round_trip_and_share_a_datagram() {
        let mut dgram = Vec::new();
        rec(MAX_SEQUENCE, b"hello").encode(&mut dgram);
        rec(2, b"").encode(&mut dgram);
        assert_eq!(dgram.len(), 2 * RECORD_HEADER_LEN + 5);
        let parsed = Record::parse_datagram(&dgram);
        assert_eq!(parsed, vec![rec(MAX_SEQUENCE, b"hello"), rec(2, b"")]);
    }

    #[test]
    fn bad_framing_stops_parsing_without_panicking() {
        let mut dgram = Vec::new();
        rec(1, b"ok").encode(&mut dgram);
        let good_len = dgram.len();
        rec(2, b"truncated").encode(&mut dgram);
        dgram.truncate(dgram.len() - 1);
        assert_eq!(Record::parse_datagram(&dgram), vec![rec(1, b"ok")]);
        for n in 0..dgram.len() {
            let _ = Record::parse_datagram(&dgram[..n]);
        }
        let mut bad_version = dgram[..good_len].to_vec();
        bad_version[1] = 3;
        assert!(Record::parse_datagram(&bad_version).is_empty());
    }

    #[test]
    fn demultiplexes_by_first_byte() {
        assert!(is_dtls(&[22, 0xfe, 0xfd]));
        assert!(!is_dtls(&[0, 1])); // STUN
        assert!(!is_dtls(&[0x80])); // RTP
        assert!(!is_dtls(&[]));
    }

    #[test]
    fn epoch_and_sequence_pack_into_64_bits() {
        assert_eq!(epoch_seq(1, 5), 0x0001_0000_0000_0005);
        assert_eq!(epoch_seq(0xffff, MAX_SEQUENCE), u64::MAX);
    }
}

use super::attributes::{ERROR_CODE, FINGERPRINT, MESSAGE_INTEGRITY, MESSAGE_INTEGRITY_SHA256};
use super::integrity;
use super::{StunError, HEADER_LEN, MAGIC_COOKIE};
use std::net::SocketAddr;

/// The 96-bit transaction ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh id from the caller's randomness source (RFC 8489 §6: uniformly random).
    pub fn from_rng(rng: &mut impl rand_core::RngCore) -> Self {
        let mut id = [0u8; 12];
        rng.fill_bytes(&mut id);
        TransactionId(id)
    }
}

/// RFC 8489 §5: the two class bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

/// The 12-bit STUN method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

impl Method {
    pub const BINDING: Method = Method(0x001);
    pub const ALLOCATE: Method = Method(0x003);
    pub const REFRESH: Method = Method(0x004);
    pub const SEND: Method = Method(0x006);
    pub const DATA: Method = Method(0x007);
    pub const CREATE_PERMISSION: Method = Method(0x008);
    pub const CHANNEL_BIND: Method = Method(0x009);

    pub fn name(self) -> &'static str {
        match self {
            Method::BINDING => "binding",
            Method::ALLOCATE => "allocate",
            Method::REFRESH => "refresh",
            Method::SEND => "send",
            Method::DATA => "data",
            Method::CREATE_PERMISSION => "create_permission",
            Method::CHANNEL_BIND => "channel_bind",
            _ => "other",
        }
    }
}

fn encode_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0fff;
    let c: u16 = match class {
        Class::Request => 0b00,
        Class::Indication => 0b01,
        Class::Success => 0b10,
        Class::Error => 0b11,
    };
    (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

fn decode_type(t: u16) -> (Class, Method) {
    let m = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
    let c = ((t >> 4) & 1) | ((t >> 7) & 2);
    let class = match c {
        0 => Class::Request,
        1 => Class::Indication,
        2 => Class::Success,
        _ => Class::Error,
    };
    (class, Method(m))
}

/// One attribute as it appears on the wire.
#[derive(Debug, Clone, Copy)]
pub struct RawAttribute<'a> {
    pub typ: u16,
    pub value: &'a [u8],
    /// Offset of the attribute header from the start of the message.
    pub offset: usize,
}

/// A parsed STUN message borrowing the datagram it came from.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub class: Class,
    pub method: Method,
    pub transaction_id: TransactionId,
    pub attributes: Vec<RawAttribute<'a>>,
    raw: &'a [u8],
}

impl<'a> Message<'a> {
    /// Parse exactly one message occupying all of `raw`.
    pub fn parse(raw: &'a [u8]) -> Result<Self, StunError> {
        if raw.len() < HEADER_LEN {
            return Err(StunError::TooShort);
        }
        if raw[0] & 0xc0 != 0 {
            return Err(StunError::NotStun);
        }
        let declared = u16::from_be_bytes([raw[2], raw[3]]) as usize;
        if declared % 4 != 0 {
            return Err(StunError::UnalignedLength(declared));
        }
        if declared + HEADER_LEN != raw.len() {
            return Err(StunError::LengthMismatch {
                declared,
                actual: raw.len() - HEADER_LEN,
            });
        }
        if u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]) != MAGIC_COOKIE {
            return Err(StunError::BadMagicCookie);
        }
        let (class, method) = decode_type(u16::from_be_bytes([raw[0], raw[1]]));
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&raw[8..20]);
        let mut attributes = Vec::new();
        let mut pos = HEADER_LEN;
        // RFC 8489 §14.5/14.6/14.7: after MESSAGE-INTEGRITY only
        // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; after FINGERPRINT nothing.
        let mut after_integrity = false;
        while pos + 4 <= raw.len() {
            let typ = u16::from_be_bytes([raw[pos], raw[pos + 1]]);
            let len = u16::from_be_bytes([raw[pos + 2], raw[pos + 3]]) as usize;
            let start = pos + 4;
            let end = start + len;
            if end > raw.len() {
                return Err(StunError::TruncatedAttribute(typ));
            }
            let padded = start + len.div_ceil(4) * 4;
            let keep = !after_integrity || typ == MESSAGE_INTEGRITY_SHA256 || typ == FINGERPRINT;
            if keep {
                attributes.push(RawAttribute {
                    typ,
                    value: &raw[start..end],
                    offset: pos,
                });
            }
            if typ == MESSAGE_INTEGRITY || typ == MESSAGE_INTEGRITY_SHA256 {
                after_integrity = true;
            }
            if typ == FINGERPRINT {
                if end != raw.len() {
                    return Err(StunError::MalformedAttribute(FINGERPRINT));
                }
                break;
            }
            pos = padded;
        }
        if pos + 4 > raw.len() && pos < raw.len() {
            return Err(StunError::TruncatedAttribute(0));
        }
        let msg = Message {
            class,
            method,
            transaction_id: TransactionId(tid),
            attributes,
            raw,
        };
        if let Some(fp) = msg.attribute(FINGERPRINT) {
            let fp_attr = msg.attributes.iter().rev().find(|a| a.typ == FINGERPRINT);
            let offset = fp_attr.map(|a| a.offset).unwrap_or(0);
            if fp.len() != 4 || integrity::fingerprint_over(raw, offset) != fp {
                return Err(StunError::BadFingerprint);
            }
        }
        Ok(msg)
    }

    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The first attribute of type `typ`.
    pub fn attribute(&self, typ: u16) -> Option<&'a [u8]> {
        self.attributes
            .iter()
            .find(|a| a.typ == typ)
            .map(|a| a.value)
    }

    pub fn raw_attribute(&self, typ: u16) -> Option<RawAttribute<'a>> {
        self.attributes.iter().find(|a| a.typ == typ).copied()
    }

    pub fn has(&self, typ: u16) -> bool {
        self.attribute(typ).is_some()
    }

    pub fn u32_attribute(&self, typ: u16) -> Result<Option<u32>, StunError> {
        match self.attribute(typ) {
            None => Ok(None),
            Some(v) if v.len() == 4 => Ok(Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
            Some(_) => Err(StunError::MalformedAttribute(typ)),
        }
    }

    pub fn string_attribute(&self, typ: u16) -> Result<Option<&'a str>, StunError> {
        match self.attribute(typ) {
            None => Ok(None),
            Some(v) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|_| StunError::MalformedAttribute(typ)),
        }
    }

    pub fn xor_address(&self, typ: u16) -> Result<Option<SocketAddr>, StunError> {
        match self.attribute(typ) {
            None => Ok(None),
            Some(v) => super::attributes::decode_xor_address(v, &self.transaction_id)
                .map(Some)
                .ok_or(StunError::MalformedAttribute(typ)),
        }
    }

    /// All XOR-PEER-ADDRESS values (CreatePermission may carry several).
    pub fn xor_addresses(&self, typ: u16) -> Result<Vec<SocketAddr>, StunError> {
        self.attributes
            .iter()
            .filter(|a| a.typ == typ)
            .map(|a| {
                super::attributes::decode_xor_address(a.value, &self.transaction_id)
                    .ok_or(StunError::MalformedAttribute(typ))
            })
            .collect()
    }

    /// The ERROR-CODE of an error response as (code, reason).
    pub fn error_code(&self) -> Option<(u16, &'a str)> {
        let v = self.attribute(ERROR_CODE)?;
        if v.len() < 4 {
            return None;
        }
        let code = u16::from(v[2] & 0x7) * 100 + u16::from(v[3]);
        Some((code, std::str::from_utf8(&v[4..]).unwrap_or("")))
    }

    /// Check MESSAGE-INTEGRITY (HMAC-SHA1) if present, else
    /// MESSAGE-INTEGRITY-SHA256. `None` when the message carries neither.
    pub fn verify_integrity(&self, key: &[u8]) -> Option<bool> {
        if let Some(a) = self.raw_attribute(MESSAGE_INTEGRITY) {
            return Some(integrity::verify_sha1(self.raw, a.offset, a.value, key));
        }
        if let Some(a) = self.raw_attribute(MESSAGE_INTEGRITY_SHA256) {
            return Some(integrity::verify_sha256(self.raw, a.offset, a.value, key));
        }
        None
    }
}

/// Builds one message; attributes are appended in call order.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    tid: TransactionId,
}

impl MessageBuilder {
    pub fn new(class: Class, method: Method, tid: TransactionId) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&encode_type(class, method).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&tid.0);
        MessageBuilder { buf, tid }
    }

    fn set_len(&mut self) {
        let len = (self.buf.len() - HEADER_LEN) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
    }

    pub fn attribute(&mut self, typ: u16, value: &[u8]) -> &mut Self {
        // Callers pass values derived from bounded inputs; clamp defensively so
        // the length field can never wrap.
        let value = &value[..value.len().min(0xfff0)];
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self.set_len();
        self
    }

    pub fn u32_attribute(&mut self, typ: u16, v: u32) -> &mut Self {
        self.attribute(typ, &v.to_be_bytes())
    }

    pub fn xor_address(&mut self, typ: u16, addr: SocketAddr) -> &mut Self {
        let v = super::attributes::encode_xor_address(addr, &self.tid);
        self.attribute(typ, &v)
    }

    pub fn error_code(&mut self, code: u16, reason: &str) -> &mut Self {
        let mut v = vec![0, 0, (code / 100) as u8, (code % 100) as u8];
        v.extend_from_slice(reason.as_bytes());
        self.attribute(ERROR_CODE, &v)
    }

    pub fn message_integrity(&mut self, key: &[u8]) -> &mut Self {
        let offset = self.buf.len();
        self.attribute(MESSAGE_INTEGRITY, &[0u8; 20]);
        let mac = integrity::hmac_sha1(key, &self.buf[..offset]);
        self.buf[offset + 4..offset + 24].copy_from_slice(&mac);
        self
    }

    pub fn message_integrity_sha256(&mut self, key: &[u8]) -> &mut Self {
        let offset = self.buf.len();
        self.attribute(MESSAGE_INTEGRITY_SHA256, &[0u8; 32]);
        let mac = integrity::hmac_sha256(key, &self.buf[..offset]);
        self.buf[offset + 4..offset + 36].copy_from_slice(&mac);
        self
    }

    pub fn fingerprint(&mut self) -> &mut Self {
        let offset = self.buf.len();
        self.attribute(FINGERPRINT, &[0u8; 4]);
        let fp = integrity::fingerprint_over(&self.buf, offset);
        self.buf[offset + 4..offset + 8].copy_from_slice(&fp);
        self
    }

    pub fn build(&self) -> Vec<u8> {
        self.buf.clone()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_encoding_round_trips() {
        for class in [
            Class::Request,
            Class::Indication,
            Class::Success,
            Class::Error,
        ] {
            for m in [1u16, 3, 4, 6, 7, 8, 9, 0xfff] {
                assert_eq!(
                    decode_type(encode_type(class, Method(m))),
                    (class, Method(m))
                );
            }
        }
        assert_eq!(encode_type(Class::Success, Method::BINDING), 0x0101);
        assert_eq!(encode_type(Class::Error, Method::ALLOCATE), 0x0113);
        assert_eq!(encode_type(Class::Indication, Method::SEND), 0x0016);
        assert_eq!(encode_type(Class::Indication, Method::DATA), 0x0017);
    }
}

//! A minimal ICE-lite STUN responder for the Chromium interop test: it answers Binding requests
//! (RFC 8445 §7.3 as a lite agent) after checking their short-term credentials, and nothing
//! else. Test code only; the engine has the real ICE agent.

use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;

const MAGIC_COOKIE: u32 = 0x2112_a442;
const HEADER_LEN: usize = 20;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_FINGERPRINT: u16 = 0x8028;
/// RFC 5389 §15.5: the CRC is XORed with "STUN".
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// A Binding request that passed the checks.
#[derive(Debug)]
pub struct BindingRequest {
    pub transaction_id: [u8; 12],
    pub username: String,
    pub use_candidate: bool,
}

/// Whether a datagram on the shared port is STUN: first byte 0..=3 (RFC 7983 §7).
pub fn is_stun(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(0..=3))
}

/// Parse a Binding request and check FINGERPRINT (when present) and MESSAGE-INTEGRITY
/// (required, keyed with our ice-pwd: RFC 5389 §15.4 short-term credentials).
pub fn parse_binding_request(msg: &[u8], local_pwd: &str) -> Result<BindingRequest, String> {
    if msg.len() < HEADER_LEN {
        return Err("short STUN message".into());
    }
    let ty = u16::from_be_bytes([msg[0], msg[1]]);
    let len = usize::from(u16::from_be_bytes([msg[2], msg[3]]));
    if u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]) != MAGIC_COOKIE {
        return Err("no magic cookie".into());
    }
    if ty != BINDING_REQUEST {
        return Err(format!("not a Binding request: {ty:#06x}"));
    }
    if HEADER_LEN + len != msg.len() || len % 4 != 0 {
        return Err("bad STUN length".into());
    }
    let mut transaction_id = [0; 12];
    transaction_id.copy_from_slice(&msg[8..20]);
    let (mut username, mut integrity_ok, mut use_candidate) = (None, None, false);
    let mut at = HEADER_LEN;
    while at + 4 <= msg.len() {
        let attr = u16::from_be_bytes([msg[at], msg[at + 1]]);
        let alen = usize::from(u16::from_be_bytes([msg[at + 2], msg[at + 3]]));
        let value = msg
            .get(at + 4..at + 4 + alen)
            .ok_or("attribute overruns the message")?;
        let end = at + 4 + alen.next_multiple_of(4);
        match attr {
            ATTR_USERNAME if integrity_ok.is_none() => {
                username = Some(String::from_utf8(value.to_vec()).map_err(|e| e.to_string())?);
            }
            ATTR_USE_CANDIDATE if integrity_ok.is_none() => use_candidate = true,
            ATTR_MESSAGE_INTEGRITY => {
                // The HMAC covers everything before the attribute, with the header length
                // pretending the message ends right after it.
                let mut covered = msg[..at].to_vec();
                covered[2..4].copy_from_slice(&((end - HEADER_LEN) as u16).to_be_bytes());
                integrity_ok = Some(hmac_sha1(local_pwd.as_bytes(), &covered) == value);
            }
            ATTR_FINGERPRINT => {
                let expect = crc32(&msg[..at]) ^ FINGERPRINT_XOR;
                if value != expect.to_be_bytes() || end != msg.len() {
                    return Err("bad FINGERPRINT".into());
                }
            }
            _ => {}
        }
        at = end;
    }
    match integrity_ok {
        Some(true) => {}
        Some(false) => return Err("MESSAGE-INTEGRITY does not match our ice-pwd".into()),
        None => return Err("no MESSAGE-INTEGRITY".into()),
    }
    Ok(BindingRequest {
        transaction_id,
        username: username.ok_or("no USERNAME")?,
        use_candidate,
    })
}

/// Binding success response: XOR-MAPPED-ADDRESS (the peer-reflexive address the request came
/// from), MESSAGE-INTEGRITY with our ice-pwd, FINGERPRINT.
pub fn binding_success(transaction_id: &[u8; 12], from: SocketAddr, local_pwd: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m.extend_from_slice(transaction_id);

    let mut xaddr = vec![0];
    let port = from.port() ^ (MAGIC_COOKIE >> 16) as u16;
    match from.ip() {
        IpAddr::V4(ip) => {
            xaddr.push(1);
            xaddr.extend_from_slice(&port.to_be_bytes());
            xaddr.extend_from_slice(&(u32::from(ip) ^ MAGIC_COOKIE).to_be_bytes());
        }
        IpAddr::V6(ip) => {
            xaddr.push(2);
            xaddr.extend_from_slice(&port.to_be_bytes());
            let mut key = MAGIC_COOKIE.to_be_bytes().to_vec();
            key.extend_from_slice(transaction_id);
            xaddr.extend(ip.octets().iter().zip(key).map(|(a, k)| a ^ k));
        }
    }
    put_attr(&mut m, ATTR_XOR_MAPPED_ADDRESS, &xaddr);

    set_len(&mut m, 24);
    let mac = hmac_sha1(local_pwd.as_bytes(), &m);
    put_attr(&mut m, ATTR_MESSAGE_INTEGRITY, &mac);

    set_len(&mut m, 8);
    let crc = crc32(&m) ^ FINGERPRINT_XOR;
    put_attr(&mut m, ATTR_FINGERPRINT, &crc.to_be_bytes());
    m
}

fn put_attr(m: &mut Vec<u8>, ty: u16, value: &[u8]) {
    m.extend_from_slice(&ty.to_be_bytes());
    m.extend_from_slice(&(value.len() as u16).to_be_bytes());
    m.extend_from_slice(value);
    m.resize(m.len().next_multiple_of(4), 0);
}

/// Header length as if `extra` more attribute bytes followed what `m` holds now.
fn set_len(m: &mut [u8], extra: usize) {
    let len = (m.len() - HEADER_LEN + extra) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// CRC-32 (ISO 3309 / ITU-T V.42, the one RFC 5389 §15.5 names), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 §2.1 sample request (short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt").
    const RFC5769_REQUEST: &str = "
        000100582112a442b7e7a701bc34d686fa87dfae
        802200105354554e20746573742063 6c69656e74
        002400046e0001ff80290008932ff9b151263b36
        00060009657674 6a3a6836 76592020 20
        000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2
        80280004e57a3bcf";
    const RFC5769_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn checks_the_rfc5769_sample_request() {
        let msg = hex(RFC5769_REQUEST);
        let req = parse_binding_request(&msg, RFC5769_PASSWORD).unwrap();
        assert_eq!(req.username, "evtj:h6vY");
        assert!(parse_binding_request(&msg, "wrong password").is_err());
        let mut flipped = msg.clone();
        flipped[30] ^= 1;
        assert!(parse_binding_request(&flipped, RFC5769_PASSWORD).is_err());
    }

    #[test]
    fn our_response_verifies_with_our_own_checks() {
        let from: SocketAddr = "192.0.2.1:32853".parse().unwrap();
        let resp = binding_success(&[7; 12], from, "pwd");
        assert_eq!(resp.len(), HEADER_LEN + 12 + 24 + 8);
        // RFC 5769 §2.2: 192.0.2.1:32853 XORs to a1 47 e1 12 a6 43.
        assert_eq!(&resp[24..32], &hex("0001a147e112a643")[..]);
        let crc = crc32(&resp[..resp.len() - 8]) ^ FINGERPRINT_XOR;
        assert_eq!(&resp[resp.len() - 4..], crc.to_be_bytes());
    }
}

//! Hello extensions WebRTC's DTLS uses (RFC 5246 §7.4.1.4). Unknown extensions are skipped:
//! Chromium and Firefox hellos carry others (DTLS 1.3 supported_versions, key_share, …).

use crate::codec::{put_prefixed, put_u16, put_u16_list, put_vec16, put_vec8, DecodeError, Reader};

pub const EXT_SUPPORTED_GROUPS: u16 = 10; // RFC 8422 §5.1.1
pub const EXT_EC_POINT_FORMATS: u16 = 11; // RFC 8422 §5.1.2
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13; // RFC 5246 §7.4.1.4.1
pub const EXT_USE_SRTP: u16 = 14; // RFC 5764 §4.1.1
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23; // RFC 7627 §5.1
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01; // RFC 5746 §3.2

/// RFC 8422 §5.1.2: the only point format we (and everyone) use.
pub const POINT_FORMAT_UNCOMPRESSED: u8 = 0;

/// The extensions we understand, as found in a hello. `None` = absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub supported_groups: Option<Vec<u16>>,
    pub ec_point_formats: Option<Vec<u8>>,
    pub signature_algorithms: Option<Vec<u16>>,
    /// use_srtp: (protection profiles, srtp_mki).
    pub use_srtp: Option<(Vec<u16>, Vec<u8>)>,
    pub extended_master_secret: bool,
    /// renegotiation_info's renegotiated_connection (empty on an initial handshake).
    pub renegotiation_info: Option<Vec<u8>>,
}

impl Extensions {
    /// Parse the `extensions` vector body (without its 2-byte length).
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mut ext = Extensions::default();
        let mut seen: Vec<u16> = Vec::new();
        while !r.is_empty() {
            let ty = r.u16()?;
            let data = r.vec16()?;
            // RFC 5246 §7.4.1.4: no extension type may appear twice.
            if seen.contains(&ty) {
                return Err(DecodeError::Invalid("duplicate extension"));
            }
            seen.push(ty);
            let mut d = Reader::new(data);
            match ty {
                EXT_SUPPORTED_GROUPS => ext.supported_groups = Some(d.u16_list()?),
                EXT_EC_POINT_FORMATS => ext.ec_point_formats = Some(d.vec8()?.to_vec()),
                EXT_SIGNATURE_ALGORITHMS => ext.signature_algorithms = Some(d.u16_list()?),
                EXT_USE_SRTP => {
                    let profiles = d.u16_list()?;
                    let mki = d.vec8()?.to_vec();
                    ext.use_srtp = Some((profiles, mki));
                }
                EXT_EXTENDED_MASTER_SECRET => ext.extended_master_secret = true,
                EXT_RENEGOTIATION_INFO => ext.renegotiation_info = Some(d.vec8()?.to_vec()),
                _ => {
                    d.rest();
                }
            }
            d.finish("extension")?;
        }
        Ok(ext)
    }

    /// Encode as the `extensions` vector including its 2-byte length; nothing if empty.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if *self == Extensions::default() {
            return;
        }
        put_prefixed(out, 2, |o| {
            if let Some(v) = &self.renegotiation_info {
                put_u16(o, EXT_RENEGOTIATION_INFO);
                put_prefixed(o, 2, |o| put_vec8(o, v));
            }
            if self.extended_master_secret {
                put_u16(o, EXT_EXTENDED_MASTER_SECRET);
                put_u16(o, 0);
            }
            if let Some(v) = &self.supported_groups {
                put_u16(o, EXT_SUPPORTED_GROUPS);
                put_prefixed(o, 2, |o| put_u16_list(o, v));
            }
            if let Some(v) = &self.ec_point_formats {
                put_u16(o, EXT_EC_POINT_FORMATS);
                put_prefixed(o, 2, |o| put_vec8(o, v));
            }
            if let Some(v) = &self.signature_algorithms {
                put_u16(o, EXT_SIGNATURE_ALGORITHMS);
                put_prefixed(o, 2, |o| put_u16_list(o, v));
            }
            if let Some((profiles, mki)) = &self.use_srtp {
                put_u16(o, EXT_USE_SRTP);
                put_prefixed(o, 2, |o| {
                    put_u16_list(o, profiles);
                    put_vec8(o, mki);
                });
            }
        });
    }
}

/// Write one raw extension (tests use this to add ones we do not know).
pub fn put_raw_extension(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    put_u16(out, ty);
    put_vec16(out, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Extensions {
        Extensions {
            supported_groups: Some(vec![29, 23]),
            ec_point_formats: Some(vec![0]),
            signature_algorithms: Some(vec![0x0403, 0x0401]),
            use_srtp: Some((vec![0x0007, 0x0001], vec![])),
            extended_master_secret: true,
            renegotiation_info: Some(vec![]),
        }
    }

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        full().encode(&mut out);
        let mut r = Reader::new(&out);
        assert_eq!(Extensions::parse(r.vec16().unwrap()), Ok(full()));
        let mut empty = Vec::new();
        Extensions::default().encode(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn unknown_extensions_are_ignored_and_duplicates_rejected() {
        let mut body = Vec::new();
        put_raw_extension(&mut body, 43, &[2, 0xfe, 0xfc]); // supported_versions (DTLS 1.3)
        put_raw_extension(&mut body, 51, &[0; 100]); // key_share
        put_raw_extension(&mut body, EXT_EXTENDED_MASTER_SECRET, &[]);
        let ext = Extensions::parse(&body).unwrap();
        assert!(ext.extended_master_secret);
        put_raw_extension(&mut body, EXT_EXTENDED_MASTER_SECRET, &[]);
        assert!(Extensions::parse(&body).is_err());
    }

    #[test]
    fn malformed_extensions_are_errors() {
        let mut body = Vec::new();
        put_raw_extension(&mut body, EXT_SUPPORTED_GROUPS, &[0, 3, 0, 29, 0]);
        assert!(Extensions::parse(&body).is_err());
        let mut body = Vec::new();
        put_raw_extension(&mut body, EXT_EXTENDED_MASTER_SECRET, &[1]);
        assert!(Extensions::parse(&body).is_err());
        assert!(Extensions::parse(&[0, 10, 0]).is_err());
    }
}

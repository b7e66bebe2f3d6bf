//! Handshake message bodies (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 8422 §5.4–5.7), each a
//! plain struct with `parse(body)` and `encode(out)`.

use crate::codec::{
    put_prefixed, put_u16, put_u16_list, put_u8, put_vec16, put_vec24, put_vec8, DecodeError,
    Reader,
};
use crate::extensions::Extensions;

/// RFC 6347 §4.2.1: cookies are at most 255 bytes.
pub const MAX_COOKIE_LEN: usize = 255;
/// ECCurveType named_curve (RFC 8422 §5.4).
pub const CURVE_TYPE_NAMED: u8 = 3;
/// ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5).
pub const CERT_TYPE_RSA_SIGN: u8 = 1;
pub const CERT_TYPE_ECDSA_SIGN: u8 = 64;
/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;

fn parse_extensions(r: &mut Reader<'_>) -> Result<Extensions, DecodeError> {
    // RFC 5246 §7.4.1.2: the extensions block may be absent entirely.
    if r.is_empty() {
        return Ok(Extensions::default());
    }
    Extensions::parse(r.vec16()?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub client_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cookie: Vec<u8>,
    pub cipher_suites: Vec<u16>,
    pub compression_methods: Vec<u8>,
    pub extensions: Extensions,
}

impl ClientHello {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let client_version = r.u16()?;
        let random = r.array()?;
        let session_id = r.vec8()?.to_vec();
        let cookie = r.vec8()?.to_vec();
        let cipher_suites = r.u16_list()?;
        let compression_methods = r.vec8()?.to_vec();
        let extensions = parse_extensions(&mut r)?;
        r.finish("ClientHello")?;
        if session_id.len() > 32 {
            return Err(DecodeError::Invalid("session_id"));
        }
        Ok(ClientHello {
            client_version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.client_version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_vec8(out, &self.cookie);
        put_u16_list(out, &self.cipher_suites);
        put_vec8(out, &self.compression_methods);
        self.extensions.encode(out);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    pub server_version: u16,
    pub cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let server_version = r.u16()?;
        let cookie = r.vec8()?.to_vec();
        r.finish("HelloVerifyRequest")?;
        Ok(HelloVerifyRequest {
            server_version,
            cookie,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.server_version);
        put_vec8(out, &self.cookie);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub server_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub compression_method: u8,
    pub extensions: Extensions,
}

impl ServerHello {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let server_version = r.u16()?;
        let random = r.array()?;
        let session_id = r.vec8()?.to_vec();
        let cipher_suite = r.u16()?;
        let compression_method = r.u8()?;
        let extensions = parse_extensions(&mut r)?;
        r.finish("ServerHello")?;
        Ok(ServerHello {
            server_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.server_version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_u16(out, self.cipher_suite);
        put_u8(out, self.compression_method);
        self.extensions.encode(out);
    }
}

/// Certificate (RFC 5246 §7.4.2): DER certificates, leaf first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMsg {
    pub chain: Vec<Vec<u8>>,
}

impl CertificateMsg {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mut list = Reader::new(r.vec24()?);
        r.finish("Certificate")?;
        let mut chain = Vec::new();
        while !list.is_empty() {
            chain.push(list.vec24()?.to_vec());
        }
        Ok(CertificateMsg { chain })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_prefixed(out, 3, |o| self.chain.iter().for_each(|c| put_vec24(o, c)));
    }
}

/// ServerKeyExchange for ECDHE (RFC 8422 §5.4): named-curve params and their signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    pub named_group: u16,
    pub public: Vec<u8>,
    pub signature_scheme: u16,
    pub signature: Vec<u8>,
}

impl ServerKeyExchange {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        if r.u8()? != CURVE_TYPE_NAMED {
            return Err(DecodeError::Invalid("ECCurveType"));
        }
        let named_group = r.u16()?;
        let public = r.vec8()?.to_vec();
        let signature_scheme = r.u16()?;
        let signature = r.vec16()?.to_vec();
        r.finish("ServerKeyExchange")?;
        Ok(ServerKeyExchange {
            named_group,
            public,
            signature_scheme,
            signature,
        })
    }

    /// ServerECDHParams: what the signature covers after the two randoms.
    pub fn params(named_group: u16, public: &[u8]) -> Vec<u8> {
        let mut out = vec![CURVE_TYPE_NAMED];
        put_u16(&mut out, named_group);
        put_vec8(&mut out, public);
        out
    }

    /// The bytes signed: client_random || server_random || ServerECDHParams (RFC 8422 §5.4).
    pub fn signed_data(
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        params: &[u8],
    ) -> Vec<u8> {
        [&client_random[..], &server_random[..], params].concat()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::params(self.named_group, &self.public));
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

/// CertificateRequest (RFC 5246 §7.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    pub certificate_types: Vec<u8>,
    pub signature_schemes: Vec<u16>,
    /// DistinguishedName list, raw (WebRTC sends none).
    pub certificate_authorities: Vec<u8>,
}

impl CertificateRequest {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let certificate_types = r.vec8()?.to_vec();
        let signature_schemes = r.u16_list()?;
        let certificate_authorities = r.vec16()?.to_vec();
        r.finish("CertificateRequest")?;
        Ok(CertificateRequest {
            certificate_types,
            signature_schemes,
            certificate_authorities,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.certificate_types);
        put_u16_list(out, &self.signature_schemes);
        put_vec16(out, &self.certificate_authorities);
    }
}

/// ClientKeyExchange for ECDHE (RFC 8422 §5.7): the client's ephemeral public value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    pub public: Vec<u8>,
}

impl ClientKeyExchange {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let public = r.vec8()?.to_vec();
        r.finish("ClientKeyExchange")?;
        if public.is_empty() {
            return Err(DecodeError::Invalid("empty ECDH public value"));
        }
        Ok(ClientKeyExchange { public })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.public);
    }
}

/// CertificateVerify (RFC 5246 §7.4.8): digitally-signed transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateVerify {
    pub signature_scheme: u16,
    pub signature: Vec<u8>,
}

impl CertificateVerify {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let signature_scheme = r.u16()?;
        let signature = r.vec16()?.to_vec();
        r.finish("CertificateVerify")?;
        Ok(CertificateVerify {
            signature_scheme,
            signature,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

/// Finished (RFC 5246 §7.4.9): 12 bytes of verify_data for every suite we support.
pub fn parse_finished(body: &[u8]) -> Result<[u8; 12], DecodeError> {
    let mut r = Reader::new(body);
    let v = r.array()?;
    r.finish("Finished")?;
    Ok(v)
}

/// ServerHelloDone (RFC 5246 §7.4.5) has an empty body.
pub fn parse_empty(body: &[u8]) -> Result<(), DecodeError> {
    Reader::new(body).finish("ServerHelloDone")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt<T: PartialEq + core::fmt::Debug>(
        v: &T,
        enc: impl Fn(&T, &mut Vec<u8>),
        dec: impl Fn(&[u8]) -> Result<T, DecodeError>,
    ) {
        let mut out = Vec::new();
        enc(v, &mut out);
        assert_eq!(&dec(&out).unwrap(), v);
        for n in 0..out.len() {
            // Every truncation is an error or a shorter valid message, never a panic.
            let _ = dec(&out[..n]);
        }
    }

    #[test]
    fn client_hello_round_trips() {
        let ch = ClientHello {
            client_version: 0xfefd,
            random: [7; 32],
            session_id: vec![],
            cookie: vec![1, 2, 3],
            cipher_suites: vec![0xcca9, 0xc02b, EMPTY_RENEGOTIATION_INFO_SCSV],
            compression_methods: vec![0],
            extensions: Extensions {
                extended_master_secret: true,
                supported_groups: Some(vec![29, 23]),
                ..Default::default()
            },
        };
        rt(&ch, ClientHello::encode, ClientHello::parse);
        let no_ext = ClientHello {
            extensions: Extensions::default(),
            ..ch
        };
        rt(&no_ext, ClientHello::encode, ClientHello::parse);
    }

    #[test]
    fn server_messages_round_trip() {
        rt(
            &HelloVerifyRequest {
                server_version: 0xfeff,
                cookie: vec![9; 32],
            },
            HelloVerifyRequest::encode,
            HelloVerifyRequest::parse,
        );
        rt(
            &ServerHello {
                server_version: 0xfefd,
                random: [1; 32],
                session_id: vec![5; 32],
                cipher_suite: 0xc02b,
                compression_method: 0,
                extensions: Extensions {
                    use_srtp: Some((vec![7], vec![])),
                    ..Default::default()
                },
            },
            ServerHello::encode,
            ServerHello::parse,
        );
        rt(
            &CertificateMsg {
                chain: vec![vec![0x30, 1, 2], vec![0x30]],
            },
            CertificateMsg::encode,
            CertificateMsg::parse,
        );
        rt(
            &ServerKeyExchange {
                named_group: 29,
                public: vec![4; 32],
                signature_scheme: 0x0403,
                signature: vec![0x30; 70],
            },
            ServerKeyExchange::encode,
            ServerKeyExchange::parse,
        );
        rt(
            &CertificateRequest {
                certificate_types: vec![CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN],
                signature_schemes: vec![0x0403, 0x0401],
                certificate_authorities: vec![],
            },
            CertificateRequest::encode,
            CertificateRequest::parse,
        );
    }

    #[test]
    fn client_messages_round_trip() {
        rt(
            &ClientKeyExchange {
                public: vec![4; 65],
            },
            ClientKeyExchange::encode,
            ClientKeyExchange::parse,
        );
        rt(
            &CertificateVerify {
                signature_scheme: 0x0401,
                signature: vec![1; 128],
            },
            CertificateVerify::encode,
            CertificateVerify::parse,
        );
        assert_eq!(parse_finished(&[3; 12]), Ok([3; 12]));
        assert!(parse_finished(&[3; 13]).is_err());
        assert!(parse_empty(&[]).is_ok());
        assert!(parse_empty(&[0]).is_err());
    }
}

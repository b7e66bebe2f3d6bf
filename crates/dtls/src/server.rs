//! The DTLS 1.2 server handshake (RFC 6347 §4.2.4 flights 2, 4 and 6), one type per state,
//! with a stateless cookie exchange (RFC 6347 §4.2.1) and a mandatory client certificate, as
//! WebRTC requires (RFC 8827 §6.5).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::certificate::{verify_with_certificate, KeyAlgorithm, SignatureScheme};
use crate::cipher_suite::{AuthAlgorithm, CipherSuite};
use crate::config::{Config, Role, SrtpProfile};
use crate::error::Error;
use crate::extensions::{Extensions, POINT_FORMAT_UNCOMPRESSED};
use crate::handshake::messages::{
    parse_finished, CertificateMsg, CertificateRequest, CertificateVerify, ClientHello,
    ClientKeyExchange, HelloVerifyRequest, ServerHello, ServerKeyExchange, CERT_TYPE_ECDSA_SIGN,
    CERT_TYPE_RSA_SIGN, EMPTY_RENEGOTIATION_INFO_SCSV,
};
use crate::handshake::reassembly::Message;
use crate::handshake::HandshakeType;
use crate::key_exchange::{EphemeralKey, GROUP_SECP256R1, SUPPORTED_GROUPS};
use crate::record::DTLS_1_2;
use crate::session::{
    check_peer_certificate, ct_eq, random32, Ctx, Established, FlightItem, Negotiated,
};

#[derive(Debug)]
pub(crate) enum ServerState {
    ExpectClientHello(ExpectClientHello),
    ExpectCertificate(ExpectCertificate),
    ExpectClientKeyExchange(ExpectClientKeyExchange),
    ExpectCertificateVerify(ExpectCertificateVerify),
    ExpectFinished(ExpectFinished),
    Connected,
}

impl ServerState {
    pub fn start(ctx: &mut Ctx<'_>) -> Self {
        ServerState::ExpectClientHello(ExpectClientHello {
            cookie_secret: random32(ctx.rng),
        })
    }

    pub fn expects_client_hello(&self) -> bool {
        matches!(self, ServerState::ExpectClientHello(_))
    }

    pub fn handle(self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ServerState, Error> {
        match self {
            ServerState::ExpectClientHello(s) => s.handle(msg, ctx),
            ServerState::ExpectCertificate(s) => s.handle(msg, ctx),
            ServerState::ExpectClientKeyExchange(s) => s.handle(msg, ctx),
            ServerState::ExpectCertificateVerify(s) => s.handle(msg),
            ServerState::ExpectFinished(s) => s.handle(msg, ctx),
            // RFC 5746 §4.4: we refuse renegotiation; a new ClientHello is dropped.
            ServerState::Connected if msg.msg_type == HandshakeType::ClientHello => {
                Ok(ServerState::Connected)
            }
            ServerState::Connected => Err(Error::UnexpectedMessage("post-handshake")),
        }
    }
}

fn expect(msg: &Message, ty: HandshakeType, name: &'static str) -> Result<(), Error> {
    if msg.msg_type == ty && msg.epoch == 0 {
        Ok(())
    } else {
        Err(Error::UnexpectedMessage(name))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectClientHello {
    cookie_secret: [u8; 32],
}

impl ExpectClientHello {
    /// RFC 6347 §4.2.1: Cookie = HMAC(Secret, Client-Parameters). We have no client address
    /// (the caller demultiplexes), so the cookie binds the client random.
    fn cookie(&self, hello: &ClientHello) -> Vec<u8> {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.cookie_secret) else {
            return Vec::new();
        };
        mac.update(&hello.random);
        mac.finalize().into_bytes().to_vec()
    }

    fn handle(self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ServerState, Error> {
        expect(&msg, HandshakeType::ClientHello, "ClientHello")?;
        let hello = ClientHello::parse(&msg.body)?;
        // DTLS versions count down: 0xfefd (1.2) is "greater" than 0xfeff (1.0).
        if hello.client_version > DTLS_1_2 {
            return Err(Error::ProtocolVersion);
        }
        let cookie = self.cookie(&hello);
        if !ct_eq(&hello.cookie, &cookie) {
            let mut body = Vec::new();
            HelloVerifyRequest {
                server_version: DTLS_1_2,
                cookie,
            }
            .encode(&mut body);
            ctx.actions.stateless = Some(vec![FlightItem::Handshake {
                epoch: 0,
                msg_type: HandshakeType::HelloVerifyRequest,
                message_seq: msg.message_seq,
                body,
            }]);
            return Ok(ServerState::ExpectClientHello(self));
        }
        send_flight_4(hello, msg, ctx)
    }
}

struct Choice {
    suite: CipherSuite,
    group: u16,
    srtp_profile: Option<SrtpProfile>,
}

fn negotiate(config: &Config, hello: &ClientHello) -> Result<Choice, Error> {
    let auth = match config.certificate.algorithm {
        KeyAlgorithm::EcdsaP256 => AuthAlgorithm::Ecdsa,
        KeyAlgorithm::Rsa { .. } => AuthAlgorithm::Rsa,
    };
    let suite = config
        .cipher_suites
        .iter()
        .copied()
        .find(|s| s.auth() == auth && hello.cipher_suites.contains(&s.to_u16()))
        .ok_or_else(|| Error::HandshakeFailure("no cipher suite in common".into()))?;
    if !hello.compression_methods.contains(&0) {
        return Err(Error::IllegalParameter("compression"));
    }
    let ext = &hello.extensions;
    // RFC 7627 §5.3: we refuse handshakes without extended_master_secret.
    if !ext.extended_master_secret {
        return Err(Error::HandshakeFailure(
            "client did not offer extended_master_secret".into(),
        ));
    }
    if ext
        .ec_point_formats
        .as_ref()
        .is_some_and(|f| !f.contains(&POINT_FORMAT_UNCOMPRESSED))
    {
        return Err(Error::IllegalParameter("ec_point_formats"));
    }
    // RFC 8422 §4: without supported_groups, assume the client supports P-256.
    let offered = ext
        .supported_groups
        .clone()
        .unwrap_or_else(|| vec![GROUP_SECP256R1]);
    let group = SUPPORTED_GROUPS
        .into_iter()
        .find(|g| offered.contains(g))
        .ok_or_else(|| Error::HandshakeFailure("no group in common".into()))?;
    let scheme = config.certificate.signature_scheme().to_u16();
    if ext
        .signature_algorithms
        .as_ref()
        .is_some_and(|s| !s.contains(&scheme))
    {
        return Err(Error::HandshakeFailure(
            "client does not accept our signature scheme".into(),
        ));
    }
    // RFC 5764 §4.1.1: pick our most preferred profile the client offers, if any.
    let srtp_profile = ext.use_srtp.as_ref().and_then(|(offered, _)| {
        config
            .srtp_profiles
            .iter()
            .copied()
            .find(|p| offered.contains(&p.to_u16()))
    });
    Ok(Choice {
        suite,
        group,
        srtp_profile,
    })
}

/// Flight 4: ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone.
fn send_flight_4(
    hello: ClientHello,
    msg: Message,
    ctx: &mut Ctx<'_>,
) -> Result<ServerState, Error> {
    let choice = negotiate(ctx.config, &hello)?;
    let mut n = Negotiated {
        client_random: hello.random,
        server_random: random32(ctx.rng),
        suite: choice.suite,
        srtp_profile: choice.srtp_profile,
        transcript: Vec::new(),
        // RFC 6347 §4.2.2: our numbering follows the ClientHello that carried the cookie.
        send_seq: msg.message_seq,
    };
    n.record(&msg);
    let mut flight = Vec::new();

    let secure_reneg = hello.extensions.renegotiation_info.is_some()
        || hello.cipher_suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV);
    let mut body = Vec::new();
    ServerHello {
        server_version: DTLS_1_2,
        random: n.server_random,
        session_id: Vec::new(),
        cipher_suite: choice.suite.to_u16(),
        compression_method: 0,
        extensions: Extensions {
            use_srtp: choice.srtp_profile.map(|p| (vec![p.to_u16()], Vec::new())),
            extended_master_secret: true,
            renegotiation_info: secure_reneg.then(Vec::new),
            ec_point_formats: hello
                .extensions
                .ec_point_formats
                .is_some()
                .then(|| vec![POINT_FORMAT_UNCOMPRESSED]),
            ..Extensions::default()
        },
    }
    .encode(&mut body);
    n.push(&mut flight, 0, HandshakeType::ServerHello, body);

    let own = &ctx.config.certificate;
    let mut body = Vec::new();
    CertificateMsg {
        chain: vec![own.der.clone()],
    }
    .encode(&mut body);
    n.push(&mut flight, 0, HandshakeType::Certificate, body);

    let key = EphemeralKey::generate(choice.group, &mut &mut *ctx.rng)?;
    let public = key.public();
    let params = ServerKeyExchange::params(choice.group, &public);
    let signed = ServerKeyExchange::signed_data(&n.client_random, &n.server_random, &params);
    let mut body = Vec::new();
    ServerKeyExchange {
        named_group: choice.group,
        public,
        signature_scheme: own.signature_scheme().to_u16(),
        signature: own.sign(&mut &mut *ctx.rng, &signed)?,
    }
    .encode(&mut body);
    n.push(&mut flight, 0, HandshakeType::ServerKeyExchange, body);

    let mut body = Vec::new();
    CertificateRequest {
        certificate_types: vec![CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN],
        signature_schemes: SignatureScheme::ALL.iter().map(|s| s.to_u16()).collect(),
        certificate_authorities: Vec::new(),
    }
    .encode(&mut body);
    n.push(&mut flight, 0, HandshakeType::CertificateRequest, body);
    n.push(&mut flight, 0, HandshakeType::ServerHelloDone, Vec::new());

    ctx.actions.flight = Some(flight);
    ctx.actions.expect_reply = true;
    Ok(ServerState::ExpectCertificate(ExpectCertificate { n, key }))
}

#[derive(Debug)]
pub(crate) struct ExpectCertificate {
    n: Negotiated,
    key: EphemeralKey,
}

impl ExpectCertificate {
    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ServerState, Error> {
        expect(&msg, HandshakeType::Certificate, "Certificate")?;
        let cert = CertificateMsg::parse(&msg.body)?;
        // WebRTC authenticates both ends: an empty client chain is fatal.
        let fingerprint_verified = check_peer_certificate(ctx.config, &cert.chain)?;
        self.n.record(&msg);
        let peer_certificate = cert.chain.into_iter().next().ok_or(Error::NoCertificate)?;
        Ok(ServerState::ExpectClientKeyExchange(
            ExpectClientKeyExchange {
                n: self.n,
                key: self.key,
                peer_certificate,
                fingerprint_verified,
            },
        ))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectClientKeyExchange {
    n: Negotiated,
    key: EphemeralKey,
    peer_certificate: Vec<u8>,
    fingerprint_verified: bool,
}

impl ExpectClientKeyExchange {
    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ServerState, Error> {
        expect(&msg, HandshakeType::ClientKeyExchange, "ClientKeyExchange")?;
        let cke = ClientKeyExchange::parse(&msg.body)?;
        let premaster = zeroize::Zeroizing::new(self.key.agree(&cke.public)?);
        self.n.record(&msg);
        let master = self.n.master_secret(&premaster);
        ctx.actions.keys = Some(self.n.traffic_keys(&master, Role::Server)?);
        Ok(ServerState::ExpectCertificateVerify(
            ExpectCertificateVerify {
                n: self.n,
                master,
                peer_certificate: self.peer_certificate,
                fingerprint_verified: self.fingerprint_verified,
            },
        ))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectCertificateVerify {
    n: Negotiated,
    master: [u8; 48],
    peer_certificate: Vec<u8>,
    fingerprint_verified: bool,
}

impl ExpectCertificateVerify {
    fn handle(mut self, msg: Message) -> Result<ServerState, Error> {
        expect(&msg, HandshakeType::CertificateVerify, "CertificateVerify")?;
        let cv = CertificateVerify::parse(&msg.body)?;
        let scheme = SignatureScheme::from_u16(cv.signature_scheme)
            .ok_or(Error::IllegalParameter("signature scheme not offered"))?;
        // RFC 5246 §7.4.8: the signature covers every handshake message before this one.
        verify_with_certificate(
            &self.peer_certificate,
            &self.n.transcript,
            &cv.signature,
            scheme,
        )?;
        self.n.record(&msg);
        Ok(ServerState::ExpectFinished(ExpectFinished {
            n: self.n,
            master: self.master,
            peer_certificate: self.peer_certificate,
            fingerprint_verified: self.fingerprint_verified,
        }))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectFinished {
    n: Negotiated,
    master: [u8; 48],
    peer_certificate: Vec<u8>,
    fingerprint_verified: bool,
}

impl ExpectFinished {
    /// Flight 6: ChangeCipherSpec, Finished.
    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ServerState, Error> {
        if msg.msg_type != HandshakeType::Finished || msg.epoch != 1 {
            return Err(Error::UnexpectedMessage("Finished"));
        }
        let expected = self.n.verify_data(&self.master, Role::Client);
        if !ct_eq(&parse_finished(&msg.body)?, &expected) {
            return Err(Error::BadFinished);
        }
        self.n.record(&msg);
        let verify = self.n.verify_data(&self.master, Role::Server);
        let mut flight = vec![FlightItem::ChangeCipherSpec];
        self.n
            .push(&mut flight, 1, HandshakeType::Finished, verify.to_vec());
        ctx.actions.flight = Some(flight);
        // RFC 6347 §4.2.4: the last flight is resent only when the peer retransmits.
        ctx.actions.expect_reply = false;
        ctx.actions.established = Some(Established {
            keys: self.n.session_keys(self.master),
            srtp_profile: self.n.srtp_profile,
            peer_certificate: self.peer_certificate,
            fingerprint_verified: self.fingerprint_verified,
        });
        Ok(ServerState::Connected)
    }
}

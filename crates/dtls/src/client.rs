//! The DTLS 1.2 client handshake (RFC 6347 §4.2.4 flights 1, 3 and 5), one type per state.
//! Each `handle` consumes the state and returns the next one.

use crate::certificate::{verify_with_certificate, KeyAlgorithm, SignatureScheme};
use crate::cipher_suite::{AuthAlgorithm, CipherSuite};
use crate::config::{Config, Role, SrtpProfile};
use crate::error::Error;
use crate::extensions::{Extensions, POINT_FORMAT_UNCOMPRESSED};
use crate::handshake::messages::{
    parse_empty, parse_finished, CertificateMsg, CertificateRequest, CertificateVerify,
    ClientHello, ClientKeyExchange, HelloVerifyRequest, ServerHello, ServerKeyExchange,
    CERT_TYPE_ECDSA_SIGN, CERT_TYPE_RSA_SIGN, MAX_COOKIE_LEN,
};
use crate::handshake::reassembly::Message;
use crate::handshake::HandshakeType;
use crate::key_exchange::{EphemeralKey, SUPPORTED_GROUPS};
use crate::record::DTLS_1_2;
use crate::session::{
    check_peer_certificate, ct_eq, random32, Ctx, Established, FlightItem, Negotiated,
};

#[derive(Debug)]
pub(crate) enum ClientState {
    ExpectServerHello(ExpectServerHello),
    ExpectCertificate(ExpectCertificate),
    ExpectServerKeyExchange(ExpectServerKeyExchange),
    ExpectServerHelloDone(ExpectServerHelloDone),
    ExpectFinished(ExpectFinished),
    Connected,
}

impl ClientState {
    /// Build flight 1 (ClientHello without cookie).
    pub fn start(ctx: &mut Ctx<'_>) -> Self {
        let random = random32(ctx.rng);
        let hello = client_hello(ctx.config, random);
        let mut st = ExpectServerHello {
            hello,
            hello_seq: 0,
            cookie_received: false,
        };
        st.send_hello(ctx);
        ClientState::ExpectServerHello(st)
    }

    pub fn handle(self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        match self {
            ClientState::ExpectServerHello(s) => s.handle(msg, ctx),
            ClientState::ExpectCertificate(s) => s.handle(msg, ctx),
            ClientState::ExpectServerKeyExchange(s) => s.handle(msg),
            ClientState::ExpectServerHelloDone(s) => s.handle(msg, ctx),
            ClientState::ExpectFinished(s) => s.handle(msg, ctx),
            // RFC 5746 §4.2 / RFC 5246 §7.4.1.1: we never renegotiate; ignore HelloRequest.
            ClientState::Connected if msg.msg_type == HandshakeType::HelloRequest => {
                Ok(ClientState::Connected)
            }
            ClientState::Connected => Err(Error::UnexpectedMessage("post-handshake")),
        }
    }
}

fn client_hello(config: &Config, random: [u8; 32]) -> ClientHello {
    let srtp: Vec<u16> = config.srtp_profiles.iter().map(|p| p.to_u16()).collect();
    ClientHello {
        client_version: DTLS_1_2,
        random,
        session_id: Vec::new(),
        cookie: Vec::new(),
        cipher_suites: config.cipher_suites.iter().map(|s| s.to_u16()).collect(),
        compression_methods: vec![0],
        extensions: Extensions {
            supported_groups: Some(SUPPORTED_GROUPS.to_vec()),
            ec_point_formats: Some(vec![POINT_FORMAT_UNCOMPRESSED]),
            signature_algorithms: Some(SignatureScheme::ALL.iter().map(|s| s.to_u16()).collect()),
            use_srtp: (!srtp.is_empty()).then(|| (srtp, Vec::new())),
            extended_master_secret: true,
            renegotiation_info: Some(Vec::new()),
        },
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
pub(crate) struct ExpectServerHello {
    hello: ClientHello,
    hello_seq: u16,
    cookie_received: bool,
}

impl ExpectServerHello {
    fn send_hello(&mut self, ctx: &mut Ctx<'_>) {
        let mut body = Vec::new();
        self.hello.encode(&mut body);
        ctx.actions.flight = Some(vec![FlightItem::Handshake {
            epoch: 0,
            msg_type: HandshakeType::ClientHello,
            message_seq: self.hello_seq,
            body,
        }]);
        ctx.actions.expect_reply = true;
    }

    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        if msg.msg_type == HandshakeType::HelloVerifyRequest && !self.cookie_received {
            expect(
                &msg,
                HandshakeType::HelloVerifyRequest,
                "HelloVerifyRequest",
            )?;
            let hvr = HelloVerifyRequest::parse(&msg.body)?;
            if hvr.cookie.len() > MAX_COOKIE_LEN {
                return Err(Error::IllegalParameter("cookie"));
            }
            // RFC 6347 §4.2.1: flight 3 repeats the hello with the cookie; neither the first
            // hello nor HelloVerifyRequest enters the transcript.
            self.hello.cookie = hvr.cookie;
            self.hello_seq = self.hello_seq.wrapping_add(1);
            self.cookie_received = true;
            self.send_hello(ctx);
            return Ok(ClientState::ExpectServerHello(self));
        }
        expect(&msg, HandshakeType::ServerHello, "ServerHello")?;
        let sh = ServerHello::parse(&msg.body)?;
        if sh.server_version != DTLS_1_2 {
            return Err(Error::ProtocolVersion);
        }
        let suite = CipherSuite::from_u16(sh.cipher_suite)
            .filter(|s| ctx.config.cipher_suites.contains(s))
            .ok_or(Error::IllegalParameter("cipher suite not offered"))?;
        if sh.compression_method != 0 {
            return Err(Error::IllegalParameter("compression"));
        }
        // RFC 7627 §5.2: we require extended_master_secret.
        if !sh.extensions.extended_master_secret {
            return Err(Error::HandshakeFailure(
                "server did not negotiate extended_master_secret".into(),
            ));
        }
        if sh
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            return Err(Error::HandshakeFailure(
                "renegotiation_info not empty".into(),
            ));
        }
        let srtp_profile = match &sh.extensions.use_srtp {
            None => None,
            Some((profiles, _mki)) => {
                // RFC 5764 §4.1.1: the server answers with exactly one profile we offered.
                let [p] = profiles.as_slice() else {
                    return Err(Error::IllegalParameter("use_srtp"));
                };
                Some(
                    SrtpProfile::from_u16(*p)
                        .filter(|p| ctx.config.srtp_profiles.contains(p))
                        .ok_or(Error::IllegalParameter("SRTP profile not offered"))?,
                )
            }
        };
        let mut n = Negotiated {
            client_random: self.hello.random,
            server_random: sh.random,
            suite,
            srtp_profile,
            transcript: Vec::new(),
            send_seq: self.hello_seq.wrapping_add(1),
        };
        let mut hello_body = Vec::new();
        self.hello.encode(&mut hello_body);
        n.transcript = crate::handshake::header::encode_message(
            HandshakeType::ClientHello,
            self.hello_seq,
            &hello_body,
        );
        n.record(&msg);
        Ok(ClientState::ExpectCertificate(ExpectCertificate { n }))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectCertificate {
    n: Negotiated,
}

impl ExpectCertificate {
    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        expect(&msg, HandshakeType::Certificate, "Certificate")?;
        let cert = CertificateMsg::parse(&msg.body)?;
        let fingerprint_verified = check_peer_certificate(ctx.config, &cert.chain)?;
        self.n.record(&msg);
        let peer_certificate = cert.chain.into_iter().next().ok_or(Error::NoCertificate)?;
        Ok(ClientState::ExpectServerKeyExchange(
            ExpectServerKeyExchange {
                n: self.n,
                peer_certificate,
                fingerprint_verified,
            },
        ))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectServerKeyExchange {
    n: Negotiated,
    peer_certificate: Vec<u8>,
    fingerprint_verified: bool,
}

impl ExpectServerKeyExchange {
    fn handle(mut self, msg: Message) -> Result<ClientState, Error> {
        expect(&msg, HandshakeType::ServerKeyExchange, "ServerKeyExchange")?;
        let ske = ServerKeyExchange::parse(&msg.body)?;
        if !SUPPORTED_GROUPS.contains(&ske.named_group) {
            return Err(Error::IllegalParameter("group not offered"));
        }
        let scheme = SignatureScheme::from_u16(ske.signature_scheme)
            .ok_or(Error::IllegalParameter("signature scheme not offered"))?;
        let wants_ecdsa = self.n.suite.auth() == AuthAlgorithm::Ecdsa;
        if scheme.is_ecdsa() != wants_ecdsa {
            return Err(Error::IllegalParameter(
                "signature does not fit the cipher suite",
            ));
        }
        let params = ServerKeyExchange::params(ske.named_group, &ske.public);
        let signed =
            ServerKeyExchange::signed_data(&self.n.client_random, &self.n.server_random, &params);
        verify_with_certificate(&self.peer_certificate, &signed, &ske.signature, scheme)?;
        self.n.record(&msg);
        Ok(ClientState::ExpectServerHelloDone(ExpectServerHelloDone {
            n: self.n,
            peer_certificate: self.peer_certificate,
            fingerprint_verified: self.fingerprint_verified,
            group: ske.named_group,
            server_public: ske.public,
            certificate_request: None,
        }))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectServerHelloDone {
    n: Negotiated,
    peer_certificate: Vec<u8>,
    fingerprint_verified: bool,
    group: u16,
    server_public: Vec<u8>,
    certificate_request: Option<CertificateRequest>,
}

impl ExpectServerHelloDone {
    fn handle(mut self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        if msg.msg_type == HandshakeType::CertificateRequest && self.certificate_request.is_none() {
            expect(
                &msg,
                HandshakeType::CertificateRequest,
                "CertificateRequest",
            )?;
            self.certificate_request = Some(CertificateRequest::parse(&msg.body)?);
            self.n.record(&msg);
            return Ok(ClientState::ExpectServerHelloDone(self));
        }
        expect(&msg, HandshakeType::ServerHelloDone, "ServerHelloDone")?;
        parse_empty(&msg.body)?;
        self.n.record(&msg);
        self.send_flight_5(ctx)
    }

    /// Flight 5: [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec,
    /// Finished (RFC 5246 §7.3).
    fn send_flight_5(mut self, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        let mut flight = Vec::new();
        let own = &ctx.config.certificate;
        let our_scheme = own.signature_scheme();
        if let Some(cr) = &self.certificate_request {
            let wanted_type = match own.algorithm {
                KeyAlgorithm::EcdsaP256 => CERT_TYPE_ECDSA_SIGN,
                KeyAlgorithm::Rsa { .. } => CERT_TYPE_RSA_SIGN,
            };
            if !cr.certificate_types.contains(&wanted_type)
                || !cr.signature_schemes.contains(&our_scheme.to_u16())
            {
                return Err(Error::HandshakeFailure(
                    "server does not accept our certificate type".into(),
                ));
            }
            let mut body = Vec::new();
            CertificateMsg {
                chain: vec![own.der.clone()],
            }
            .encode(&mut body);
            self.n
                .push(&mut flight, 0, HandshakeType::Certificate, body);
        }

        let key = EphemeralKey::generate(self.group, &mut &mut *ctx.rng)?;
        let premaster = zeroize::Zeroizing::new(key.agree(&self.server_public)?);
        let mut body = Vec::new();
        ClientKeyExchange {
            public: key.public(),
        }
        .encode(&mut body);
        self.n
            .push(&mut flight, 0, HandshakeType::ClientKeyExchange, body);
        let master = self.n.master_secret(&premaster);

        if self.certificate_request.is_some() {
            let signature = own.sign(&mut &mut *ctx.rng, &self.n.transcript)?;
            let mut body = Vec::new();
            CertificateVerify {
                signature_scheme: our_scheme.to_u16(),
                signature,
            }
            .encode(&mut body);
            self.n
                .push(&mut flight, 0, HandshakeType::CertificateVerify, body);
        }

        flight.push(FlightItem::ChangeCipherSpec);
        let verify = self.n.verify_data(&master, Role::Client);
        self.n
            .push(&mut flight, 1, HandshakeType::Finished, verify.to_vec());
        ctx.actions.keys = Some(self.n.traffic_keys(&master, Role::Client)?);
        ctx.actions.flight = Some(flight);
        ctx.actions.expect_reply = true;
        let expected = self.n.verify_data(&master, Role::Server);
        Ok(ClientState::ExpectFinished(ExpectFinished {
            established: Established {
                keys: self.n.session_keys(master),
                srtp_profile: self.n.srtp_profile,
                peer_certificate: self.peer_certificate,
                fingerprint_verified: self.fingerprint_verified,
            },
            expected,
        }))
    }
}

#[derive(Debug)]
pub(crate) struct ExpectFinished {
    established: Established,
    expected: [u8; 12],
}

impl ExpectFinished {
    fn handle(self, msg: Message, ctx: &mut Ctx<'_>) -> Result<ClientState, Error> {
        // RFC 5246 §7.4.9: Finished is the first message protected by the new keys.
        if msg.msg_type != HandshakeType::Finished || msg.epoch != 1 {
            return Err(Error::UnexpectedMessage("Finished"));
        }
        if !ct_eq(&parse_finished(&msg.body)?, &self.expected) {
            return Err(Error::BadFinished);
        }
        ctx.actions.established = Some(self.established);
        Ok(ClientState::Connected)
    }
}

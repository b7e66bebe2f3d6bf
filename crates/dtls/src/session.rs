//! State shared by both handshake roles once the hellos are exchanged: randoms, the chosen
//! suite, the transcript (RFC 6347 §4.2.6), outgoing message numbering, and the secrets
//! derived from them.

use rand_core::CryptoRngCore;

use crate::cipher_suite::CipherSuite;
use crate::config::{Config, Role, SrtpProfile};
use crate::error::Error;
use crate::handshake::header::encode_message;
use crate::handshake::reassembly::Message;
use crate::handshake::HandshakeType;
use crate::prf;
use crate::record_protection::RecordProtection;

/// One message or ChangeCipherSpec of a flight, kept whole for retransmission.
#[derive(Debug, Clone)]
pub(crate) enum FlightItem {
    Handshake {
        epoch: u16,
        msg_type: HandshakeType,
        message_seq: u16,
        body: Vec<u8>,
    },
    ChangeCipherSpec,
}

/// Facts the endpoint needs once the handshake has completed.
#[derive(Debug, Clone)]
pub(crate) struct Established {
    pub keys: SessionKeys,
    pub srtp_profile: Option<SrtpProfile>,
    pub peer_certificate: Vec<u8>,
    pub fingerprint_verified: bool,
}

/// What a handshake step asks the endpoint to do.
#[derive(Default)]
pub(crate) struct Actions {
    /// A new flight, replacing the one kept for retransmission.
    pub flight: Option<Vec<FlightItem>>,
    /// Whether the new flight waits for a reply (and so is retransmitted on a timer).
    pub expect_reply: bool,
    /// Sent once and forgotten (HelloVerifyRequest: the server stays stateless, RFC 6347
    /// §4.2.1).
    pub stateless: Option<Vec<FlightItem>>,
    /// Epoch 1 (read, write) protection.
    pub keys: Option<(RecordProtection, RecordProtection)>,
    pub established: Option<Established>,
}

/// What a handshake step may use.
pub(crate) struct Ctx<'a> {
    pub config: &'a Config,
    pub rng: &'a mut dyn CryptoRngCore,
    pub actions: Actions,
}

/// The master secret and randoms: enough for the exporter (RFC 5705).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionKeys {
    pub master: [u8; 48],
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub suite: CipherSuite,
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.master);
    }
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SessionKeys({:?})", self.suite)
    }
}

impl SessionKeys {
    pub fn export(&self, label: &[u8], context: Option<&[u8]>, len: usize) -> Vec<u8> {
        prf::export_keying_material(
            self.suite.prf_hash(),
            &self.master,
            &self.client_random,
            &self.server_random,
            label,
            context,
            len,
        )
    }
}

#[derive(Debug)]
pub(crate) struct Negotiated {
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub suite: CipherSuite,
    pub srtp_profile: Option<SrtpProfile>,
    /// Every handshake message so far, each as if unfragmented (RFC 6347 §4.2.6).
    pub transcript: Vec<u8>,
    /// message_seq of our next handshake message.
    pub send_seq: u16,
}

impl Negotiated {
    /// Add a received message to the transcript.
    pub fn record(&mut self, msg: &Message) {
        self.transcript.extend_from_slice(&encode_message(
            msg.msg_type,
            msg.message_seq,
            &msg.body,
        ));
    }

    /// Number, record and queue one of our messages.
    pub fn push(
        &mut self,
        flight: &mut Vec<FlightItem>,
        epoch: u16,
        msg_type: HandshakeType,
        body: Vec<u8>,
    ) {
        let message_seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.transcript
            .extend_from_slice(&encode_message(msg_type, message_seq, &body));
        flight.push(FlightItem::Handshake {
            epoch,
            msg_type,
            message_seq,
            body,
        });
    }

    pub fn hash(&self) -> Vec<u8> {
        prf::transcript_hash(self.suite.prf_hash(), &self.transcript)
    }

    /// RFC 7627 §4: the transcript must end with ClientKeyExchange when this is called.
    pub fn master_secret(&self, premaster: &[u8]) -> [u8; 48] {
        prf::extended_master_secret(self.suite.prf_hash(), premaster, &self.hash())
    }

    pub fn verify_data(&self, master: &[u8; 48], role: Role) -> [u8; 12] {
        let label: &[u8] = match role {
            Role::Client => b"client finished",
            Role::Server => b"server finished",
        };
        prf::verify_data(self.suite.prf_hash(), master, label, &self.hash())
    }

    /// Epoch 1 (read, write) record protection for `role` (RFC 5246 §6.3).
    pub fn traffic_keys(
        &self,
        master: &[u8; 48],
        role: Role,
    ) -> Result<(RecordProtection, RecordProtection), Error> {
        let aead = self.suite.aead();
        let kb = prf::key_block(
            self.suite.prf_hash(),
            master,
            &self.client_random,
            &self.server_random,
            aead.key_len(),
            aead.fixed_iv_len(),
        );
        let internal = |_| Error::Internal("record key setup".into());
        let client =
            RecordProtection::new(aead, &kb.client_key, &kb.client_iv).map_err(internal)?;
        let server =
            RecordProtection::new(aead, &kb.server_key, &kb.server_iv).map_err(internal)?;
        Ok(match role {
            Role::Client => (server, client),
            Role::Server => (client, server),
        })
    }

    pub fn session_keys(&self, master: [u8; 48]) -> SessionKeys {
        SessionKeys {
            master,
            client_random: self.client_random,
            server_random: self.server_random,
            suite: self.suite,
        }
    }
}

/// Check the peer's leaf certificate against the expected SDP fingerprint; returns whether a
/// fingerprint was checked.
pub(crate) fn check_peer_certificate(config: &Config, chain: &[Vec<u8>]) -> Result<bool, Error> {
    let leaf = chain.first().ok_or(Error::NoCertificate)?;
    match &config.expected_remote_fingerprint {
        Some(fp) if fp.matches(leaf) => Ok(true),
        Some(_) => Err(Error::FingerprintMismatch),
        None => Ok(false),
    }
}

pub(crate) fn random32(rng: &mut dyn CryptoRngCore) -> [u8; 32] {
    let mut r = [0u8; 32];
    rng.fill_bytes(&mut r);
    r
}

/// Constant-time comparison for cookies and verify_data.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

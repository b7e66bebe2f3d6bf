//! The sans-IO DTLS endpoint: feed it datagrams and time, drain datagrams, events and the next
//! deadline. Owns the record layer (epochs, sequence numbers, AEAD, replay window), flights and
//! their retransmission (RFC 6347 §4.2.4), and hands whole handshake messages to the client or
//! server state machine.
//!
//! ChangeCipherSpec is accepted but not relied on: a DTLS peer's epoch-1 Finished may overtake
//! its CCS, so we decrypt epoch 1 as soon as the keys exist and require Finished, and only
//! Finished, to arrive under them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::cipher_suite::CipherSuite;
use crate::client::ClientState;
use crate::config::{Config, Fingerprint, Role, SrtpProfile, MAX_RETRANSMIT};
use crate::error::{alert, Error};
use crate::handshake::header::{fragment_message, parse_fragments};
use crate::handshake::reassembly::{Offer, Reassembler};
use crate::handshake::HandshakeType;
use crate::record::{
    encode_header, ContentType, Record, DTLS_1_2, MAX_SEQUENCE, RECORD_HEADER_LEN,
};
use crate::record_protection::RecordProtection;
use crate::replay::ReplayWindow;
use crate::server::ServerState;
use crate::session::{Actions, Ctx, FlightItem, SessionKeys};

/// Largest application data record plaintext (RFC 5246 §6.2.1).
pub const MAX_PLAINTEXT: usize = 1 << 14;
/// Smallest MTU we accept from configuration.
const MIN_MTU: usize = 256;
/// Epoch-1 records kept while their keys are not derived yet (reordered Finished).
const MAX_PENDING: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed.
    Connected {
        srtp_profile: Option<SrtpProfile>,
        cipher_suite: CipherSuite,
        /// The peer's leaf certificate (DER).
        peer_certificate: Vec<u8>,
        /// Whether it was checked against `Config::expected_remote_fingerprint`.
        fingerprint_verified: bool,
    },
    ApplicationData(Vec<u8>),
    /// No more data will flow (close_notify sent or received, or after `Error`).
    Closed,
    Error(Error),
}

#[derive(Debug)]
enum HandshakeState {
    Client(ClientState),
    Server(ServerState),
}

pub struct Endpoint {
    role: Role,
    config: Config,
    rng: Box<dyn CryptoRngCore + Send>,
    /// `None` after a fatal error or close.
    state: Option<HandshakeState>,
    reassembler: Reassembler,
    read_keys: Option<RecordProtection>,
    write_keys: Option<RecordProtection>,
    /// Epoch for alerts and application data: 1 once we sent ChangeCipherSpec.
    write_epoch: u16,
    write_seq: [u64; 2],
    replay: [ReplayWindow; 2],
    /// Our last flight, kept for retransmission.
    flight: Vec<FlightItem>,
    retransmit_at: Option<Instant>,
    rto: Duration,
    /// message_seq of the last message of the peer's flight we answered with `flight`: seeing
    /// it again means our answer was lost.
    answered_seq: Option<u16>,
    deadline: Option<Instant>,
    pending: Vec<Vec<u8>>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    session: Option<(SessionKeys, Option<SrtpProfile>, Vec<u8>)>,
    closed: bool,
    /// Record sequence number of the last epoch-0 record received.
    last_epoch0_seq: u64,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Create an endpoint; a client queues its first ClientHello at once. `now` starts the
    /// retransmission timer and the handshake timeout.
    pub fn new(
        role: Role,
        mut config: Config,
        rng: impl CryptoRngCore + Send + 'static,
        now: Instant,
    ) -> Self {
        config.mtu = config.mtu.max(MIN_MTU);
        let mut ep = Endpoint {
            role,
            rto: config.initial_retransmit,
            deadline: Some(now + config.handshake_timeout),
            config,
            rng: Box::new(rng),
            state: None,
            reassembler: Reassembler::new(),
            read_keys: None,
            write_keys: None,
            write_epoch: 0,
            write_seq: [0; 2],
            replay: [ReplayWindow::new(), ReplayWindow::new()],
            flight: Vec::new(),
            retransmit_at: None,
            answered_seq: None,
            pending: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            session: None,
            closed: false,
            last_epoch0_seq: 0,
        };
        let mut ctx = Ctx {
            config: &ep.config,
            rng: &mut *ep.rng,
            actions: Actions::default(),
        };
        let state = match role {
            Role::Client => HandshakeState::Client(ClientState::start(&mut ctx)),
            Role::Server => HandshakeState::Server(ServerState::start(&mut ctx)),
        };
        let actions = ctx.actions;
        ep.state = Some(state);
        ep.apply(now, actions);
        ep
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_connected(&self) -> bool {
        self.session.is_some() && !self.closed
    }

    /// Set or replace the expected SDP fingerprint. The remote description can arrive after
    /// the handshake finished (ICE and DTLS may outrun signaling): then the peer's certificate
    /// is checked now, and a mismatch ends the connection with bad_certificate. Returns whether
    /// a peer certificate was checked and matched.
    pub fn set_remote_fingerprint(&mut self, fingerprint: Fingerprint) -> Result<bool, Error> {
        let checked = match &self.session {
            Some((_, _, peer)) if fingerprint.matches(peer) => true,
            Some(_) => {
                self.fail(Error::FingerprintMismatch);
                return Err(Error::FingerprintMismatch);
            }
            None => false,
        };
        self.config.expected_remote_fingerprint = Some(fingerprint);
        Ok(checked)
    }

    /// The negotiated cipher suite once connected.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.session.as_ref().map(|(k, _, _)| k.suite)
    }

    /// The negotiated DTLS-SRTP profile once connected, if use_srtp was agreed.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.session.as_ref().and_then(|(_, p, _)| *p)
    }

    /// The peer's leaf certificate once connected.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.session.as_ref().map(|(_, _, c)| c.as_slice())
    }

    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.closed {
            return;
        }
        for rec in Record::parse_datagram(datagram) {
            self.handle_record(now, &rec);
            if self.closed {
                return;
            }
        }
        if self.read_keys.is_some() && !self.pending.is_empty() {
            for raw in std::mem::take(&mut self.pending) {
                if let Some(rec) = Record::parse_datagram(&raw).first() {
                    self.handle_record(now, rec);
                }
            }
        }
    }

    pub fn poll_datagram(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` next has work: a retransmission or the handshake deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        match (self.retransmit_at, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            self.fail(Error::Timeout);
            return;
        }
        if self.retransmit_at.is_some_and(|t| now >= t) {
            // RFC 6347 §4.2.4.1: double the timer on each retransmission, up to 60 s.
            self.rto = (self.rto * 2).min(MAX_RETRANSMIT);
            self.retransmit_at = Some(now + self.rto);
            self.send_flight();
        }
    }

    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.session.is_none() {
            return Err(Error::NotConnected);
        }
        if data.len() > MAX_PLAINTEXT {
            return Err(Error::RecordOverflow);
        }
        let rec = self.seal(ContentType::ApplicationData, 1, data)?;
        self.transmit.push_back(rec);
        Ok(())
    }

    /// RFC 5705 keying material (no context), e.g. "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2).
    pub fn export_keying_material(&self, label: &str, len: usize) -> Result<Vec<u8>, Error> {
        let (keys, _, _) = self.session.as_ref().ok_or(Error::NotConnected)?;
        Ok(keys.export(label.as_bytes(), None, len))
    }

    /// The negotiated SRTP profile and its keying material (client key, server key, client
    /// salt, server salt; RFC 5764 §4.2).
    pub fn srtp_keying_material(&self) -> Result<(SrtpProfile, Vec<u8>), Error> {
        let (keys, profile, _) = self.session.as_ref().ok_or(Error::NotConnected)?;
        let profile = profile.ok_or(Error::NotConnected)?;
        Ok((
            profile,
            keys.export(b"EXTRACTOR-dtls_srtp", None, profile.keying_material_len()),
        ))
    }

    /// Send close_notify (RFC 5246 §7.2.1) and stop.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.send_alert(alert::LEVEL_WARNING, alert::CLOSE_NOTIFY);
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.closed = true;
        self.state = None;
        self.flight.clear();
        self.retransmit_at = None;
        self.deadline = None;
        self.events.push_back(Event::Closed);
    }

    fn fail(&mut self, e: Error) {
        if let Some(desc) = e.alert() {
            self.send_alert(alert::LEVEL_FATAL, desc);
        }
        self.events.push_back(Event::Error(e));
        self.shut_down();
    }

    fn handle_record(&mut self, now: Instant, rec: &Record<'_>) {
        let epoch = rec.epoch;
        let plaintext = match epoch {
            0 => {
                if !self.replay[0].check(rec.sequence) {
                    return;
                }
                self.last_epoch0_seq = rec.sequence;
                rec.fragment.to_vec()
            }
            1 => {
                let Some(keys) = &self.read_keys else {
                    if self.pending.len() < MAX_PENDING {
                        let mut raw = Vec::new();
                        rec.encode(&mut raw);
                        self.pending.push(raw);
                    }
                    return;
                };
                if !self.replay[1].check(rec.sequence) {
                    return;
                }
                // RFC 6347 §4.1.2.7: records that fail authentication are silently dropped.
                match keys.decrypt(rec.content_type, 1, rec.sequence, rec.fragment) {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
            _ => return,
        };
        self.replay[usize::from(epoch)].mark(rec.sequence);
        match rec.content_type {
            ContentType::Handshake => self.handle_handshake(now, epoch, &plaintext),
            ContentType::ChangeCipherSpec => {}
            ContentType::Alert => self.handle_alert(epoch, &plaintext),
            ContentType::ApplicationData => {
                if epoch == 1 && self.session.is_some() {
                    self.events.push_back(Event::ApplicationData(plaintext));
                }
            }
        }
    }

    fn handle_alert(&mut self, epoch: u16, body: &[u8]) {
        let [level, desc] = body else { return };
        // Once keys are in use, an unprotected alert may be forged: ignore it.
        if epoch == 0 && self.session.is_some() {
            return;
        }
        if *desc == alert::CLOSE_NOTIFY {
            self.send_alert(alert::LEVEL_WARNING, alert::CLOSE_NOTIFY);
            self.shut_down();
        } else if *level == alert::LEVEL_FATAL {
            self.events.push_back(Event::Error(Error::PeerAlert(*desc)));
            self.shut_down();
        }
    }

    fn handle_handshake(&mut self, now: Instant, epoch: u16, body: &[u8]) {
        let Ok(fragments) = parse_fragments(body) else {
            return;
        };
        let mut peer_retransmitted = false;
        for (h, piece) in fragments {
            // Finished travels under the new keys, everything else before them.
            if (h.msg_type == HandshakeType::Finished) != (epoch == 1) {
                continue;
            }
            // The stateless server follows whatever numbering the client hello carries.
            if h.msg_type == HandshakeType::ClientHello
                && h.message_seq != self.reassembler.next_seq()
                && matches!(&self.state, Some(HandshakeState::Server(s)) if s.expects_client_hello())
            {
                self.reassembler.reset_to(h.message_seq);
            }
            if self.reassembler.offer(&h, piece, epoch) == Offer::Old
                && self.answered_seq == Some(h.message_seq)
            {
                peer_retransmitted = true;
            }
        }
        if peer_retransmitted {
            // RFC 6347 §4.2.4: the peer resent its flight, so ours was lost.
            self.send_flight();
        }
        while let Some(msg) = self.reassembler.pop() {
            let Some(state) = self.state.take() else {
                return;
            };
            let mut ctx = Ctx {
                config: &self.config,
                rng: &mut *self.rng,
                actions: Actions::default(),
            };
            let next = match state {
                HandshakeState::Client(s) => s.handle(msg, &mut ctx).map(HandshakeState::Client),
                HandshakeState::Server(s) => s.handle(msg, &mut ctx).map(HandshakeState::Server),
            };
            let actions = ctx.actions;
            match next {
                Ok(next) => {
                    self.state = Some(next);
                    self.apply(now, actions);
                }
                Err(e) => {
                    self.fail(e);
                    return;
                }
            }
        }
    }

    fn apply(&mut self, now: Instant, actions: Actions) {
        if let Some((read, write)) = actions.keys {
            self.read_keys = Some(read);
            self.write_keys = Some(write);
        }
        if let Some(items) = actions.stateless {
            // RFC 6347 §4.2.1: HelloVerifyRequest reuses the ClientHello's record sequence
            // number (never going backwards, so ours stay unique).
            self.write_seq[0] = self.write_seq[0].max(self.last_epoch0_seq);
            self.send_items(&items);
        }
        if let Some(flight) = actions.flight {
            self.flight = flight;
            self.answered_seq = self.reassembler.next_seq().checked_sub(1);
            self.rto = self.config.initial_retransmit;
            self.retransmit_at = actions.expect_reply.then(|| now + self.rto);
            self.send_flight();
        }
        if let Some(est) = actions.established {
            if self.role == Role::Client {
                // Flight 6 arrived: nothing of ours is left unanswered.
                self.flight.clear();
            }
            self.retransmit_at = None;
            self.deadline = None;
            self.events.push_back(Event::Connected {
                srtp_profile: est.srtp_profile,
                cipher_suite: est.keys.suite,
                peer_certificate: est.peer_certificate.clone(),
                fingerprint_verified: est.fingerprint_verified,
            });
            self.session = Some((est.keys, est.srtp_profile, est.peer_certificate));
        }
    }

    fn send_flight(&mut self) {
        let flight = std::mem::take(&mut self.flight);
        self.send_items(&flight);
        self.flight = flight;
    }

    /// Fragment to the MTU (RFC 6347 §4.1.1.1), protect, and pack records into datagrams.
    fn send_items(&mut self, items: &[FlightItem]) {
        let mut records = Vec::new();
        for item in items {
            match item {
                FlightItem::Handshake {
                    epoch,
                    msg_type,
                    message_seq,
                    body,
                } => {
                    let overhead = match (epoch, &self.write_keys) {
                        (1, Some(k)) => k.overhead(),
                        _ => 0,
                    };
                    let room = self.config.mtu - RECORD_HEADER_LEN - overhead;
                    for frag in fragment_message(*msg_type, *message_seq, body, room) {
                        match self.seal(ContentType::Handshake, *epoch, &frag) {
                            Ok(r) => records.push(r),
                            Err(e) => return self.fail(e),
                        }
                    }
                }
                FlightItem::ChangeCipherSpec => {
                    match self.seal(ContentType::ChangeCipherSpec, 0, &[1]) {
                        Ok(r) => records.push(r),
                        Err(e) => return self.fail(e),
                    }
                    self.write_epoch = 1;
                }
            }
        }
        let mut datagram = Vec::new();
        for r in records {
            if !datagram.is_empty() && datagram.len() + r.len() > self.config.mtu {
                self.transmit.push_back(std::mem::take(&mut datagram));
            }
            datagram.extend_from_slice(&r);
        }
        if !datagram.is_empty() {
            self.transmit.push_back(datagram);
        }
    }

    /// One record in `epoch` with the next sequence number, encrypted in epoch 1.
    fn seal(&mut self, ty: ContentType, epoch: u16, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let idx = usize::from(epoch.min(1));
        let seq = self.write_seq[idx];
        // RFC 6347 §4.1: sequence numbers must not wrap (we never renegotiate).
        if seq > MAX_SEQUENCE {
            return Err(Error::Internal("record sequence numbers exhausted".into()));
        }
        self.write_seq[idx] += 1;
        let fragment = if epoch == 0 {
            plaintext.to_vec()
        } else {
            let keys = self
                .write_keys
                .as_ref()
                .ok_or_else(|| Error::Internal("no epoch 1 keys".into()))?;
            keys.encrypt(ty, epoch, seq, plaintext)
                .map_err(|e| Error::Internal(e.to_string()))?
        };
        let mut out = Vec::with_capacity(RECORD_HEADER_LEN + fragment.len());
        encode_header(&mut out, ty, DTLS_1_2, epoch, seq, fragment.len());
        out.extend_from_slice(&fragment);
        Ok(out)
    }

    fn send_alert(&mut self, level: u8, desc: u8) {
        let epoch = if self.write_keys.is_some() {
            self.write_epoch
        } else {
            0
        };
        if let Ok(rec) = self.seal(ContentType::Alert, epoch, &[level, desc]) {
            self.transmit.push_back(rec);
        }
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;

//! The ICE agent (RFC 8445, full implementation, one component, UDP): owns the candidates,
//! the checklist, the STUN transactions and consent, and reports through events. It never
//! reads a clock or touches a socket: `now` comes with every input and datagrams go out
//! through `poll_transmit`.

use super::candidates::{CandidateSkipped, LocalCandidate, RemoteCandidate};
use super::consent::Consent;
use super::pair::{CandidatePair, PairState};
use super::transaction::{Purpose, Transaction};
use crate::api::IceConnectionState;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 8445 §14.2 pacing: one new check every Ta (Chromium paces at about 50 ms too).
pub const TA: Duration = Duration::from_millis(50);
/// RFC 8445 §6.1.2.5 recommends limiting a checklist to 100 pairs.
pub const MAX_PAIRS: usize = 100;
/// Regular nomination (§8.1.1) waits for better pairs; after this long since the first valid
/// pair the controlling agent nominates the best valid one anyway.
pub const NOMINATION_WAIT: Duration = Duration::from_millis(500);

/// How many finished transaction ids are remembered for late/duplicate responses.
const FINISHED_MEMORY: usize = 64;

/// ICE username fragment and password (RFC 8445 §5.3, RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

/// A datagram to send from the local base `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// What the agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    /// RTCIceConnectionState changed (only on an actual change).
    StateChanged(IceConnectionState),
    /// Application data now goes from `local` (a base) to `remote`.
    SelectedPair {
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// A check came from an address the peer never signalled (RFC 8445 §7.3.1.3).
    NewPeerReflexiveRemote(RemoteCandidate),
    /// Role conflict resolution (§7.3.1.1, §7.2.5.1) or ICE-lite made us change role.
    RoleChanged { controlling: bool },
}

/// The selected pair of the generation before an ICE restart: it carries data, and keeps
/// its consent with the old credentials, until the new generation selects a pair (§9).
#[derive(Debug)]
pub(crate) struct PreviousGeneration {
    pub local: IceCredentials,
    pub remote: IceCredentials,
    pub key: (SocketAddr, SocketAddr),
    pub consent: Consent,
}

/// A full ICE agent.
#[derive(Debug)]
pub struct IceAgent {
    pub(crate) local_creds: IceCredentials,
    pub(crate) remote_creds: Option<IceCredentials>,
    pub(crate) controlling: bool,
    pub(crate) tie_breaker: u64,
    pub(crate) remote_lite: bool,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) locals: Vec<LocalCandidate>,
    pub(crate) remotes: Vec<RemoteCandidate>,
    pub(crate) pairs: Vec<CandidatePair>,
    /// Triggered checks (§7.3.1.4) by pair key, with USE-CANDIDATE when nominating.
    pub(crate) triggered: VecDeque<((SocketAddr, SocketAddr), bool)>,
    pub(crate) transactions: Vec<Transaction>,
    /// Ids of recently finished transactions: a duplicated or late response to one is still
    /// ICE's (consumed, ignored), not something for the TURN client.
    pub(crate) finished: VecDeque<polyrtc_stun::TransactionId>,
    pub(crate) last_check_at: Option<Instant>,
    pub(crate) first_valid_at: Option<Instant>,
    /// A USE-CANDIDATE check of ours is outstanding (controlling, regular nomination).
    pub(crate) nominating: bool,
    /// The current ICE generation has nominated a pair (false again after `restart`).
    pub(crate) generation_selected: bool,
    pub(crate) selected: Option<(SocketAddr, SocketAddr)>,
    /// None while no pair is selected, or after a restart until the new generation selects.
    pub(crate) consent: Option<Consent>,
    pub(crate) previous: Option<PreviousGeneration>,
    pub(crate) end_of_remote: bool,
    /// Consent was lost (RFC 7675): final until `restart`.
    pub(crate) failed: bool,
    pub(crate) closed: bool,
    pub(crate) state: IceConnectionState,
    pub(crate) prflx_count: u32,
    pub(crate) last_now: Instant,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<IceEvent>,
}

impl IceAgent {
    /// A new agent. Transaction ids and consent jitter come from a ChaCha20 stream seeded by
    /// the tie-breaker and our (secret) password; `set_rng_seed` replaces it.
    pub fn new(local: IceCredentials, controlling: bool, tie_breaker: u64, now: Instant) -> Self {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&tie_breaker.to_le_bytes());
        for (i, b) in local.pwd.bytes().enumerate() {
            if let Some(s) = seed.get_mut(8 + i % 24) {
                *s ^= b;
            }
        }
        IceAgent {
            local_creds: local,
            remote_creds: None,
            controlling,
            tie_breaker,
            remote_lite: false,
            rng: ChaCha20Rng::from_seed(seed),
            locals: Vec::new(),
            remotes: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            transactions: Vec::new(),
            finished: VecDeque::new(),
            last_check_at: None,
            first_valid_at: None,
            nominating: false,
            generation_selected: false,
            selected: None,
            consent: None,
            previous: None,
            end_of_remote: false,
            failed: false,
            closed: false,
            state: IceConnectionState::New,
            prflx_count: 0,
            last_now: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Replace the randomness source (the engine passes bytes from its seeded RNG).
    pub fn set_rng_seed(&mut self, seed: [u8; 32]) {
        self.rng = ChaCha20Rng::from_seed(seed);
    }

    pub fn local_credentials(&self) -> &IceCredentials {
        &self.local_creds
    }

    pub fn controlling(&self) -> bool {
        self.controlling
    }

    pub fn state(&self) -> IceConnectionState {
        self.state
    }

    /// The peer's ufrag/pwd from its description. A different ufrag than before means the
    /// peer restarted ICE: its candidates and our pairs of the old generation go.
    pub fn set_remote_credentials(&mut self, creds: IceCredentials) {
        if let Some(old) = &self.remote_creds {
            if old.ufrag != creds.ufrag {
                self.clear_generation();
            }
        }
        self.remote_creds = Some(creds);
    }

    /// RFC 8445 §6.1.1: a full agent facing a lite one is controlling. With a lite peer we
    /// keep regular nomination (§8.1.1; the lite side only answers).
    pub fn set_remote_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.controlling {
            self.set_role(true);
        }
    }

    pub fn add_local_candidate(&mut self, c: LocalCandidate) {
        if self.closed
            || self
                .locals
                .iter()
                .any(|l| l.addr == c.addr && l.base == c.base)
        {
            return;
        }
        self.locals.push(c.clone());
        let remotes = self.remotes.clone();
        for r in &remotes {
            self.add_pair(&c, r);
        }
        self.update_waiting();
    }

    /// A remote candidate from SDP or trickle. A candidate the agent already learned as
    /// peer-reflexive takes its signalled type and priority (RFC 8445 §7.3.1.3 note).
    pub fn add_remote_candidate(&mut self, c: RemoteCandidate) -> Result<(), CandidateSkipped> {
        if self.closed {
            return Err(CandidateSkipped::Closed);
        }
        if let Some(known) = self.remotes.iter_mut().find(|r| r.addr == c.addr) {
            if known.kind != super::candidates::CandidateKind::PeerReflexive {
                return Err(CandidateSkipped::Duplicate);
            }
            *known = c.clone();
            let controlling = self.controlling;
            for p in self.pairs.iter_mut().filter(|p| p.remote == c.addr) {
                p.remote_kind = c.kind;
                p.remote_priority = c.priority;
                p.recompute_priority(controlling);
            }
            self.sort_pairs();
            return Ok(());
        }
        self.remotes.push(c.clone());
        let locals = self.locals.clone();
        for l in &locals {
            self.add_pair(l, &c);
        }
        self.update_waiting();
        Ok(())
    }

    /// A remote candidate straight from an SDP/trickle line: `.local` (mDNS), TCP and
    /// non-RTP-component candidates are skipped with the reason.
    pub fn add_remote_candidate_sdp(
        &mut self,
        c: &crate::candidate::Candidate,
    ) -> Result<(), CandidateSkipped> {
        self.add_remote_candidate(RemoteCandidate::from_sdp(c)?)
    }

    /// The peer signalled end-of-candidates (RFC 8838 §8.2): all pairs failing is now final.
    pub fn end_of_remote_candidates(&mut self) {
        self.end_of_remote = true;
    }

    /// `Some((local base, remote))` of the pair application data uses.
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected
    }

    pub fn pairs(&self) -> impl Iterator<Item = &CandidatePair> {
        self.pairs.iter()
    }

    pub fn local_candidates(&self) -> impl Iterator<Item = &LocalCandidate> {
        self.locals.iter()
    }

    pub fn remote_candidates(&self) -> impl Iterator<Item = &RemoteCandidate> {
        self.remotes.iter()
    }

    /// ICE restart (RFC 8445 §9): new local credentials, the peer's to come; candidates of
    /// ours are kept, pairs and remote candidates go. The selected pair keeps carrying data
    /// until the new generation nominates one.
    pub fn restart(&mut self, local: IceCredentials, now: Instant) {
        if self.closed {
            return;
        }
        self.last_now = now;
        let old_local = std::mem::replace(&mut self.local_creds, local);
        let old_remote = self.remote_creds.take();
        // A second restart before the new generation selected keeps the older pair's state.
        if self.generation_selected || self.previous.is_none() {
            self.previous = match (self.selected, old_remote, self.consent.take()) {
                (Some(key), Some(remote), Some(consent)) if !self.failed => {
                    Some(PreviousGeneration {
                        local: old_local,
                        remote,
                        key,
                        consent,
                    })
                }
                _ => None,
            };
        }
        self.clear_generation();
        self.update_state(now);
    }

    fn clear_generation(&mut self) {
        self.remotes.clear();
        self.pairs.clear();
        self.triggered.clear();
        self.transactions.clear();
        self.first_valid_at = None;
        self.nominating = false;
        self.generation_selected = false;
        self.consent = None;
        self.end_of_remote = false;
        self.failed = false;
    }

    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.clear_generation();
        self.selected = None;
        self.previous = None;
        self.transmits.clear();
        self.set_state(IceConnectionState::Closed);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// Application data went out on a pair (for RTCIceCandidatePairStats).
    pub fn note_data_sent(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        bytes: usize,
        now: Instant,
    ) {
        if let Some(p) = self.pair_mut((local, remote)) {
            p.bytes_sent += bytes as u64;
            p.packets_sent += 1;
            p.last_packet_sent = Some(now);
        }
    }

    /// Application data could not be sent on a pair (the relay path refused it).
    pub fn note_data_discarded(&mut self, local: SocketAddr, remote: SocketAddr, bytes: usize) {
        if let Some(p) = self.pair_mut((local, remote)) {
            p.bytes_discarded_on_send += bytes as u64;
            p.packets_discarded_on_send += 1;
        }
    }

    /// Application data arrived on a pair.
    pub fn note_data_received(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        bytes: usize,
        now: Instant,
    ) {
        if let Some(p) = self.pair_mut((local, remote)) {
            p.bytes_received += bytes as u64;
            p.packets_received += 1;
            p.last_packet_received = Some(now);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for tx in &self.transactions {
            at(tx.next_at);
        }
        if self.has_pending_check() {
            // Triggered checks are not paced (checklist.rs, pace_check).
            let paced = self.last_check_at.map_or(self.last_now, |c| c + TA);
            at(if self.triggered.is_empty() {
                paced
            } else {
                self.last_now
            });
        }
        if let Some(c) = self.active_consent() {
            if !self.failed {
                at(c.deadline(self.last_now));
            }
        }
        if let Some(first) = self.first_valid_at {
            let valid = self.pairs.iter().any(|p| p.state == PairState::Succeeded);
            if self.controlling && !self.generation_selected && !self.nominating && valid {
                at(first + NOMINATION_WAIT);
            }
        }
        t
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.last_now = self.last_now.max(now);
        self.expire_transactions(now);
        self.maybe_nominate(now);
        self.pace_check(now);
        self.consent_tick(now);
        self.update_state(now);
    }

    pub(crate) fn remember_finished(&mut self, tid: polyrtc_stun::TransactionId) {
        if self.finished.len() >= FINISHED_MEMORY {
            self.finished.pop_front();
        }
        self.finished.push_back(tid);
    }

    pub(crate) fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub(crate) fn pair_mut(&mut self, key: (SocketAddr, SocketAddr)) -> Option<&mut CandidatePair> {
        self.pairs.iter_mut().find(|p| p.key() == key)
    }

    pub(crate) fn pair(&self, key: (SocketAddr, SocketAddr)) -> Option<&CandidatePair> {
        self.pairs.iter().find(|p| p.key() == key)
    }

    pub(crate) fn set_role(&mut self, controlling: bool) {
        if self.controlling == controlling {
            return;
        }
        self.controlling = controlling;
        for p in &mut self.pairs {
            p.recompute_priority(controlling);
        }
        self.sort_pairs();
        self.events.push_back(IceEvent::RoleChanged { controlling });
    }

    pub(crate) fn sort_pairs(&mut self) {
        self.pairs.sort_by_key(|p| std::cmp::Reverse(p.priority));
    }

    pub(crate) fn transmit(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        if !self.closed {
            self.transmits.push_back(Transmit { from, to, data });
        }
    }

    fn set_state(&mut self, state: IceConnectionState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(IceEvent::StateChanged(state));
        }
    }

    /// Recompute RTCIceConnectionState. Chromium never reports `completed`, nor do we.
    pub(crate) fn update_state(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(c) = self.active_consent() {
            if c.expired(now) {
                // RFC 7675 §5.1: consent lost; stop sending on the pair.
                self.failed = true;
                self.consent = None;
                self.previous = None;
                self.transactions.clear();
                self.triggered.clear();
            }
        }
        let all_failed =
            !self.pairs.is_empty() && self.pairs.iter().all(|p| p.state == PairState::Failed);
        // Checklist failure is not sticky: a late check from the peer (a new peer-reflexive
        // pair) brings the agent back to checking, as in Chromium. Lost consent is final.
        let checklist_failed = self.selected.is_none() && self.end_of_remote && all_failed;
        let state = if self.failed || checklist_failed {
            IceConnectionState::Failed
        } else if self.selected.is_some() {
            match self.active_consent() {
                Some(c) if c.disconnected(now) => IceConnectionState::Disconnected,
                _ => IceConnectionState::Connected,
            }
        } else if self.pairs.is_empty() {
            // Chromium stays "new" until there is something to check.
            self.state.min_new()
        } else {
            IceConnectionState::Checking
        };
        self.set_state(state);
    }

    /// Select the pair `key` (nominated) and start consent on it.
    pub(crate) fn select(&mut self, key: (SocketAddr, SocketAddr), now: Instant) {
        self.generation_selected = true;
        self.previous = None;
        let random = self.random_u64();
        if self.consent.is_none() || self.selected != Some(key) {
            self.consent = Some(Consent::start(now, random));
        }
        if self.selected != Some(key) {
            self.selected = Some(key);
            self.events.push_back(IceEvent::SelectedPair {
                local: key.0,
                remote: key.1,
            });
        }
    }

    /// Consent of the pair data uses: this generation's, or during a restart the old one's.
    pub(crate) fn active_consent(&self) -> Option<&Consent> {
        self.consent
            .as_ref()
            .or(self.previous.as_ref().map(|p| &p.consent))
    }

    /// During a restart, consent checks on the old pair use the old credentials.
    fn previous_consent_tick(&mut self, now: Instant) {
        let random = self.random_u64();
        let Some(prev) = self.previous.as_mut() else {
            return;
        };
        if self.failed || !prev.consent.due(now) {
            return;
        }
        prev.consent.on_sent(now, random);
        let (key, local, remote) = (prev.key, prev.local.clone(), prev.remote.clone());
        self.send_check(key, Purpose::Consent, now, &local, &remote);
    }

    /// Send a consent check on the selected pair when due (RFC 7675 §5.1).
    fn consent_tick(&mut self, now: Instant) {
        self.previous_consent_tick(now);
        let (Some(key), Some(c)) = (self.selected, &self.consent) else {
            return;
        };
        if self.failed || !c.due(now) || self.remote_creds.is_none() {
            return;
        }
        let random = self.random_u64();
        if let Some(c) = &mut self.consent {
            c.on_sent(now, random);
        }
        self.start_check(key, Purpose::Consent, now);
    }

    /// When the last authenticated response on the selected pair arrived.
    pub fn last_consent_response(&self) -> Option<Instant> {
        self.active_consent().map(Consent::last_response)
    }
}

trait MinNew {
    fn min_new(self) -> Self;
}

impl MinNew for IceConnectionState {
    /// Without pairs we are "new", unless a restart left an earlier state to keep showing.
    fn min_new(self) -> Self {
        match self {
            IceConnectionState::Checking => IceConnectionState::Checking,
            _ => IceConnectionState::New,
        }
    }
}

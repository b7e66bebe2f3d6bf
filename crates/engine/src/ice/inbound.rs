//! Incoming STUN for the agent: checks from the peer (RFC 8445 §7.3) and responses to ours
//! (§7.2.5).

use super::agent::{IceAgent, IceEvent};
use super::candidates::LocalCandidate;
use super::demux::{classify_datagram, PacketKind};
use super::pair::{CandidatePair, PairState};
use super::stun_check::{build_error, build_success, validate_request, IncomingCheck, RemoteRole};
use super::transaction::{Purpose, Transaction};
use polyrtc_stun::{Class, Message, Method, XOR_MAPPED_ADDRESS};
use std::net::SocketAddr;
use std::time::Instant;

impl IceAgent {
    /// Feed a datagram that arrived on the socket (or relay) whose address is `local_base`.
    /// Returns true when it was a STUN Binding message for ICE and has been consumed; other
    /// STUN (TURN responses, a STUN server's answers) and non-STUN data return false.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        local_base: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) -> bool {
        if self.closed || classify_datagram(data) != PacketKind::Stun {
            return false;
        }
        let Ok(msg) = Message::parse(data) else {
            return false;
        };
        if msg.method != Method::BINDING {
            return false;
        }
        self.last_now = self.last_now.max(now);
        let consumed = match msg.class {
            Class::Request => {
                self.handle_request(now, local_base, from, &msg);
                true
            }
            // RFC 8445 §11: Binding indications are keepalives; nothing to answer.
            Class::Indication => true,
            Class::Success | Class::Error => self.handle_response(now, local_base, from, &msg),
        };
        self.maybe_nominate(now);
        // Triggered checks (and a nomination) this packet caused leave now, not at the next
        // pacing tick.
        if !self.triggered.is_empty() {
            self.pace_check(now);
        }
        self.update_state(now);
        consumed
    }

    fn handle_request(
        &mut self,
        now: Instant,
        base: SocketAddr,
        from: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id;
        if self.answer_previous_generation(base, from, msg) {
            return;
        }
        let check = match validate_request(msg, &self.local_creds) {
            Ok(c) => c,
            Err(code) => {
                let data = build_error(tid, code, None);
                self.transmit(base, from, data);
                return;
            }
        };
        // The sender's ufrag must be the one its description gave (RFC 8445 §7.3); a check of
        // an older generation is stale. Before the description arrives any ufrag is fine.
        let stale = self
            .remote_creds
            .as_ref()
            .is_some_and(|rc| rc.ufrag != check.remote_ufrag);
        if stale {
            let data = build_error(tid, 401, None);
            self.transmit(base, from, data);
            return;
        }
        if self.role_conflict(&check) {
            let data = build_error(tid, 487, Some(&self.local_creds.pwd));
            self.transmit(base, from, data);
            return;
        }
        let data = build_success(tid, from, &self.local_creds.pwd);
        self.transmit(base, from, data);
        let key = (base, from);
        if self.pair(key).is_none() && !self.pair_for_request(base, from, check.priority) {
            return;
        }
        self.on_valid_request(key, &check, now);
    }

    /// Pair bookkeeping for an answered check: counters, triggered check, nomination.
    fn on_valid_request(
        &mut self,
        key: (SocketAddr, SocketAddr),
        check: &IncomingCheck,
        now: Instant,
    ) {
        let controlling = self.controlling;
        let Some(p) = self.pair_mut(key) else { return };
        p.requests_received += 1;
        p.responses_sent += 1;
        p.last_request_received = Some(now);
        let state = p.state;
        // §7.3.1.5: a controlled agent takes USE-CANDIDATE as the nomination of this pair.
        let nominate_now = !controlling && check.use_candidate && state == PairState::Succeeded;
        if !controlling && check.use_candidate && state != PairState::Succeeded {
            p.nominate_on_success = true;
        }
        // §7.3.1.4: triggered check unless the pair already succeeded or is being checked.
        match state {
            PairState::Succeeded => {}
            PairState::InProgress => self.retrigger_in_progress(key),
            PairState::Frozen | PairState::Waiting | PairState::Failed => {
                p.state = PairState::Waiting;
                self.enqueue_triggered(key, false);
            }
        }
        if nominate_now {
            self.nominate_controlled(key, now);
        }
    }

    /// During a restart the peer may still check the old pair with the old credentials
    /// (Chromium keeps its old connection until the new one is selected): answer those so the
    /// old pair keeps its consent, without touching the new checklist.
    fn answer_previous_generation(
        &mut self,
        base: SocketAddr,
        from: SocketAddr,
        msg: &Message<'_>,
    ) -> bool {
        let Some(prev) = &self.previous else {
            return false;
        };
        let Ok(check) = validate_request(msg, &prev.local) else {
            return false;
        };
        if check.remote_ufrag != prev.remote.ufrag {
            return false;
        }
        let data = build_success(msg.transaction_id, from, &prev.local.pwd);
        self.transmit(base, from, data);
        true
    }

    /// §7.3.1.1: decide a role conflict; true means answer 487.
    fn role_conflict(&mut self, check: &IncomingCheck) -> bool {
        match (self.controlling, check.role) {
            (true, Some(RemoteRole::Controlling(theirs))) => {
                if self.tie_breaker >= theirs || self.remote_lite {
                    return true;
                }
                self.set_role(false);
            }
            (false, Some(RemoteRole::Controlled(theirs))) => {
                if self.tie_breaker < theirs {
                    return true;
                }
                self.set_role(true);
            }
            _ => {}
        }
        false
    }

    /// A check from an address without a pair: learn the peer-reflexive remote (§7.3.1.3)
    /// and pair it with our candidate on that base (§7.3.1.4). False if no local candidate
    /// has that base.
    fn pair_for_request(&mut self, base: SocketAddr, from: SocketAddr, priority: u32) -> bool {
        let local: Option<LocalCandidate> = self
            .locals
            .iter()
            .find(|l| l.base == base && l.addr == base)
            .or_else(|| self.locals.iter().find(|l| l.base == base))
            .cloned();
        let Some(local) = local else {
            return false;
        };
        let remote = match self.remotes.iter().find(|r| r.addr == from) {
            Some(r) => r.clone(),
            None => {
                let r = self.learn_prflx_remote(from, priority);
                self.events
                    .push_back(IceEvent::NewPeerReflexiveRemote(r.clone()));
                r
            }
        };
        let pair = CandidatePair::new(&local, &remote, self.controlling);
        self.pairs.push(pair);
        self.sort_pairs();
        true
    }

    /// Returns false when the response is not for one of our transactions.
    fn handle_response(
        &mut self,
        now: Instant,
        base: SocketAddr,
        from: SocketAddr,
        msg: &Message<'_>,
    ) -> bool {
        let Some(i) = self
            .transactions
            .iter()
            .position(|t| t.tid == msg.transaction_id)
        else {
            return self.finished.contains(&msg.transaction_id);
        };
        // §7.2.5.1 / RFC 8489 §9.1.4: responses are authenticated with the peer's password;
        // a 400/401 cannot be (the peer could not authenticate us) and fails the check.
        let tx_pwd = self.transactions.get(i).map(|t| t.remote_pwd.as_bytes());
        let authentic = tx_pwd.is_some_and(|pwd| msg.verify_integrity(pwd) == Some(true));
        let unauthenticated_error =
            msg.class == Class::Error && matches!(msg.error_code(), Some((400 | 401, _)));
        if !authentic && !unauthenticated_error {
            return true;
        }
        let tx = self.transactions.remove(i);
        self.remember_finished(tx.tid);
        // §7.2.5.2.1: the response must come from where the request went, to where it left.
        if tx.remote != from || tx.local_base != base {
            self.fail_check(&tx);
            return true;
        }
        if msg.class == Class::Success {
            self.on_success(now, &tx, msg);
        } else {
            self.on_error(&tx, msg);
        }
        true
    }

    fn on_success(&mut self, now: Instant, tx: &Transaction, msg: &Message<'_>) {
        let mapped = msg.xor_address(XOR_MAPPED_ADDRESS).ok().flatten();
        let key = tx.pair();
        let known_local = mapped.is_some_and(|m| self.locals.iter().any(|l| l.addr == m));
        // RFC 7675: an authenticated response on the pair data uses renews consent (the
        // pair may belong to the previous generation during a restart).
        if self.selected == Some(key) {
            if let Some(c) = &mut self.consent {
                c.on_response(now);
            }
            if let Some(prev) = self.previous.as_mut().filter(|p| p.key == key) {
                prev.consent.on_response(now);
            }
        }
        let Some(p) = self.pair_mut(key) else { return };
        p.state = PairState::Succeeded;
        p.responses_received += 1;
        p.last_response_received = Some(now);
        // Karn: only an unretransmitted request measures the round trip.
        if tx.transmissions == 1 {
            let rtt = now.saturating_duration_since(tx.first_sent);
            p.current_rtt = Some(rtt);
            p.total_rtt += rtt;
        }
        // §7.2.5.3.1: a mapped address we do not know is our peer-reflexive candidate; the
        // valid pair sends from the same base, so we record it on the pair.
        if let (Some(m), false) = (mapped, known_local) {
            p.local = m;
            p.local_kind = super::candidates::CandidateKind::PeerReflexive;
        }
        let foundation = p.foundation.clone();
        let nominate_on_success = p.nominate_on_success;
        self.first_valid_at.get_or_insert(now);
        self.unfreeze_foundation(&foundation);
        match tx.purpose {
            Purpose::Check { nominate: true } => {
                self.nominating = false;
                if self.controlling {
                    if let Some(p) = self.pair_mut(key) {
                        p.nominated = true;
                    }
                    self.select(key, now);
                }
            }
            Purpose::Check { nominate: false } if !self.controlling && nominate_on_success => {
                self.nominate_controlled(key, now);
            }
            _ => {}
        }
    }

    /// The controlled side selects the highest-priority nominated pair (§8.1.1 / §7.3.1.5).
    pub(crate) fn nominate_controlled(&mut self, key: (SocketAddr, SocketAddr), now: Instant) {
        if let Some(p) = self.pair_mut(key) {
            p.nominated = true;
            p.nominate_on_success = false;
        }
        let best = self
            .pairs
            .iter()
            .find(|p| p.nominated && p.state == PairState::Succeeded)
            .map(CandidatePair::key);
        if let Some(best) = best {
            self.select(best, now);
        }
    }

    fn on_error(&mut self, tx: &Transaction, msg: &Message<'_>) {
        let code = msg.error_code().map(|(c, _)| c);
        if code == Some(487) {
            // §7.2.5.1: switch role (unless the request was sent under the other role and we
            // already switched) and repeat the check as a triggered one.
            if tx.controlling == self.controlling && !self.remote_lite {
                self.set_role(!tx.controlling);
            }
            if matches!(tx.purpose, Purpose::Check { nominate: true }) {
                self.nominating = false;
            }
            if let Some(p) = self.pair_mut(tx.pair()) {
                if p.state == PairState::InProgress {
                    p.state = PairState::Waiting;
                }
            }
            if tx.purpose != Purpose::Consent {
                self.enqueue_triggered(tx.pair(), false);
            }
            return;
        }
        self.fail_check(tx);
    }

    fn fail_check(&mut self, tx: &Transaction) {
        if matches!(tx.purpose, Purpose::Check { nominate: true }) {
            self.nominating = false;
        }
        if tx.purpose == Purpose::Consent {
            return;
        }
        if let Some(p) = self.pair_mut(tx.pair()) {
            p.state = PairState::Failed;
        }
    }
}

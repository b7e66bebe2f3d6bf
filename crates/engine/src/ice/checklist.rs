//! The checklist (RFC 8445 §6.1.2–6.1.4): forming and pruning pairs, freezing by foundation,
//! paced ordinary and triggered checks, retransmission, and regular nomination (§8.1.1).

use super::agent::{IceAgent, IceCredentials, MAX_PAIRS, NOMINATION_WAIT, TA};
use super::candidates::{CandidateKind, LocalCandidate, RemoteCandidate};
use super::pair::{CandidatePair, PairState};
use super::stun_check::{build_request, CheckParams};
use super::transaction::{check_rto, Expiry, Purpose, Transaction};
use polyrtc_stun::TransactionId;
use std::net::SocketAddr;
use std::time::Instant;

type PairKey = (SocketAddr, SocketAddr);

impl IceAgent {
    /// Pair a local with a remote candidate. Server-reflexive locals pair through their base
    /// (§6.1.2.4), so pairs are keyed by (local base, remote) and the higher priority of two
    /// redundant pairs is kept.
    pub(crate) fn add_pair(&mut self, local: &LocalCandidate, remote: &RemoteCandidate) {
        if local.base.is_ipv4() != remote.addr.is_ipv4() {
            return;
        }
        let pair = CandidatePair::new(local, remote, self.controlling);
        if let Some(existing) = self.pair_mut(pair.key()) {
            if existing.priority < pair.priority && existing.state == PairState::Frozen {
                *existing = pair;
            }
            return;
        }
        self.pairs.push(pair);
        self.sort_pairs();
        // §6.1.2.5: drop the lowest-priority pairs beyond the limit.
        self.pairs.truncate(MAX_PAIRS);
    }

    /// Initial states (§6.1.2.6) and trickle's unfreezing (RFC 8838 §11): a pair whose
    /// foundation already succeeded, or has nothing waiting or in progress, waits; the rest
    /// stay frozen.
    pub(crate) fn update_waiting(&mut self) {
        for i in 0..self.pairs.len() {
            let Some(p) = self.pairs.get(i) else { break };
            if p.state != PairState::Frozen {
                continue;
            }
            let f = p.foundation.clone();
            let same = |s: PairState| self.pairs.iter().any(|q| q.foundation == f && q.state == s);
            let thaw = same(PairState::Succeeded)
                || !(same(PairState::Waiting) || same(PairState::InProgress));
            if thaw {
                if let Some(p) = self.pairs.get_mut(i) {
                    p.state = PairState::Waiting;
                }
            }
        }
    }

    /// §7.2.5.3.3: a success unfreezes the pairs of its foundation.
    pub(crate) fn unfreeze_foundation(&mut self, foundation: &str) {
        for p in &mut self.pairs {
            if p.state == PairState::Frozen && p.foundation == foundation {
                p.state = PairState::Waiting;
            }
        }
    }

    pub(crate) fn has_pending_check(&self) -> bool {
        if self.remote_creds.is_none() || self.failed || self.closed {
            return false;
        }
        // §8.1.2: once this generation has its nominated pair, only triggered checks run.
        !self.triggered.is_empty()
            || !self.generation_selected
                && self.pairs.iter().any(|p| match p.state {
                    PairState::Waiting => true,
                    // §6.1.4.2: a frozen pair is startable only if its foundation has nothing
                    // waiting or in progress; otherwise it waits for that check to finish.
                    PairState::Frozen => !self.pairs.iter().any(|q| {
                        q.foundation == p.foundation
                            && matches!(q.state, PairState::Waiting | PairState::InProgress)
                    }),
                    _ => false,
                })
    }

    /// Ordinary checks one per Ta (§6.1.4.2), the highest-priority waiting pair first,
    /// unfreezing one when none waits. Triggered checks go at once: each answers one check of
    /// the peer (paced by the peer) or nominates a pair that just succeeded, and waiting a Ta
    /// for each cost two pacing intervals (~100 ms) on every connection through the relay,
    /// where Chromium connects within a few round trips. They still delay the next ordinary
    /// check by Ta.
    pub(crate) fn pace_check(&mut self, now: Instant) {
        if !self.has_pending_check() {
            return;
        }
        while let Some((key, nominate)) = self.next_triggered() {
            self.start_check(key, Purpose::Check { nominate }, now);
            self.last_check_at = Some(now);
        }
        if self.last_check_at.is_some_and(|t| now < t + TA) {
            return;
        }
        if self.generation_selected {
            return;
        }
        if !self.pairs.iter().any(|p| p.state == PairState::Waiting) {
            self.update_waiting();
        }
        let next = self
            .pairs
            .iter()
            .find(|p| p.state == PairState::Waiting)
            .map(CandidatePair::key);
        if let Some(key) = next {
            self.start_check(key, Purpose::Check { nominate: false }, now);
            self.last_check_at = Some(now);
        }
    }

    fn next_triggered(&mut self) -> Option<(PairKey, bool)> {
        while let Some((key, nominate)) = self.triggered.pop_front() {
            let Some(p) = self.pair(key) else {
                if nominate {
                    self.nominating = false;
                }
                continue;
            };
            let in_flight = self
                .transactions
                .iter()
                .any(|t| t.pair() == key && !t.cancelled);
            if nominate || (p.state != PairState::Succeeded && !in_flight) {
                return Some((key, nominate));
            }
        }
        None
    }

    pub(crate) fn enqueue_triggered(&mut self, key: PairKey, nominate: bool) {
        if !self
            .triggered
            .iter()
            .any(|(k, n)| *k == key && *n == nominate)
        {
            self.triggered.push_back((key, nominate));
        }
    }

    /// RFC 8445 §7.3.1.4: a check from the peer on a pair whose own check is in progress
    /// cancels that transaction and queues a triggered check. Our earlier request may have
    /// been dropped (through a relay, the peer's allocation drops it until the peer learns our
    /// candidate and installs a permission); the retransmission would come only after the
    /// 500 ms RTO.
    pub(crate) fn retrigger_in_progress(&mut self, key: PairKey) {
        let mut cancelled = false;
        for t in self.transactions.iter_mut().filter(|t| t.pair() == key) {
            // A nomination keeps its own transaction (the peer answers it or not).
            if t.purpose == (Purpose::Check { nominate: false }) && !t.cancelled {
                t.cancelled = true;
                cancelled = true;
            }
        }
        if !cancelled {
            return;
        }
        if let Some(p) = self.pair_mut(key) {
            p.state = PairState::Waiting;
        }
        self.enqueue_triggered(key, false);
    }

    /// Send a Binding request of the current generation on pair `key`.
    pub(crate) fn start_check(&mut self, key: PairKey, purpose: Purpose, now: Instant) {
        let Some(remote) = self.remote_creds.clone() else {
            return;
        };
        let local = self.local_creds.clone();
        self.send_check(key, purpose, now, &local, &remote);
    }

    /// Send a Binding request on pair `key` with the given credentials.
    pub(crate) fn send_check(
        &mut self,
        key: PairKey,
        purpose: Purpose,
        now: Instant,
        local: &IceCredentials,
        remote: &IceCredentials,
    ) {
        let priority = self
            .locals
            .iter()
            .find(|l| l.base == key.0)
            .map_or(0, LocalCandidate::prflx_priority);
        let nominate = matches!(purpose, Purpose::Check { nominate: true });
        let params = CheckParams {
            local,
            remote,
            priority,
            controlling: self.controlling,
            tie_breaker: self.tie_breaker,
            // A controlling agent facing Chromium may also be asked to keep nominating on
            // consent checks; regular nomination sends it once (§8.1.1).
            use_candidate: nominate && self.controlling,
        };
        let tid = TransactionId::from_rng(&mut self.rng);
        let data = build_request(tid, &params);
        let busy = self
            .pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            .count();
        let rto = check_rto(TA, busy);
        let controlling = self.controlling;
        let mut tx = Transaction::new(tid, key, purpose, controlling, data.clone(), now, rto);
        tx.remote_pwd = remote.pwd.clone();
        self.transactions.push(tx);
        if nominate {
            self.nominating = true;
        }
        if let Some(p) = self.pair_mut(key) {
            if purpose == Purpose::Consent {
                p.consent_requests_sent += 1;
            } else {
                p.requests_sent += 1;
                if p.state != PairState::Succeeded {
                    p.state = PairState::InProgress;
                }
            }
        }
        self.transmit(key.0, key.1, data);
    }

    /// Retransmit or time out the transactions whose timer fired.
    pub(crate) fn expire_transactions(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.transactions.len() {
            let Some(tx) = self.transactions.get_mut(i) else {
                break;
            };
            if tx.next_at > now {
                i += 1;
                continue;
            }
            match tx.expire(now) {
                Expiry::Retransmit if tx.cancelled => i += 1,
                Expiry::Retransmit => {
                    let (from, to, data) = (tx.local_base, tx.remote, tx.data.clone());
                    self.transmit(from, to, data);
                    i += 1;
                }
                Expiry::TimedOut => {
                    let tx = self.transactions.remove(i);
                    self.remember_finished(tx.tid);
                    self.on_timed_out(&tx);
                }
            }
        }
    }

    fn on_timed_out(&mut self, tx: &Transaction) {
        if tx.cancelled {
            return;
        }
        if let Purpose::Check { nominate } = tx.purpose {
            if nominate {
                self.nominating = false;
            }
            let still_busy = self.transactions.iter().any(|t| t.pair() == tx.pair());
            if let Some(p) = self.pair_mut(tx.pair()) {
                if p.state == PairState::InProgress && !still_busy {
                    p.state = PairState::Failed;
                } else if nominate {
                    // A valid pair that cannot be nominated is of no use (§8.1.1).
                    p.state = PairState::Failed;
                }
            }
        }
        // Consent checks that time out change nothing here: consent expires 30 s after
        // the last response (RFC 7675 §5.1), handled in update_state.
    }

    /// Regular nomination (§8.1.1): once the best valid pair cannot be beaten by a pair
    /// still being checked (or NOMINATION_WAIT passed), check it again with USE-CANDIDATE.
    pub(crate) fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || self.generation_selected || self.nominating || self.failed {
            return;
        }
        let Some(best) = self.pairs.iter().find(|p| p.state == PairState::Succeeded) else {
            return;
        };
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best.priority
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        let waited = self
            .first_valid_at
            .is_some_and(|t| now >= t + NOMINATION_WAIT);
        if better_pending && !waited {
            return;
        }
        let key = best.key();
        self.nominating = true;
        self.triggered.retain(|(k, _)| *k != key);
        self.triggered.push_front((key, true));
    }

    /// Record a peer-reflexive remote candidate learned from a check (§7.3.1.3) and pair it.
    pub(crate) fn learn_prflx_remote(
        &mut self,
        from: SocketAddr,
        priority: u32,
    ) -> RemoteCandidate {
        self.prflx_count += 1;
        let c = RemoteCandidate::new(
            from,
            CandidateKind::PeerReflexive,
            priority,
            &format!("prflx{}", self.prflx_count),
        );
        self.remotes.push(c.clone());
        c
    }
}

//! Outstanding requests and their retransmission timers (RFC 8489 §6.2).

use super::Framing;
use polyrtc_stun::TransactionId;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// RFC 8489 §6.2.1: initial RTO for unreliable transports.
const INITIAL_RTO: Duration = Duration::from_millis(500);
/// RFC 8489 §6.2.1: Rc, the number of times a request is sent.
const MAX_SENDS: u32 = 7;
/// RFC 8489 §6.2.1: Rm, the wait after the last send is Rm × RTO.
const LAST_WAIT_FACTOR: u32 = 16;
/// RFC 8489 §6.2.2: over a reliable transport one timer of Ti = 39.5 s.
const RELIABLE_TIMEOUT: Duration = Duration::from_millis(39_500);

/// What a request was for; its answer is handled accordingly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RequestKind {
    Allocate,
    /// RFC 8656 §8: lifetime 0 deletes the allocation.
    Refresh {
        lifetime: u32,
    },
    /// RFC 8016 §3.2: Refresh carrying MOBILITY-TICKET over a new transport.
    Resume,
    CreatePermission {
        peer: IpAddr,
    },
    ChannelBind {
        channel: u16,
        peer: SocketAddr,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Transaction {
    pub id: TransactionId,
    pub kind: RequestKind,
    pub bytes: Vec<u8>,
    /// The request carried MESSAGE-INTEGRITY: its answer must too.
    pub signed: bool,
    /// 401/438 retries that led to this request (bounded to avoid loops).
    pub auth_retries: u8,
    sends: u32,
    rto: Duration,
    next_send: Option<Instant>,
    deadline: Instant,
}

impl Transaction {
    pub fn new(
        now: Instant,
        id: TransactionId,
        kind: RequestKind,
        bytes: Vec<u8>,
        signed: bool,
        auth_retries: u8,
        framing: Framing,
    ) -> Self {
        let (next_send, deadline) = match framing {
            Framing::Datagram => (
                Some(now + INITIAL_RTO),
                now + INITIAL_RTO * LAST_WAIT_FACTOR,
            ),
            Framing::Stream => (None, now + RELIABLE_TIMEOUT),
        };
        Transaction {
            id,
            kind,
            bytes,
            signed,
            auth_retries,
            sends: 1,
            rto: INITIAL_RTO,
            next_send,
            deadline,
        }
    }

    fn timer(&self) -> Instant {
        self.next_send.unwrap_or(self.deadline)
    }
}

/// What became due in [`Transactions::handle_timeout`].
#[derive(Debug, Default)]
pub(super) struct Due {
    pub retransmit: Vec<Vec<u8>>,
    pub timed_out: Vec<Transaction>,
}

/// Requests awaiting an answer, in the order they were sent.
#[derive(Debug, Default)]
pub(super) struct Transactions {
    pending: Vec<Transaction>,
}

impl Transactions {
    pub fn insert(&mut self, t: Transaction) {
        self.pending.push(t);
    }

    /// Whether request `id` is pending and was signed.
    pub fn signed(&self, id: &TransactionId) -> Option<bool> {
        self.pending.iter().find(|t| t.id == *id).map(|t| t.signed)
    }

    pub fn take(&mut self, id: &TransactionId) -> Option<Transaction> {
        let i = self.pending.iter().position(|t| t.id == *id)?;
        Some(self.pending.remove(i))
    }

    pub fn any(&self, f: impl Fn(&RequestKind) -> bool) -> bool {
        self.pending.iter().any(|t| f(&t.kind))
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(Transaction::timer).min()
    }

    /// RFC 8489 §6.2.1: resend at RTO, doubling each time, Rc sends in all;
    /// the transaction fails Rm × RTO after the last send. Timers run from the actual send
    /// time, so a late call (a throttled tab) does not fire a burst of catch-up sends.
    pub fn handle_timeout(&mut self, now: Instant) -> Due {
        let mut due = Due::default();
        let mut i = 0;
        while let Some(t) = self.pending.get_mut(i) {
            if t.next_send.is_some_and(|at| at <= now) {
                t.sends += 1;
                t.rto *= 2;
                if t.sends < MAX_SENDS {
                    t.next_send = Some(now + t.rto);
                } else {
                    t.next_send = None;
                    t.deadline = now + INITIAL_RTO * LAST_WAIT_FACTOR;
                }
                due.retransmit.push(t.bytes.clone());
                i += 1;
            } else if t.next_send.is_none() && t.deadline <= now {
                due.timed_out.push(self.pending.remove(i));
            } else {
                i += 1;
            }
        }
        due
    }
}

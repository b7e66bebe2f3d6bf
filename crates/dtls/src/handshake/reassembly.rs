//! Reassembly of handshake messages from fragments that may arrive out of order, overlap or
//! repeat (RFC 6347 §4.2.3), delivering whole messages strictly in message_seq order
//! (RFC 6347 §4.2.2).

use std::collections::BTreeMap;

use super::header::{HandshakeHeader, HandshakeType};

/// Bound on one message and on everything buffered, so a peer cannot make us allocate much.
pub const MAX_MESSAGE_LEN: u32 = 64 * 1024;
const MAX_BUFFERED: usize = 256 * 1024;
/// How far ahead of the next expected message we buffer.
const MAX_SEQ_AHEAD: u16 = 16;

/// A complete handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub msg_type: HandshakeType,
    /// Record epoch the message arrived in (every fragment must share it).
    pub epoch: u16,
    pub message_seq: u16,
    pub body: Vec<u8>,
}

#[derive(Debug)]
struct Partial {
    msg_type: HandshakeType,
    epoch: u16,
    body: Vec<u8>,
    /// Received byte ranges, merged, sorted by start.
    have: Vec<(u32, u32)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.body.is_empty() || self.have == [(0, self.body.len() as u32)]
    }

    fn add_range(&mut self, start: u32, end: u32) {
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }
}

/// What became of an offered fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Buffered (or completed a message now waiting in `pop`).
    Accepted,
    /// Part of a message already delivered: the peer is retransmitting (RFC 6347 §4.2.4).
    Old,
    /// Inconsistent with earlier fragments, too large, or too far ahead: dropped.
    Dropped,
}

#[derive(Debug, Default)]
pub struct Reassembler {
    next_seq: u16,
    partial: BTreeMap<u16, Partial>,
    buffered: usize,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// The message_seq of the next message `pop` will return.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Start expecting `seq` next (the server follows the client's ClientHello numbering,
    /// RFC 6347 §4.2.2); forgets anything buffered.
    pub fn reset_to(&mut self, seq: u16) {
        self.next_seq = seq;
        self.partial.clear();
        self.buffered = 0;
    }

    pub fn offer(&mut self, h: &HandshakeHeader, fragment: &[u8], epoch: u16) -> Offer {
        if h.message_seq < self.next_seq {
            return Offer::Old;
        }
        if h.message_seq - self.next_seq > MAX_SEQ_AHEAD
            || h.length > MAX_MESSAGE_LEN
            || fragment.len() != h.fragment_length as usize
        {
            return Offer::Dropped;
        }
        if !self.partial.contains_key(&h.message_seq) {
            if self.buffered + h.length as usize > MAX_BUFFERED {
                return Offer::Dropped;
            }
            self.buffered += h.length as usize;
            self.partial.insert(
                h.message_seq,
                Partial {
                    msg_type: h.msg_type,
                    epoch,
                    body: vec![0; h.length as usize],
                    have: Vec::new(),
                },
            );
        }
        let Some(p) = self.partial.get_mut(&h.message_seq) else {
            return Offer::Dropped;
        };
        if p.msg_type != h.msg_type || p.epoch != epoch || p.body.len() != h.length as usize {
            return Offer::Dropped;
        }
        let start = h.fragment_offset as usize;
        let end = start + fragment.len();
        match p.body.get_mut(start..end) {
            Some(dst) => dst.copy_from_slice(fragment),
            None => return Offer::Dropped,
        }
        if end > start {
            p.add_range(start as u32, end as u32);
        }
        Offer::Accepted
    }

    /// The next message in sequence, once all its bytes are in.
    pub fn pop(&mut self) -> Option<Message> {
        if !self.partial.get(&self.next_seq)?.complete() {
            return None;
        }
        let p = self.partial.remove(&self.next_seq)?;
        self.buffered = self.buffered.saturating_sub(p.body.len());
        let message_seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        Some(Message {
            msg_type: p.msg_type,
            epoch: p.epoch,
            message_seq,
            body: p.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::{fragment_message, parse_fragments};
    use super::*;

    fn frags(seq: u16, body: &[u8], max: usize) -> Vec<(HandshakeHeader, Vec<u8>)> {
        fragment_message(HandshakeType::Certificate, seq, body, max)
            .iter()
            .map(|f| {
                let (h, b) = parse_fragments(f).unwrap()[0];
                (h, b.to_vec())
            })
            .collect()
    }

    #[test]
    fn reassembles_out_of_order_with_duplicates() {
        let body: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut pieces = frags(0, &body, 112);
        pieces.reverse();
        let dup = pieces[3].clone();
        pieces.insert(1, dup);
        let mut r = Reassembler::new();
        for (i, (h, b)) in pieces.iter().enumerate() {
            assert_eq!(r.offer(h, b, 0), Offer::Accepted);
            if i + 1 < pieces.len() {
                assert_eq!(r.pop(), None);
            }
        }
        let m = r.pop().unwrap();
        assert_eq!(m.body, body);
        assert_eq!(r.next_seq(), 1);
        assert_eq!(r.offer(&pieces[0].0, &pieces[0].1, 0), Offer::Old);
    }

    #[test]
    fn delivers_in_sequence_order() {
        let mut r = Reassembler::new();
        let (h1, b1) = frags(1, b"second", 100).remove(0);
        let (h0, b0) = frags(0, b"first", 100).remove(0);
        assert_eq!(r.offer(&h1, &b1, 0), Offer::Accepted);
        assert_eq!(r.pop(), None);
        assert_eq!(r.offer(&h0, &b0, 0), Offer::Accepted);
        assert_eq!(r.pop().unwrap().body, b"first");
        assert_eq!(r.pop().unwrap().body, b"second");
    }

    #[test]
    fn overlapping_fragments_and_limits() {
        let body = [7u8; 300];
        let mut r = Reassembler::new();
        let mk = |off: u32, len: u32| HandshakeHeader {
            msg_type: HandshakeType::Certificate,
            length: 300,
            message_seq: 0,
            fragment_offset: off,
            fragment_length: len,
        };
        assert_eq!(r.offer(&mk(0, 200), &body[..200], 0), Offer::Accepted);
        assert_eq!(r.offer(&mk(100, 150), &body[100..250], 0), Offer::Accepted);
        assert_eq!(r.pop(), None);
        assert_eq!(r.offer(&mk(250, 50), &body[250..], 0), Offer::Accepted);
        assert_eq!(r.pop().unwrap().body.len(), 300);
        let huge = HandshakeHeader {
            length: MAX_MESSAGE_LEN + 1,
            message_seq: 1,
            ..mk(0, 0)
        };
        assert_eq!(r.offer(&huge, &[], 0), Offer::Dropped);
    }
}

//! POLYRTC: packetization-layer path MTU discovery for the association (RFC 8899 §6.2.1.1).
//!
//! RFC 8261 §5 and RFC 8831 §5 ask SCTP over DTLS to start at a safe packet size (ours is 1191
//! bytes, see config.rs) and to find larger ones with PLPMTUD. A probe is a HEARTBEAT bundled
//! with a PAD chunk (RFC 4820) that fills the packet to the size being tried; the peer answers
//! the HEARTBEAT with a small HEARTBEAT ACK, so only the forward path carries the large packet.
//! A size is used once its probe is acknowledged, and only for DATA chunks made after that (a
//! chunk keeps its size once it has a TSN).
//!
//! What a probe proves is end to end: the path, and also what the peer's stack accepts. Chromium
//! reads each decrypted DTLS record into a 2,048-byte buffer (`kMaxDtlsPacketLen` in WebRTC's
//! dtls_transport.cc), and a record larger than that does worse than go unanswered: with probes
//! of 4,096 and 8,192 bytes Chromium 156 closed the data channel (measured in
//! bench/datachannel.mjs). So the ladder stops at 2,048 bytes for every peer. Each size is tried
//! up to [`MAX_PROBES`] times, one RTO apart, before the search stops below it; data keeps
//! flowing at the confirmed size meanwhile.
//!
//! Black holes (RFC 8899 §4.3): repeated T3-rtx expiries while above the base size put new
//! chunks back at the base size, and the search starts again [`RAISE_AFTER`] later.

use bytes::{BufMut, Bytes, BytesMut};
use std::time::Duration;

/// SCTP packet sizes tried above the base, smallest first. 1400 fits a 1500-byte Ethernet path
/// with IPv6, UDP, DTLS and a TURN ChannelData header; 2048 is as much as Chromium takes (see
/// above). Multiples of 4, so a PAD chunk fills a probe exactly.
pub(crate) const PROBE_SIZES: [u32; 2] = [1400, 2048];

/// Probes of one size before the search stops below it (RFC 8899 MAX_PROBES).
pub(crate) const MAX_PROBES: u8 = 3;

/// After a black hole, how long the association stays at the base size before searching again
/// (RFC 8899's PMTU_RAISE_TIMER is 600 s; a WebRTC call is short, and the search is cheap).
pub(crate) const RAISE_AFTER: Duration = Duration::from_secs(60);

/// Heartbeat information of a probe: this tag, the probe's size and a nonce. Heartbeats
/// carrying anything else are not ours to interpret.
const PROBE_TAG: u32 = 0x504d_5455; // "PMTU"
pub(crate) const PROBE_INFO_LEN: usize = 12;

/// One probe to send: a packet of `size` bytes whose HEARTBEAT carries `info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub(crate) size: u32,
    pub(crate) info: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Probing `PROBE_SIZES[next]`; `attempts` probes of it sent so far.
    Searching { next: usize, attempts: u8 },
    /// Every size up to the last acknowledged one was confirmed, the next failed or none is left.
    Done,
}

/// The search state. It decides what to probe; the association sends, times and applies.
/// `Default` is a search that has ended (the association replaces it when created).
#[derive(Debug, Clone)]
pub(crate) struct PmtuSearch {
    base: u32,
    confirmed: u32,
    phase: Phase,
    /// Nonce of the newest probe sent; only its acknowledgement counts.
    outstanding: Option<u32>,
    nonce: u32,
}

impl Default for PmtuSearch {
    fn default() -> Self {
        PmtuSearch {
            base: 0,
            confirmed: 0,
            phase: Phase::Done,
            outstanding: None,
            nonce: 0,
        }
    }
}

impl PmtuSearch {
    /// A search upwards from `base` (the association's initial MTU). `seed` makes nonces
    /// unpredictable to anyone who did not see the probe.
    pub(crate) fn new(base: u32, seed: u32) -> Self {
        let mut search = PmtuSearch {
            base,
            confirmed: base,
            phase: Phase::Done,
            outstanding: None,
            nonce: seed,
        };
        search.restart();
        search
    }

    /// The packet size confirmed so far (the base before any probe succeeded).
    pub(crate) fn confirmed(&self) -> u32 {
        self.confirmed
    }

    pub(crate) fn base(&self) -> u32 {
        self.base
    }

    pub(crate) fn is_searching(&self) -> bool {
        matches!(self.phase, Phase::Searching { .. })
    }

    /// Start over from the base size.
    pub(crate) fn restart(&mut self) {
        self.confirmed = self.base;
        self.outstanding = None;
        // A base of 0 is the `Default` search: discovery is off, and stays off.
        let next = PROBE_SIZES.iter().position(|&size| size > self.base);
        self.phase = match next {
            Some(next) if self.base > 0 => Phase::Searching { next, attempts: 0 },
            _ => Phase::Done,
        };
    }

    /// The probe timer fired, or the search may begin: the probe to send now, or `None` when the
    /// search has ended (the last size was tried `MAX_PROBES` times unanswered).
    pub(crate) fn next_probe(&mut self) -> Option<Probe> {
        let Phase::Searching { next, attempts } = self.phase else {
            return None;
        };
        if attempts >= MAX_PROBES {
            self.phase = Phase::Done;
            self.outstanding = None;
            return None;
        }
        let size = PROBE_SIZES[next];
        self.phase = Phase::Searching {
            next,
            attempts: attempts + 1,
        };
        self.nonce = self
            .nonce
            .wrapping_mul(0x9e37_79b9)
            .wrapping_add(0x7f4a_7c15)
            .rotate_left(13);
        self.outstanding = Some(self.nonce);
        let mut info = BytesMut::with_capacity(PROBE_INFO_LEN);
        info.put_u32(PROBE_TAG);
        info.put_u32(size);
        info.put_u32(self.nonce);
        Some(Probe {
            size,
            info: info.freeze(),
        })
    }

    /// A HEARTBEAT ACK arrived carrying `info`. Returns the newly confirmed packet size if it
    /// acknowledges the outstanding probe; the search then moves to the next size.
    pub(crate) fn on_ack(&mut self, info: &[u8]) -> Option<u32> {
        if info.len() != PROBE_INFO_LEN {
            return None;
        }
        let word = |i: usize| u32::from_be_bytes([info[i], info[i + 1], info[i + 2], info[i + 3]]);
        let (tag, size, nonce) = (word(0), word(4), word(8));
        let Phase::Searching { next, .. } = self.phase else {
            return None;
        };
        if tag != PROBE_TAG || self.outstanding != Some(nonce) || PROBE_SIZES[next] != size {
            return None;
        }
        self.confirmed = size;
        self.outstanding = None;
        self.phase = if next + 1 < PROBE_SIZES.len() {
            Phase::Searching {
                next: next + 1,
                attempts: 0,
            }
        } else {
            Phase::Done
        };
        Some(size)
    }

    /// Large packets seem to be lost (a black hole): fall back to the base size and stop
    /// searching until [`PmtuSearch::restart`]. Returns whether the size changed.
    pub(crate) fn on_black_hole(&mut self) -> bool {
        let changed = self.confirmed > self.base;
        self.confirmed = self.base;
        self.outstanding = None;
        self.phase = Phase::Done;
        changed
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn ack(search: &mut PmtuSearch, probe: &Probe) -> Option<u32> {
        search.on_ack(&probe.info)
    }

    #[test]
    fn climbs_the_ladder_while_probes_are_acknowledged() {
        let mut search = PmtuSearch::new(1191, 7);
        let mut confirmed = vec![];
        while let Some(probe) = search.next_probe() {
            confirmed.push(ack(&mut search, &probe).unwrap());
        }
        assert_eq!(confirmed, PROBE_SIZES);
        assert_eq!(search.confirmed(), 2048);
        assert!(!search.is_searching());
    }

    #[test]
    fn stops_below_a_size_that_is_never_acknowledged() {
        let mut search = PmtuSearch::new(1191, 7);
        let probe = search.next_probe().unwrap();
        ack(&mut search, &probe).unwrap();
        assert_eq!(search.confirmed(), 1400);
        for _ in 0..MAX_PROBES {
            assert_eq!(search.next_probe().unwrap().size, 2048);
        }
        assert_eq!(search.next_probe(), None);
        assert_eq!(search.confirmed(), 1400);
    }

    #[test]
    fn only_the_newest_probe_of_the_current_size_counts() {
        let mut search = PmtuSearch::new(1191, 7);
        let first = search.next_probe().unwrap();
        let second = search.next_probe().unwrap();
        assert_eq!(ack(&mut search, &first), None, "superseded probe");
        let mut forged = second.info.to_vec();
        forged[7] ^= 1;
        assert_eq!(search.on_ack(&forged), None, "other size");
        assert_eq!(search.on_ack(b"not a probe"), None);
        assert_eq!(ack(&mut search, &second), Some(1400));
        assert_eq!(ack(&mut search, &second), None, "already counted");
    }

    #[test]
    fn a_black_hole_returns_to_the_base_until_restarted() {
        let mut search = PmtuSearch::new(1191, 7);
        let probe = search.next_probe().unwrap();
        ack(&mut search, &probe);
        assert!(search.on_black_hole());
        assert_eq!(search.confirmed(), 1191);
        assert_eq!(search.next_probe(), None);
        search.restart();
        assert_eq!(search.next_probe().unwrap().size, 1400);
    }

    #[test]
    fn the_default_search_never_probes() {
        let mut search = PmtuSearch::default();
        search.restart();
        assert_eq!(search.next_probe(), None);
        assert!(!search.on_black_hole());
    }

    #[test]
    fn a_base_above_the_ladder_never_probes() {
        let mut search = PmtuSearch::new(9000, 7);
        assert_eq!(search.next_probe(), None);
        assert_eq!(search.confirmed(), 9000);
    }
}

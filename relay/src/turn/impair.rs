//! TEST ONLY: loss, duplication and reordering of relayed datagrams (`--test-impair`).
//!
//! Robustness tests need a bad network between two WebRTC peers, and every packet of the
//! polyfill crosses this relay, so the relay is the one place where both polyfill↔polyfill and
//! polyfill↔native paths can be impaired. Each relayed datagram is impaired once on its way
//! through the core: client→peer datagrams where they leave an allocation (including the
//! intra-relay shortcut to another allocation), peer→client datagrams where they enter one.
//! (With `--no-intra-relay-shortcut`, a datagram between two allocations of this relay crosses
//! both points and is impaired twice.) TURN control traffic between a client and the relay is
//! never touched. The configuration refuses it unless loopback peers are allowed, so a
//! production relay cannot carry it by accident.
//!
//! Reordering holds a datagram back until one to three later datagrams of the same flow have
//! passed it, or at most [`MAX_HOLD`] (checked whenever any datagram passes, and on the
//! server's timer), so it never stays stuck behind a flow that went quiet.

use crate::metrics::Metrics;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A held datagram is released after this long even if its flow sent nothing more.
pub const MAX_HOLD: Duration = Duration::from_millis(20);

/// At most this many datagrams are held at once; past it a datagram is not held back.
const MAX_HELD: usize = 256;

/// Probabilities per relayed datagram, and the seed that makes a run repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    pub loss: f64,
    pub reorder: f64,
    pub duplicate: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpairmentError {
    #[error("unknown key {0:?} (expected loss, reorder, duplicate or seed)")]
    UnknownKey(String),
    #[error("{0:?} is not of the form key=value")]
    NotKeyValue(String),
    #[error("{key}={value}: expected a probability between 0 and 1")]
    BadProbability { key: String, value: String },
    #[error("seed={0}: expected an unsigned integer")]
    BadSeed(String),
}

impl FromStr for Impairment {
    type Err = ImpairmentError;

    /// `loss=0.05,reorder=0.05,duplicate=0.01,seed=7`; keys may be left out (0 by default).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut imp = Impairment::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ImpairmentError::NotKeyValue(part.to_string()))?;
            let probability = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| ImpairmentError::BadProbability {
                        key: key.to_string(),
                        value: value.to_string(),
                    })
            };
            match key {
                "loss" => imp.loss = probability()?,
                "reorder" => imp.reorder = probability()?,
                "duplicate" => imp.duplicate = probability()?,
                "seed" => {
                    imp.seed = value
                        .parse()
                        .map_err(|_| ImpairmentError::BadSeed(value.to_string()))?
                }
                _ => return Err(ImpairmentError::UnknownKey(key.to_string())),
            }
        }
        Ok(imp)
    }
}

/// Where a datagram is on its way through the core, which also names its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leg {
    /// Leaving the allocation bound at `from_local` (advertised as `from_public`) for `peer`.
    ToPeer {
        from_local: SocketAddr,
        from_public: SocketAddr,
        peer: SocketAddr,
    },
    /// Arrived from `peer` at the relay socket `relay`, for that allocation's client.
    ToClient { relay: SocketAddr, peer: SocketAddr },
}

struct Held {
    leg: Leg,
    data: Vec<u8>,
    /// Datagrams of the same flow still to pass before this one goes.
    after: u8,
    since: Instant,
}

/// The impairment state of one server. See the module documentation.
pub(crate) struct Impairer {
    cfg: Impairment,
    rng: StdRng,
    held: Vec<Held>,
    metrics: Arc<Metrics>,
}

impl Impairer {
    pub fn new(cfg: Impairment, metrics: Arc<Metrics>) -> Self {
        Impairer {
            cfg,
            rng: StdRng::seed_from_u64(cfg.seed),
            held: Vec::new(),
            metrics,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.gen::<f64>() < p
    }

    /// One datagram enters `leg`: what goes on now, in order (possibly nothing, possibly
    /// earlier datagrams that this one has overtaken).
    pub fn pass(&mut self, now: Instant, leg: Leg, data: &[u8]) -> Vec<(Leg, Vec<u8>)> {
        // Held datagrams of this flow count this one (even if it is lost) as having overtaken
        // them; they go out right after it.
        let mut overtaken = Vec::new();
        let mut index = 0;
        while index < self.held.len() {
            let h = &mut self.held[index];
            if h.leg == leg {
                h.after = h.after.saturating_sub(1);
            }
            if h.after == 0 || now.saturating_duration_since(h.since) >= MAX_HOLD {
                let h = self.held.remove(index);
                overtaken.push((h.leg, h.data));
            } else {
                index += 1;
            }
        }
        let mut ready = Vec::new();
        if self.chance(self.cfg.loss) {
            self.metrics.test_impaired_dropped.fetch_add(1, Relaxed);
        } else {
            ready.push((leg, data.to_vec()));
            if self.chance(self.cfg.duplicate) {
                self.metrics.test_impaired_duplicated.fetch_add(1, Relaxed);
                ready.push((leg, data.to_vec()));
            }
            if self.held.len() < MAX_HELD && self.chance(self.cfg.reorder) {
                let (leg, data) = ready.remove(0);
                self.held.push(Held {
                    leg,
                    data,
                    after: self.rng.gen_range(1..=3),
                    since: now,
                });
                self.metrics.test_impaired_reordered.fetch_add(1, Relaxed);
            }
        }
        ready.append(&mut overtaken);
        ready
    }

    /// Datagrams held for [`MAX_HOLD`] or longer (all of them with `all`), for the timer.
    pub fn release(&mut self, now: Instant, all: bool) -> Vec<(Leg, Vec<u8>)> {
        let mut out = Vec::new();
        self.held.retain_mut(|h| {
            let due = all || now.saturating_duration_since(h.since) >= MAX_HOLD;
            if due {
                out.push((h.leg, std::mem::take(&mut h.data)));
            }
            !due
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(port: u16) -> Leg {
        Leg::ToClient {
            relay: SocketAddr::from(([127, 0, 0, 1], 1000)),
            peer: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    #[test]
    fn parses_and_refuses() {
        let imp: Impairment = "loss=0.05, reorder=0.1,duplicate=0.01,seed=9"
            .parse()
            .unwrap();
        assert_eq!(
            imp,
            Impairment {
                loss: 0.05,
                reorder: 0.1,
                duplicate: 0.01,
                seed: 9
            }
        );
        assert_eq!("".parse::<Impairment>().unwrap(), Impairment::default());
        assert!(matches!(
            "loss=1.5".parse::<Impairment>(),
            Err(ImpairmentError::BadProbability { .. })
        ));
        assert!(matches!(
            "jitter=3".parse::<Impairment>(),
            Err(ImpairmentError::UnknownKey(_))
        ));
        assert!(matches!(
            "loss".parse::<Impairment>(),
            Err(ImpairmentError::NotKeyValue(_))
        ));
        assert!(matches!(
            "seed=-1".parse::<Impairment>(),
            Err(ImpairmentError::BadSeed(_))
        ));
    }

    /// Runs 10,000 numbered datagrams of one flow through, then drains the timer.
    fn run(imp: Impairment) -> (Vec<u32>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::default());
        let mut im = Impairer::new(imp, metrics.clone());
        let now = Instant::now();
        let mut got = Vec::new();
        for i in 0u32..10_000 {
            for (l, d) in im.pass(now, leg(1), &i.to_be_bytes()) {
                assert_eq!(l, leg(1));
                got.push(u32::from_be_bytes(d.try_into().unwrap()));
            }
        }
        for (_, d) in im.release(now, true) {
            got.push(u32::from_be_bytes(d.try_into().unwrap()));
        }
        (got, metrics)
    }

    #[test]
    fn loss_duplication_and_reordering_at_the_configured_rates() {
        let (got, m) = run(Impairment {
            loss: 0.05,
            reorder: 0.05,
            duplicate: 0.01,
            seed: 3,
        });
        let dropped = m.test_impaired_dropped.load(Relaxed) as usize;
        let duplicated = m.test_impaired_duplicated.load(Relaxed) as usize;
        let reordered = m.test_impaired_reordered.load(Relaxed) as usize;
        assert!((400..600).contains(&dropped), "{dropped} dropped");
        assert!((50..150).contains(&duplicated), "{duplicated} duplicated");
        assert!((350..600).contains(&reordered), "{reordered} reordered");
        assert_eq!(got.len(), 10_000 - dropped + duplicated);
        let late = got.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(late >= reordered / 2, "{late} out of order");
        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10_000 - dropped);
        // Overtaken by at most three later datagrams of the flow.
        let mut highest = 0;
        for v in &got {
            assert!(*v + 3 >= highest, "{v} arrived after {highest}");
            highest = highest.max(*v);
        }
    }

    #[test]
    fn same_seed_same_run_and_zero_does_nothing() {
        let imp = Impairment {
            loss: 0.1,
            reorder: 0.1,
            duplicate: 0.1,
            seed: 42,
        };
        assert_eq!(run(imp).0, run(imp).0);
        let (clean, _) = run(Impairment::default());
        assert_eq!(clean, (0..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn a_held_datagram_is_released_by_time_or_by_other_flows() {
        let metrics = Arc::new(Metrics::default());
        let mut im = Impairer::new(
            Impairment {
                reorder: 1.0,
                ..Impairment::default()
            },
            metrics,
        );
        let t0 = Instant::now();
        assert!(im.pass(t0, leg(1), b"a").is_empty());
        assert!(im.release(t0 + Duration::from_millis(1), false).is_empty());
        // Another flow passing after MAX_HOLD carries the stale one out.
        let out = im.pass(t0 + MAX_HOLD, leg(2), b"b");
        assert!(out.contains(&(leg(1), b"a".to_vec())), "{out:?}");
        let rest = im.release(t0 + MAX_HOLD * 2, false);
        assert_eq!(rest, vec![(leg(2), b"b".to_vec())]);
    }
}

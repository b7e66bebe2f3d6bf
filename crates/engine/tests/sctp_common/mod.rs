//! Two `SctpTransport`s over an in-memory link with simulated time, latency, loss, reordering
//! and duplication. Shared by the sctp_* test files (each uses a subset).
#![allow(dead_code)]

use polyrtc_engine::sctp::{ChannelParams, SctpConfig, SctpEvent, SctpState, SctpTransport};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Link behaviour, applied per packet.
#[derive(Debug, Clone, Copy)]
pub struct Conditions {
    pub latency: Duration,
    /// Extra random delay in [0, jitter): packets overtake each other.
    pub jitter: Duration,
    pub loss: f64,
    pub duplicate: f64,
    /// Largest packet the link carries; longer ones are dropped, as a path with a smaller MTU
    /// (or a peer that cannot read them) would.
    pub path_mtu: usize,
}

impl Conditions {
    pub const CLEAN: Conditions = Conditions {
        latency: Duration::from_millis(10),
        jitter: Duration::ZERO,
        loss: 0.0,
        duplicate: 0.0,
        path_mtu: usize::MAX,
    };
}

pub type DropRule = Box<dyn FnMut(bool, &[u8]) -> bool>;

/// (delivery time, sequence, towards b, packet)
type InFlight = (Instant, u64, bool, Vec<u8>);

pub struct Net {
    pub a: SctpTransport,
    pub b: SctpTransport,
    pub now: Instant,
    pub start: Instant,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    rng: ChaCha8Rng,
    pub conditions: Conditions,
    pub events_a: Vec<SctpEvent>,
    pub events_b: Vec<SctpEvent>,
    /// Packets to drop deterministically: (towards b, packet) -> drop.
    pub drop_rule: Option<DropRule>,
    pub packets_sent: u64,
}

pub fn config(client: bool) -> SctpConfig {
    SctpConfig {
        local_port: 5000,
        remote_port: 5000,
        max_message_size: 256 * 1024,
        client,
    }
}

impl Net {
    pub fn new(conditions: Conditions, seed: u64) -> Net {
        let now = Instant::now();
        Net {
            a: SctpTransport::new(config(true), now),
            b: SctpTransport::new(config(false), now),
            now,
            start: now,
            queue: BinaryHeap::new(),
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            conditions,
            events_a: Vec::new(),
            events_b: Vec::new(),
            drop_rule: None,
            packets_sent: 0,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u32() as f64 / u32::MAX as f64) < p
    }

    /// Moves every queued packet onto the link and collects events.
    pub fn flush(&mut self) {
        for towards_b in [true, false] {
            loop {
                let sender = if towards_b { &mut self.a } else { &mut self.b };
                let Some(packet) = sender.poll_transmit(self.now) else {
                    break;
                };
                self.packets_sent += 1;
                if let Some(rule) = self.drop_rule.as_mut() {
                    if rule(towards_b, &packet) {
                        continue;
                    }
                }
                if packet.len() > self.conditions.path_mtu || self.chance(self.conditions.loss) {
                    continue;
                }
                let copies = if self.chance(self.conditions.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let jitter_us = self.conditions.jitter.as_micros() as u64;
                    let extra = if jitter_us > 0 {
                        self.rng.next_u64() % jitter_us
                    } else {
                        0
                    };
                    let at = self.now + self.conditions.latency + Duration::from_micros(extra);
                    self.seq += 1;
                    self.queue
                        .push(Reverse((at, self.seq, towards_b, packet.clone())));
                }
            }
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push(e);
        }
    }

    /// Advances to the next delivery or timeout. False when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next_packet = self.queue.peek().map(|Reverse((at, ..))| *at);
        let next = [next_packet, self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        while let Some(Reverse((at, ..))) = self.queue.peek() {
            if *at > self.now {
                break;
            }
            let Some(Reverse((_, _, towards_b, packet))) = self.queue.pop() else {
                break;
            };
            if towards_b {
                self.b.handle_input(self.now, &packet);
            } else {
                self.a.handle_input(self.now, &packet);
            }
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of simulated time passes. Returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Net) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.flush();
            if done(self) {
                return true;
            }
            if self.now > deadline || !self.step() {
                return done(self);
            }
        }
    }

    /// Runs for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run_until(duration, |net| net.now >= until);
    }

    pub fn connect(&mut self) {
        let ok = self.run_until(Duration::from_secs(10), |net| {
            net.a.state() == SctpState::Connected && net.b.state() == SctpState::Connected
        });
        assert!(ok, "association did not connect");
        assert!(self.events_a.contains(&SctpEvent::Connected));
        assert!(self.events_b.contains(&SctpEvent::Connected));
    }

    /// A connected pair on a clean link of `latency` with one ordered, reliable channel "bulk"
    /// (id 0) open from a: the starting point of the bulk-transfer tests.
    pub fn with_bulk_channel(latency: Duration, seed: u64) -> Net {
        Net::with_bulk_channel_on(
            Conditions {
                latency,
                ..Conditions::CLEAN
            },
            seed,
        )
    }

    /// [`Net::with_bulk_channel`] on a link with the given conditions.
    pub fn with_bulk_channel_on(conditions: Conditions, seed: u64) -> Net {
        let mut net = Net::new(conditions, seed);
        net.connect();
        let now = net.now;
        let params = ChannelParams {
            label: "bulk".into(),
            ordered: true,
            ..Default::default()
        };
        net.a.open_channel(now, 0, params).unwrap();
        let open = net.run_until(Duration::from_secs(5), |n| {
            n.events_a.contains(&SctpEvent::ChannelOpen { id: 0 })
        });
        assert!(open, "channel 0 did not open");
        net
    }

    /// Removes and returns the messages received by a (or b) so far, in order.
    pub fn take_messages(&mut self, on_b: bool) -> Vec<(u16, Vec<u8>, bool)> {
        let events = if on_b {
            &mut self.events_b
        } else {
            &mut self.events_a
        };
        let mut out = Vec::new();
        events.retain(|e| match e {
            SctpEvent::Message { id, data, binary } => {
                out.push((*id, data.clone(), *binary));
                false
            }
            _ => true,
        });
        out
    }
}

//! The per-connection send queue, bounded in bytes: a slow TCP or WebSocket
//! client loses datagrams (as a congested path would) instead of growing
//! the relay's memory.
//!
//! Batches: what is queued leaves as one write (one WebSocket message). A
//! client that receives a steady stream (a data channel's packets, or a native
//! peer's SCTP acknowledgements, one every other packet) would otherwise get
//! one message per datagram, and each message costs the browser's network
//! service and page far more than its bytes do. So a busy client's batch waits
//! a moment for more (see [`GATHER`]); a quiet one, such as a ping-pong, never
//! waits.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Bytes that may wait for one client.
pub(crate) const MAX_QUEUED_BYTES: usize = 1 << 20;
/// Counted per message on top of its length, so tiny messages are bounded too.
const PER_MESSAGE_OVERHEAD: usize = 64;
/// Largest batch written (or sent as one WebSocket frame) at once.
pub(crate) const BATCH_BYTES: usize = 64 * 1024;
/// A client is busy when it got at least this many datagrams in the current and the previous
/// [`RATE_WINDOW`]: ~2,000 a second and more. A data channel at 10 MB/s brings ~8,000 packets,
/// or ~4,000 acknowledgements of a native sender; a ping-pong brings two per round trip.
const BUSY_DATAGRAMS: usize = 8;
const RATE_WINDOW: Duration = Duration::from_millis(2);
/// How long a busy client's batch waits for more. tokio's timer ticks in milliseconds, so this
/// is up to ~1 ms. Measured (BENCHMARKS.md, data channels, interleaved runs): native → polyfill
/// 10.9-12.6 MB/s against 8.1-10.2 without the wait, and a polyfill sending to native Chromium
/// used 63-68 ms of its browser's CPU per MiB against 74-88, as the page got several of native's
/// acknowledgements per WebSocket message.
const GATHER: Duration = Duration::from_micros(300);

#[derive(Clone)]
pub(crate) struct QueueTx {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

pub(crate) struct QueueRx {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    rate: Rate,
}

/// Datagrams handed to the client in the current [`RATE_WINDOW`] and the one before.
#[derive(Default)]
struct Rate {
    start: Option<Instant>,
    current: usize,
    previous: usize,
}

impl Rate {
    fn advance(&mut self, now: Instant) {
        match self.start {
            Some(s) if now < s + RATE_WINDOW => {}
            Some(s) if now < s + 2 * RATE_WINDOW => {
                self.previous = std::mem::take(&mut self.current);
                self.start = Some(s + RATE_WINDOW);
            }
            _ => {
                *self = Rate {
                    start: Some(now),
                    ..Rate::default()
                }
            }
        }
    }

    /// Count `n` datagrams handed out at `now`; whether the client is busy.
    fn record(&mut self, now: Instant, n: usize) -> bool {
        self.advance(now);
        self.current += n;
        self.previous + self.current >= BUSY_DATAGRAMS
    }
}

pub(crate) fn queue() -> (QueueTx, QueueRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        QueueTx {
            tx,
            queued: queued.clone(),
        },
        QueueRx {
            rx,
            queued,
            rate: Rate::default(),
        },
    )
}

impl QueueTx {
    /// Queue `data`; false (dropped) when the client is too far behind.
    pub fn try_send(&self, data: Vec<u8>) -> bool {
        let cost = data.len() + PER_MESSAGE_OVERHEAD;
        if self.queued.fetch_add(cost, Relaxed) + cost > MAX_QUEUED_BYTES {
            self.queued.fetch_sub(cost, Relaxed);
            return false;
        }
        if self.tx.send(data).is_err() {
            self.queued.fetch_sub(cost, Relaxed);
            return false;
        }
        true
    }
}

impl QueueRx {
    /// Wait for one message, alone (WebTransport sends each in its own datagram).
    pub async fn next_message(&mut self) -> Option<Vec<u8>> {
        let m = self.rx.recv().await?;
        self.queued
            .fetch_sub(m.len() + PER_MESSAGE_OVERHEAD, Relaxed);
        Some(m)
    }

    /// Wait for one message, then take whatever else is queued, up to
    /// `BATCH_BYTES`, concatenated (stream framing needs no separators). A busy
    /// client's batch first waits up to [`GATHER`] for more.
    pub async fn next_batch(&mut self) -> Option<Vec<u8>> {
        let mut batch = self.rx.recv().await?;
        self.queued
            .fetch_sub(batch.len() + PER_MESSAGE_OVERHEAD, Relaxed);
        let n = 1 + self.drain_into(&mut batch);
        let busy = self.rate.record(Instant::now(), n);
        if busy && batch.len() < BATCH_BYTES {
            tokio::time::sleep(GATHER).await;
            let more = self.drain_into(&mut batch);
            self.rate.record(Instant::now(), more);
        }
        Some(batch)
    }

    /// Append what is queued to `batch`, up to `BATCH_BYTES`; how many messages.
    fn drain_into(&mut self, batch: &mut Vec<u8>) -> usize {
        let mut n = 0;
        while batch.len() < BATCH_BYTES {
            match self.rx.try_recv() {
                Ok(more) => {
                    self.queued
                        .fetch_sub(more.len() + PER_MESSAGE_OVERHEAD, Relaxed);
                    batch.extend_from_slice(&more);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_from_eight_datagrams_over_two_windows() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_micros(n * 1000);
        let mut rate = Rate::default();
        // A ping-pong at a 1 ms round trip: a datagram a millisecond.
        for i in 0..20 {
            assert!(!rate.record(ms(i), 1), "at {i} ms");
        }
        // A burst: eight within the window.
        let mut rate = Rate::default();
        assert!(!rate.record(ms(0), 5));
        assert!(rate.record(ms(1), 3));
        // Still busy in the next window (the previous one counts), no longer after two.
        assert!(rate.record(ms(3), 0));
        assert!(!rate.record(ms(7), 0));
    }

    #[tokio::test]
    async fn a_busy_clients_batch_gathers_what_arrives_meanwhile() {
        let (tx, mut rx) = queue();
        for _ in 0..BUSY_DATAGRAMS {
            assert!(tx.try_send(vec![0; 10]));
        }
        assert_eq!(rx.next_batch().await.unwrap().len(), 10 * BUSY_DATAGRAMS);
        assert!(tx.try_send(vec![1; 10]));
        // Sent while the busy client's batch waits.
        let late = tx.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            assert!(late.try_send(vec![2; 10]));
        });
        assert_eq!(
            rx.next_batch().await.unwrap(),
            [[1u8; 10], [2; 10]].concat()
        );
    }

    #[tokio::test]
    async fn a_quiet_clients_batch_leaves_at_once() {
        let (tx, mut rx) = queue();
        assert!(tx.try_send(vec![1; 10]));
        let late = tx.clone();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(late.try_send(vec![2; 10]));
        });
        assert_eq!(rx.next_batch().await.unwrap(), vec![1; 10]);
        sender.await.unwrap();
        assert_eq!(rx.next_batch().await.unwrap(), vec![2; 10]);
    }

    #[tokio::test]
    async fn bounded_in_bytes_and_batched() {
        let (tx, mut rx) = queue();
        let mut accepted = 0;
        for _ in 0..2000 {
            if tx.try_send(vec![0; 1000]) {
                accepted += 1;
            }
        }
        assert_eq!(accepted, MAX_QUEUED_BYTES / 1064);
        let first = rx.next_batch().await.unwrap();
        assert!(first.len() >= BATCH_BYTES && first.len() < BATCH_BYTES + 1000);
        assert!(tx.try_send(vec![1; 10]), "room again after draining");
    }
}

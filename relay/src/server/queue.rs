//! The per-connection send queue, bounded in bytes: a slow TCP or WebSocket
//! client loses datagrams (as a congested path would) instead of growing
//! the relay's memory.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Bytes that may wait for one client.
pub(crate) const MAX_QUEUED_BYTES: usize = 1 << 20;
/// Counted per message on top of its length, so tiny messages are bounded too.
const PER_MESSAGE_OVERHEAD: usize = 64;
/// Largest batch written (or sent as one WebSocket frame) at once.
pub(crate) const BATCH_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct QueueTx {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

pub(crate) struct QueueRx {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

pub(crate) fn queue() -> (QueueTx, QueueRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        QueueTx {
            tx,
            queued: queued.clone(),
        },
        QueueRx { rx, queued },
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
    /// `BATCH_BYTES`, concatenated (stream framing needs no separators).
    pub async fn next_batch(&mut self) -> Option<Vec<u8>> {
        let mut batch = self.rx.recv().await?;
        self.queued
            .fetch_sub(batch.len() + PER_MESSAGE_OVERHEAD, Relaxed);
        while batch.len() < BATCH_BYTES {
            match self.rx.try_recv() {
                Ok(more) => {
                    self.queued
                        .fetch_sub(more.len() + PER_MESSAGE_OVERHEAD, Relaxed);
                    batch.extend_from_slice(&more);
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! TURN over TCP (RFC 8656 §12.5 framing). The same frame splitter serves
//! WebSocket frames in `http.rs`.

use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use crate::framing::stream_frame_len;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

pub(super) async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let local = match stream.local_addr() { Ok(l) => l, Err(_) => continue };
                    let Some((id, rx)) = shared.new_conn(ClientTransport::Tcp) else {
                        tracing::warn!(%remote, "connection limit reached");
                        continue;
                    };
                    let client = ClientId { transport: ClientTransport::Tcp, remote: super::canonical(remote), local: super::canonical(local), conn: id };
                    tokio::spawn(handle_stream(shared.clone(), stream, client, rx));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// Feed complete frames from `buf` to the core; return how many bytes were
/// used, or `None` if the stream is not TURN.
pub(super) fn process_frames(shared: &Arc<Shared>, client: ClientId, buf: &[u8]) -> Option<usize> {
    let mut frames = Vec::new();
    let mut pos = 0;
    let mut bad = false;
    loop {
        match stream_frame_len(&buf[pos..]) {
            Ok(Some(n)) => {
                frames.push(pos..pos + n);
                pos += n;
            }
            Ok(None) => break,
            Err(_) => {
                bad = true;
                break;
            }
        }
    }
    if !frames.is_empty() {
        let t = client.transport;
        shared.metrics.client_rx_packets.add(t, frames.len() as u64);
        shared.metrics.client_rx_bytes.add(t, pos as u64);
        shared.with_core(|core, sockets, out| {
            let now = Instant::now();
            for r in frames {
                core.handle_client(now, client, &buf[r], sockets, out);
            }
        });
    }
    if bad {
        shared
            .metrics
            .malformed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        None
    } else {
        Some(pos)
    }
}

pub(super) fn idle_timer() -> tokio::time::Interval {
    let t = super::IDLE_TIMEOUT;
    tokio::time::interval_at(tokio::time::Instant::now() + t, t)
}

pub(super) async fn handle_stream<S>(
    shared: Arc<Shared>,
    stream: S,
    client: ClientId,
    mut rx: super::queue::QueueRx,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        while let Some(batch) = rx.next_batch().await {
            if wr.write_all(&batch).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut shutdown = shared.shutdown.clone();
    // Bounded: at most one maximal frame (4 + 65535 + pad) plus one read.
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut tmp = vec![0u8; 16384];
    let mut idle = idle_timer();
    let mut active = false;
    loop {
        tokio::select! {
            r = rd.read(&mut tmp) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    active = true;
                    buf.extend_from_slice(&tmp[..n]);
                    match process_frames(&shared, client, &buf) {
                        Some(used) => { buf.drain(..used); }
                        None => break,
                    }
                }
            },
            _ = idle.tick() => {
                if !std::mem::take(&mut active) && !shared.has_allocation(&client) {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    shared.conn_closed(client);
    writer.abort();
}

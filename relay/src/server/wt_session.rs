//! One WebTransport session = one TURN client 5-tuple (like a WebSocket
//! session): its allocation is freed when the session closes.
//!
//! Each TURN message or ChannelData travels in one datagram when it fits
//! `max_datagram_size`; otherwise on a bidirectional stream framed as on TCP
//! (RFC 8656 §12.5). The client opens that stream; if the relay must send an
//! oversize message first, it opens one itself. A STUN response goes back on
//! the channel its request came on.

use super::queue::QueueRx;
use super::stream::{idle_timer, process_frames};
use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use crate::framing::{stream_frame_len, FrameKind};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wtransport::endpoint::IncomingSession;
use wtransport::error::SendDatagramError;
use wtransport::{Connection, RecvStream, SendStream, VarInt};

/// A QUIC + HTTP/3 handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Streams a client may open per session (one is the protocol; a few allow
/// reconnect-style reopening).
const MAX_STREAMS: usize = 4;
/// Transaction ids of requests that came on a stream, awaiting their response.
const MAX_STREAM_TIDS: usize = 64;
/// STUN transaction id position (RFC 8489 §5).
const TID: std::ops::Range<usize> = 8..20;

type TidList = Arc<Mutex<VecDeque<[u8; 12]>>>;

pub(super) async fn handle_incoming(shared: Arc<Shared>, incoming: IncomingSession) {
    let req = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "webtransport handshake failed");
            return;
        }
        Err(_) => return,
    };
    let remote = req.remote_address();
    let path = req.path().split('?').next().unwrap_or_default();
    if path != super::webtransport::SESSION_PATH {
        return req.not_found().await;
    }
    if !shared.origin_allowed(req.origin()) {
        tracing::info!(%remote, origin = ?req.origin(), "webtransport origin refused");
        return req.forbidden().await;
    }
    if shared.at_connection_limit() {
        return req.too_many_requests().await;
    }
    let local = shared.secure.wt_local.unwrap_or(remote);
    let conn = match req.accept().await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "webtransport accept failed");
            return;
        }
    };
    let Some((id, rx)) = shared.new_conn(ClientTransport::WebTransport) else {
        conn.close(VarInt::from_u32(0), b"connection limit");
        return;
    };
    let client = ClientId {
        transport: ClientTransport::WebTransport,
        remote,
        local,
        conn: id,
    };
    session(shared, conn, client, rx).await;
}

async fn session(shared: Arc<Shared>, conn: Connection, client: ClientId, rx: QueueRx) {
    let tids: TidList = Arc::default();
    let (stream_tx, stream_rx) = mpsc::channel::<SendStream>(MAX_STREAMS);
    let writer = tokio::spawn(write_loop(conn.clone(), rx, stream_rx, tids.clone()));
    let mut readers = Vec::new();
    let mut shutdown = shared.shutdown.clone();
    let mut idle = idle_timer();
    let mut active = false;
    loop {
        tokio::select! {
            d = conn.receive_datagram() => match d {
                Ok(d) => {
                    active = true;
                    process_datagram(&shared, client, &d);
                }
                Err(_) => break,
            },
            s = conn.accept_bi() => match s {
                Ok((send, recv)) if readers.len() < MAX_STREAMS => {
                    active = true;
                    let _ = stream_tx.try_send(send);
                    readers.push(tokio::spawn(read_stream(shared.clone(), conn.clone(), recv, client, tids.clone())));
                }
                Ok(_) => {}
                Err(_) => break,
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
    for r in readers {
        r.abort();
    }
    conn.close(VarInt::from_u32(0), b"");
}

/// A datagram holds exactly one STUN message or ChannelData (padded or not).
fn process_datagram(shared: &Arc<Shared>, client: ClientId, data: &[u8]) {
    let t = client.transport;
    shared.metrics.client_rx_packets.add(t, 1);
    shared.metrics.client_rx_bytes.add(t, data.len() as u64);
    shared.with_core(|core, sockets, out| {
        core.handle_client(Instant::now(), client, data, sockets, out);
    });
}

/// Remember the transaction ids of STUN messages in `buf[..used]`.
fn note_stream_tids(buf: &[u8], tids: &TidList) {
    let mut pos = 0;
    while let Some(rest) = buf.get(pos..) {
        let Ok(Some(n)) = stream_frame_len(rest) else {
            break;
        };
        let is_stun = rest
            .first()
            .is_some_and(|b| crate::framing::classify(*b) == Ok(FrameKind::Stun));
        if let (true, Some(tid)) = (is_stun, rest.get(TID)) {
            let mut l = super::lock(tids);
            if l.len() >= MAX_STREAM_TIDS {
                l.pop_front();
            }
            let mut id = [0u8; 12];
            id.copy_from_slice(tid);
            l.push_back(id);
        }
        pos += n;
    }
}

async fn read_stream(
    shared: Arc<Shared>,
    conn: Connection,
    mut recv: RecvStream,
    client: ClientId,
    tids: TidList,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut tmp = vec![0u8; 16384];
    loop {
        let n = match recv.read(&mut tmp).await {
            Ok(Some(n)) => n,
            Ok(None) | Err(_) => return,
        };
        buf.extend_from_slice(tmp.get(..n).unwrap_or_default());
        note_stream_tids(&buf, &tids);
        match process_frames(&shared, client, &buf) {
            Some(used) => {
                buf.drain(..used);
            }
            None => {
                // Not TURN framing: end the session, as TCP does.
                conn.close(VarInt::from_u32(1), b"bad framing");
                return;
            }
        }
    }
}

/// True when `msg` answers a request that came on a stream.
fn answers_stream_request(msg: &[u8], tids: &TidList) -> bool {
    let Some(tid) = msg.get(TID) else {
        return false;
    };
    if msg.first().map(|b| b >> 6) != Some(0) {
        return false;
    }
    let mut l = super::lock(tids);
    match l.iter().position(|t| t.as_slice() == tid) {
        Some(i) => {
            l.remove(i);
            true
        }
        None => false,
    }
}

async fn write_loop(
    conn: Connection,
    mut rx: QueueRx,
    mut streams: mpsc::Receiver<SendStream>,
    tids: TidList,
) {
    let mut stream: Option<SendStream> = None;
    loop {
        let msg = tokio::select! {
            m = rx.next_message() => match m {
                Some(m) => m,
                None => return,
            },
            s = streams.recv() => {
                // The client's first stream carries the relay's oversize messages.
                if let (None, Some(s)) = (&stream, s) {
                    stream = Some(s);
                }
                continue;
            }
        };
        let fits = conn.max_datagram_size().is_some_and(|max| msg.len() <= max);
        if fits && !answers_stream_request(&msg, &tids) {
            match conn.send_datagram(msg.clone()) {
                Ok(()) => continue,
                Err(SendDatagramError::TooLarge) => {}
                Err(SendDatagramError::NotConnected) => return,
                Err(SendDatagramError::UnsupportedByPeer) => {}
            }
        }
        if stream.is_none() {
            stream = open_stream(&conn).await;
        }
        let Some(s) = stream.as_mut() else {
            // No stream could be opened: the message is lost, as a datagram may be.
            continue;
        };
        if s.write_all(&msg).await.is_err() {
            stream = None;
        }
    }
}

async fn open_stream(conn: &Connection) -> Option<SendStream> {
    let opening = conn.open_bi().await.ok()?;
    opening.await.ok().map(|(send, _recv)| send)
}

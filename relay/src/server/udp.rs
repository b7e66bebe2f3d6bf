use super::Shared;
use crate::allocation::{ClientId, ClientTransport};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;

pub(super) async fn serve(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; 65536];
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, remote)) => {
                    let t = ClientTransport::Udp;
                    shared.metrics.client_rx_packets.add(t, 1);
                    shared.metrics.client_rx_bytes.add(t, n as u64);
                    let client = ClientId { transport: t, remote: super::canonical(remote), local: super::canonical(local), conn: 0 };
                    let data = &buf[..n];
                    shared.with_core(|core, sockets, out| core.handle_client(Instant::now(), client, data, sockets, out));
                }
                Err(e) => tracing::trace!(error = %e, "udp recv error"),
            },
            _ = shutdown.changed() => break,
        }
    }
}

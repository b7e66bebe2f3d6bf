//! One UDP socket per allocation, bound by the core through [`RelaySockets`].

use super::{lock, RelayIps, Shared};
use crate::turn::{AddressFamily, RelaySockets};
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

pub(crate) struct RelayEntry {
    pub socket: Arc<UdpSocket>,
    pub task: JoinHandle<()>,
}

/// Binds std sockets while the core lock is held (a syscall, no await); the
/// shell registers them with tokio afterwards.
pub(crate) struct ShellSockets {
    ips: RelayIps,
    pub opened: Vec<(SocketAddr, std::net::UdpSocket)>,
}

impl ShellSockets {
    pub fn new(ips: RelayIps) -> Self {
        ShellSockets {
            ips,
            opened: Vec::new(),
        }
    }

    fn ip(&self, family: AddressFamily) -> std::io::Result<IpAddr> {
        let ip = match family {
            AddressFamily::V4 => self.ips.v4,
            AddressFamily::V6 => self.ips.v6,
        };
        ip.ok_or_else(|| std::io::Error::other("no relay address of this family"))
    }
}

/// Kernel buffer asked for each relayed socket, both ways. A peer's SCTP sends a whole congestion
/// window back to back, and a WebSocket client's frame of datagrams leaves as one burst: with
/// Linux's default ~208 KiB receive buffer the tail of such bursts was dropped (the data-channel
/// benchmark counted hundreds of RcvbufErrors per 4 MiB), and each loss cost the peers an SCTP
/// retransmission timeout. The kernel caps this at `net.core.rmem_max`/`wmem_max` (the operator
/// guide says to raise them); the memory is used only while datagrams are queued.
pub(crate) const SOCKET_BUFFER_BYTES: usize = 2 << 20;

/// Best effort: a smaller buffer than asked for is still a working socket.
pub(crate) fn enlarge_buffers(socket: &impl std::os::fd::AsFd, bytes: usize) {
    let s = socket2::SockRef::from(socket);
    let _ = s.set_recv_buffer_size(bytes);
    let _ = s.set_send_buffer_size(bytes);
}

impl RelaySockets for ShellSockets {
    fn supports(&self, family: AddressFamily) -> bool {
        self.ip(family).is_ok()
    }

    fn open(&mut self, family: AddressFamily, even_port: bool) -> std::io::Result<SocketAddr> {
        let ip = self.ip(family)?;
        // EVEN-PORT (RFC 8656 §14.6): retry a few kernel-chosen ports.
        for _ in 0..16 {
            let s = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let addr = s.local_addr()?;
            if even_port && addr.port() % 2 == 1 {
                continue;
            }
            s.set_nonblocking(true)?;
            enlarge_buffers(&s, SOCKET_BUFFER_BYTES);
            self.opened.push((addr, s));
            return Ok(addr);
        }
        Err(std::io::Error::other("no even port found"))
    }

    fn open_pair(&mut self, family: AddressFamily) -> std::io::Result<SocketAddr> {
        let ip = self.ip(family)?;
        for _ in 0..64 {
            let s = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let even = s.local_addr()?;
            if even.port() % 2 == 1 || even.port() == u16::MAX {
                continue;
            }
            let Ok(next) = std::net::UdpSocket::bind(SocketAddr::new(ip, even.port() + 1)) else {
                continue;
            };
            s.set_nonblocking(true)?;
            next.set_nonblocking(true)?;
            enlarge_buffers(&s, SOCKET_BUFFER_BYTES);
            enlarge_buffers(&next, SOCKET_BUFFER_BYTES);
            let odd = next.local_addr()?;
            self.opened.push((even, s));
            self.opened.push((odd, next));
            return Ok(even);
        }
        Err(std::io::Error::other("no free even/odd port pair"))
    }

    fn dont_fragment(&mut self, relay: SocketAddr) -> std::io::Result<()> {
        let (_, socket) = self
            .opened
            .iter()
            .find(|(addr, _)| *addr == relay)
            .ok_or_else(|| std::io::Error::other("not a socket opened by this request"))?;
        set_dont_fragment(socket, relay)
    }
}

/// DF set and no local fragmentation, regardless of the path MTU the kernel has cached: PROBE,
/// not DO, so a forged ICMP "fragmentation needed" cannot make the kernel refuse datagrams the
/// path does carry (RFC 8899 §4.6 has path MTU discovery not trust ICMP).
fn set_dont_fragment(socket: &std::net::UdpSocket, relay: SocketAddr) -> std::io::Result<()> {
    use rustix::net::sockopt;
    match relay {
        SocketAddr::V4(_) => {
            sockopt::set_ip_mtu_discover(socket, sockopt::Ipv4PathMtuDiscovery::PROBE)?
        }
        SocketAddr::V6(_) => {
            sockopt::set_ipv6_mtu_discover(socket, sockopt::Ipv6PathMtuDiscovery::PROBE)?
        }
    }
    Ok(())
}

impl Shared {
    pub(super) fn register_relay(self: &Arc<Self>, addr: SocketAddr, sock: std::net::UdpSocket) {
        let socket = match UdpSocket::from_std(sock) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot register relay socket");
                return;
            }
        };
        let task = tokio::spawn(read_peers(self.clone(), socket.clone(), addr));
        lock(&self.relays).insert(addr, RelayEntry { socket, task });
    }
}

thread_local! {
    /// One receive buffer per worker thread instead of 64 KiB per allocation:
    /// with 10,000 allocations that is the difference between ~30 MB and
    /// ~650 MB of buffers.
    static RECV_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 65536]);
}

/// Receive one waiting datagram into the thread's buffer and hand it to the core.
fn relay_one(shared: &Arc<Shared>, socket: &UdpSocket, relay: SocketAddr) -> std::io::Result<()> {
    RECV_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let (n, peer) = socket.try_recv_from(&mut buf)?;
        let data = &buf[..n];
        shared.with_core(|core, _, out| core.handle_peer(Instant::now(), relay, peer, data, out));
        Ok(())
    })
}

async fn read_peers(shared: Arc<Shared>, socket: Arc<UdpSocket>, relay: SocketAddr) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = socket.readable() => {
                if r.is_err() {
                    break;
                }
                // Drain what is queued, yielding now and then so one busy
                // allocation cannot starve the others.
                for _ in 0..64 {
                    match relay_one(&shared, &socket, relay) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP errors from earlier sends surface here; not fatal.
                        Err(e) => tracing::trace!(error = %e, %relay, "relay recv error"),
                    }
                }
                tokio::task::yield_now().await;
            }
            _ = shutdown.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::sockopt;

    #[test]
    fn dont_fragment_turns_off_local_fragmentation() {
        let ips = RelayIps {
            v4: Some(IpAddr::from([127, 0, 0, 1])),
            v6: None,
        };
        let mut sockets = ShellSockets::new(ips);
        let relay = sockets.open(AddressFamily::V4, false).unwrap();
        let socket = &sockets.opened[0].1;
        // Linux's default lets the kernel fragment a datagram over the path MTU.
        assert_ne!(
            sockopt::ip_mtu_discover(socket).unwrap(),
            sockopt::Ipv4PathMtuDiscovery::PROBE
        );
        sockets.dont_fragment(relay).unwrap();
        let socket = &sockets.opened[0].1;
        assert_eq!(
            sockopt::ip_mtu_discover(socket).unwrap(),
            sockopt::Ipv4PathMtuDiscovery::PROBE
        );
        let elsewhere: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(sockets.dont_fragment(elsewhere).is_err());
    }
}

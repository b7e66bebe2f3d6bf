//! Datagrams to peers, sent in runs: a client's WebSocket or TCP read often carries dozens of
//! ChannelData messages for one peer (a data-channel sender's burst), and a `sendto` each cost
//! the relay half its CPU in the data-channel benchmark. On Linux a run of equal-sized datagrams
//! to one peer (the last may be shorter) leaves in one `sendmsg` with UDP generic segmentation
//! offload (`UDP_SEGMENT`, Linux 4.18): one pass through the IP stack, and the kernel or the NIC
//! cuts it back into the very same datagrams, so the peer sees no difference. Anything else,
//! and any run the kernel refuses, goes out one `sendto` per datagram as before.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tokio::net::UdpSocket;

/// Most datagrams in one run: the kernel's `UDP_MAX_SEGMENTS` (64 before Linux 6.11).
const MAX_SEGMENTS: usize = 64;
/// Most bytes in one run: a UDP payload over IPv4 (65,535 − 8 − 20).
const MAX_RUN_BYTES: usize = 65_507;

/// Cleared the first time the kernel says it has no UDP segmentation, so later runs go straight
/// to one `sendto` each.
static SEGMENTATION: AtomicBool = AtomicBool::new(true);

/// Datagrams for one relay socket and peer, gathered while the core's outputs are dispatched.
pub(crate) struct PeerRun {
    pub relay: SocketAddr,
    pub peer: SocketAddr,
    /// The datagrams back to back.
    bytes: Vec<u8>,
    /// Every datagram's length but the last's, which may be shorter.
    segment: usize,
    count: usize,
    /// A shorter datagram ended the run: nothing more can follow it.
    closed: bool,
}

impl PeerRun {
    pub fn new(relay: SocketAddr, peer: SocketAddr, data: Vec<u8>) -> Self {
        PeerRun {
            relay,
            peer,
            segment: data.len(),
            closed: data.is_empty(),
            bytes: data,
            count: 1,
        }
    }

    /// Append `data` if it can leave in the same segmented send; false leaves the run as it was.
    pub fn push(&mut self, relay: SocketAddr, peer: SocketAddr, data: &[u8]) -> bool {
        let fits = !self.closed
            && relay == self.relay
            && peer == self.peer
            && !data.is_empty()
            && data.len() <= self.segment
            && self.count < MAX_SEGMENTS
            && self.bytes.len() + data.len() <= MAX_RUN_BYTES;
        if fits {
            self.bytes.extend_from_slice(data);
            self.count += 1;
            self.closed = data.len() < self.segment;
        }
        fits
    }

    /// Send the run on `socket`, the relay socket of `self.relay`. UDP is allowed to lose: a
    /// full socket buffer drops the rest of the run, as a `sendto` each would have.
    pub fn send(&self, socket: &UdpSocket) {
        if self.count == 1 {
            if let Err(e) = socket.try_send_to(&self.bytes, self.peer) {
                tracing::trace!(error = %e, peer = %self.peer, "relay send dropped");
            }
            return;
        }
        if SEGMENTATION.load(Relaxed) {
            match segmented::send(socket, self.peer, &self.bytes, self.segment) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    tracing::trace!(peer = %self.peer, "relay send dropped (socket buffer full)");
                    return;
                }
                Err(e) => {
                    if segmented::unsupported(&e) {
                        SEGMENTATION.store(false, Relaxed);
                    }
                    // Other refusals (a route MTU below the segment size, say) are this run's.
                    tracing::debug!(error = %e, peer = %self.peer, "segmented send refused");
                }
            }
        }
        // More than one datagram: none is empty (`push` refuses those), so `segment` > 0.
        for datagram in self.bytes.chunks(self.segment) {
            if let Err(e) = socket.try_send_to(datagram, self.peer) {
                tracing::trace!(error = %e, peer = %self.peer, "relay send dropped");
                return;
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod segmented {
    use socket2::{MsgHdr, SockAddr, SockRef};
    use std::io::{self, IoSlice};
    use std::net::SocketAddr;
    use tokio::io::Interest;
    use tokio::net::UdpSocket;

    /// `SOL_UDP` and `UDP_SEGMENT` from <linux/udp.h>.
    const SOL_UDP: i32 = 17;
    const UDP_SEGMENT: i32 = 103;

    /// One `sendmsg` of `bytes` as datagrams of `segment` bytes (the last may be shorter).
    pub fn send(
        socket: &UdpSocket,
        peer: SocketAddr,
        bytes: &[u8],
        segment: usize,
    ) -> io::Result<()> {
        let size = u16::try_from(segment)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment too large"))?;
        let control = control_message(size);
        let addr = SockAddr::from(peer);
        let buffers = [IoSlice::new(bytes)];
        let msg = MsgHdr::new()
            .with_addr(&addr)
            .with_buffers(&buffers)
            .with_control(&control);
        socket.try_io(Interest::WRITABLE, || {
            SockRef::from(socket).sendmsg(&msg, 0).map(|_| ())
        })
    }

    /// The kernel has no UDP segmentation at all (before 4.18, or not for this socket family).
    pub fn unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(92 /* ENOPROTOOPT */ | 95 /* EOPNOTSUPP */ | 5 /* EIO */)
        )
    }

    /// A `cmsghdr` carrying `UDP_SEGMENT` = `size`, laid out as CMSG_SPACE(2) bytes: the header
    /// is { cmsg_len: size_t, cmsg_level: int, cmsg_type: int }, data and total aligned to
    /// size_t. Built by hand so that no `unsafe` CMSG_* call is needed.
    fn control_message(size: u16) -> Vec<u8> {
        let word = std::mem::size_of::<usize>();
        let align = |n: usize| n.div_ceil(word) * word;
        let header = align(word + 8);
        let len = header + 2;
        let mut out = Vec::with_capacity(align(len));
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&SOL_UDP.to_ne_bytes());
        out.extend_from_slice(&UDP_SEGMENT.to_ne_bytes());
        out.resize(header, 0);
        out.extend_from_slice(&size.to_ne_bytes());
        out.resize(align(len), 0);
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn control_message_is_cmsg_space_of_a_u16() {
            let c = super::control_message(1257);
            // x86_64/aarch64: 16-byte header + 2 bytes, padded to 24.
            if std::mem::size_of::<usize>() == 8 {
                assert_eq!(c.len(), 24);
                assert_eq!(&c[..8], &18usize.to_ne_bytes());
                assert_eq!(&c[16..18], &1257u16.to_ne_bytes());
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod segmented {
    use std::io;
    use std::net::SocketAddr;
    use tokio::net::UdpSocket;

    pub fn send(_: &UdpSocket, _: SocketAddr, _: &[u8], _: usize) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no UDP segmentation",
        ))
    }

    pub fn unsupported(_: &io::Error) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_run_takes_equal_datagrams_for_one_peer_and_ends_at_a_shorter_one() {
        let (relay, peer) = (addr(1), addr(2));
        let mut run = PeerRun::new(relay, peer, vec![1; 100]);
        assert!(run.push(relay, peer, &[2; 100]));
        assert!(!run.push(relay, addr(3), &[3; 100]), "another peer");
        assert!(!run.push(addr(4), peer, &[3; 100]), "another relay socket");
        assert!(!run.push(relay, peer, &[3; 101]), "longer than the segment");
        assert!(!run.push(relay, peer, &[]), "empty datagrams go alone");
        assert!(
            run.push(relay, peer, &[4; 40]),
            "a shorter one ends the run"
        );
        assert!(
            !run.push(relay, peer, &[5; 40]),
            "nothing follows the shorter one"
        );
        assert_eq!((run.count, run.bytes.len(), run.segment), (3, 240, 100));
    }

    #[test]
    fn a_run_stops_at_the_kernels_limits() {
        let (relay, peer) = (addr(1), addr(2));
        let mut run = PeerRun::new(relay, peer, vec![0; 10]);
        while run.push(relay, peer, &[0; 10]) {}
        assert_eq!(run.count, MAX_SEGMENTS);
        let mut big = PeerRun::new(relay, peer, vec![0; 1400]);
        while big.push(relay, peer, &[0; 1400]) {}
        assert!(big.bytes.len() <= MAX_RUN_BYTES);
        assert_eq!(big.count, MAX_RUN_BYTES / 1400);
    }

    /// Over loopback the peer receives the very datagrams of the run, in order, whether the
    /// kernel segmented them or the fallback sent one each.
    #[tokio::test]
    async fn the_peer_receives_each_datagram_of_a_run() {
        let relay = UdpSocket::bind("127.0.0.1:0").await.expect("bind relay");
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind peer");
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let to = peer.local_addr().expect("addr");
        let from = relay.local_addr().expect("addr");
        let sizes = [1257, 1257, 1257, 1257, 300];
        let mut run = PeerRun::new(from, to, vec![0; sizes[0]]);
        for (i, &n) in sizes.iter().enumerate().skip(1) {
            assert!(run.push(from, to, &vec![i as u8; n]));
        }
        // As in the relay, where a socket is written long after tokio first saw it writable.
        relay.writable().await.expect("writable");
        // Linux (4.18 on) segments: the send itself must succeed, not fall back.
        #[cfg(target_os = "linux")]
        segmented::send(&relay, to, &run.bytes, run.segment).expect("segmented send");
        #[cfg(not(target_os = "linux"))]
        run.send(&relay);
        let mut buf = [0u8; 65536];
        for (i, &n) in sizes.iter().enumerate() {
            let (len, src) = peer.recv_from(&mut buf).expect("datagram");
            assert_eq!((len, src), (n, from), "datagram {i}");
            assert!(
                buf[..len].iter().all(|&b| b == i as u8),
                "datagram {i}'s bytes"
            );
        }
        // And through `send`, whichever way it takes.
        run.send(&relay);
        for &n in &sizes {
            assert_eq!(peer.recv_from(&mut buf).expect("datagram").0, n);
        }
    }
}

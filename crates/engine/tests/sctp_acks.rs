//! The receiver's SACK rate when DATA arrives in batches. Over the relay's WebSocket a page gets
//! up to ~50 SCTP packets in one frame and feeds them to the engine back to back; the engine must
//! still acknowledge every fourth DATA packet (`sack_every` in crates/engine/src/sctp/transport.rs;
//! RFC 9260 §6.2 recommends every second), as a receiver handling packets one by one does. One
//! SACK per batch starves a sender in slow start, which grows cwnd by at most one MTU per SACK
//! (RFC 9260 §7.2.1): Chromium sending to the polyfill was held to ~2.5 MB/s. Every second packet
//! cost the page a WebSocket send per ~2 packets: native → polyfill ran ~25 % slower.

mod sctp_common;

use sctp_common::{Conditions, Net};
use std::time::Duration;

/// SCTP chunk types (RFC 9260 §3.2) of the first chunk, after the 12-byte common header.
const DATA: u8 = 0;
const SACK: u8 = 3;

/// How many of `packets` start with a chunk of `chunk_type`.
fn count(packets: &[Vec<u8>], chunk_type: u8) -> usize {
    packets
        .iter()
        .filter(|p| p.get(12) == Some(&chunk_type))
        .count()
}

#[test]
fn a_batch_of_data_packets_gets_a_sack_for_every_fourth_packet() {
    // A path of the base packet size: path MTU probes fail, and a packet carries ~1.2 KB.
    let link = Conditions {
        latency: Duration::from_millis(1),
        path_mtu: 1191,
        ..Conditions::CLEAN
    };
    let mut net = Net::with_bulk_channel_on(link, 7);
    // Grow the sender's congestion window past one batch.
    let message = vec![0x5a; 64 * 1024];
    for _ in 0..16 {
        let now = net.now;
        net.a.send(now, 0, &message, true).unwrap();
    }
    assert!(net.run_until(Duration::from_secs(10), |n| n.a.buffered_amount(0) == 0));
    net.run_for(Duration::from_millis(500));
    net.take_messages(true);

    // One window's worth, delivered to the receiver back to back without polling in between.
    let now = net.now;
    net.a.send(now, 0, &message, true).unwrap();
    let batch: Vec<Vec<u8>> = std::iter::from_fn(|| net.a.poll_transmit(now)).collect();
    let data = count(&batch, DATA);
    assert!(
        data >= 40,
        "one window holds the 64 KiB message: {data} DATA packets"
    );
    for packet in &batch {
        net.b.handle_input(now, packet);
    }
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| net.b.poll_transmit(now)).collect();
    let sacks = count(&replies, SACK);
    assert!(
        sacks * 4 >= data - 3 && sacks * 4 <= data,
        "{sacks} SACKs for {data} DATA packets received in one batch"
    );
}

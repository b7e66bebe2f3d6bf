//! The receiver's SACK rate when DATA arrives in batches. Over the relay's WebSocket a page gets
//! up to ~50 SCTP packets in one frame and feeds them to the engine back to back; the engine must
//! still acknowledge every second DATA packet (RFC 9260 §6.2), as a receiver handling packets one
//! by one does. One SACK per batch starves a sender in slow start, which grows cwnd by at most one
//! MTU per SACK (RFC 9260 §7.2.1): Chromium sending to the polyfill was held to ~2.5 MB/s.

mod sctp_common;

use polyrtc_engine::sctp::{ChannelParams, SctpEvent};
use sctp_common::{Conditions, Net};
use std::time::Duration;

/// SCTP chunk types (RFC 9260 §3.2) of the first chunk, after the 12-byte common header.
const DATA: u8 = 0;
const SACK: u8 = 3;

fn first_chunk(packet: &[u8]) -> Option<u8> {
    packet.get(12).copied()
}

#[test]
fn a_batch_of_data_packets_gets_a_sack_for_every_second_packet() {
    let mut net = Net::new(
        Conditions {
            latency: Duration::from_millis(1),
            ..Conditions::CLEAN
        },
        7,
    );
    net.connect();
    let now = net.now;
    let params = ChannelParams {
        label: "bulk".into(),
        ordered: true,
        ..Default::default()
    };
    net.a.open_channel(now, 0, params).unwrap();
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.events_a.contains(&SctpEvent::ChannelOpen { id: 0 })
    }));
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
    let data = batch
        .iter()
        .filter(|p| first_chunk(p) == Some(DATA))
        .count();
    assert!(
        data >= 40,
        "one window holds the 64 KiB message: {data} DATA packets"
    );
    for packet in &batch {
        net.b.handle_input(now, packet);
    }
    let replies: Vec<Vec<u8>> = std::iter::from_fn(|| net.b.poll_transmit(now)).collect();
    let sacks = replies
        .iter()
        .filter(|p| first_chunk(p) == Some(SACK))
        .count();
    assert!(
        sacks * 2 >= data - 1,
        "{sacks} SACKs for {data} DATA packets received in one batch"
    );
}

//! Path MTU discovery (vendor/rtc-sctp/src/association/pmtu.rs): the association starts at the
//! 1,191-byte base packet, probes larger sizes with HEARTBEAT + PAD, and builds DATA packets up
//! to the largest size the link carried, at most 2,048 bytes (what Chromium accepts). The link
//! here drops what is longer than its MTU, as a narrower path does.

mod sctp_common;

use sctp_common::{Conditions, Net};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// SCTP chunk types (RFC 9260 §3.2) of the first chunk, after the 12-byte common header.
const DATA: u8 = 0;
const HEARTBEAT: u8 = 4;
const BASE: usize = 1191;

/// Lengths of the packets a sent towards b, by the type of their first chunk.
#[derive(Default)]
struct Sent {
    data: Vec<usize>,
    probes: Vec<usize>,
}

fn link(path_mtu: usize) -> Conditions {
    Conditions {
        latency: Duration::from_millis(5),
        path_mtu,
        ..Conditions::CLEAN
    }
}

/// A pair with a bulk channel on a link of `path_mtu`, recording what a sends.
fn pair(path_mtu: usize, seed: u64) -> (Net, Rc<RefCell<Sent>>) {
    let sent = Rc::new(RefCell::new(Sent::default()));
    let mut net = Net::new(link(path_mtu), seed);
    let record = sent.clone();
    net.drop_rule = Some(Box::new(move |towards_b, packet| {
        if towards_b {
            let mut sent = record.borrow_mut();
            match packet.get(12) {
                Some(&DATA) => sent.data.push(packet.len()),
                Some(&HEARTBEAT) => sent.probes.push(packet.len()),
                _ => {}
            }
        }
        false
    }));
    net.connect();
    let now = net.now;
    let params = polyrtc_engine::sctp::ChannelParams {
        label: "bulk".into(),
        ordered: true,
        ..Default::default()
    };
    net.a.open_channel(now, 0, params).unwrap();
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.events_a
            .contains(&polyrtc_engine::sctp::SctpEvent::ChannelOpen { id: 0 })
    }));
    (net, sent)
}

/// The longest DATA packet a sent so far (0 before any).
fn largest_data(sent: &RefCell<Sent>) -> usize {
    sent.borrow().data.iter().copied().max().unwrap_or(0)
}

/// Sends `count` messages of `size` bytes from a and checks b gets them whole and in order.
fn transfer(net: &mut Net, count: usize, size: usize) {
    let messages: Vec<Vec<u8>> = (0..count)
        .map(|i| (0..size).map(|j| (i * 31 + j) as u8).collect())
        .collect();
    for message in &messages {
        let now = net.now;
        net.a.send(now, 0, message, true).unwrap();
    }
    let mut got = Vec::new();
    let done = net.run_until(Duration::from_secs(30), |n| {
        got.extend(n.take_messages(true).into_iter().map(|(_, data, _)| data));
        got.len() == count
    });
    assert!(done, "{} of {count} messages arrived", got.len());
    assert!(got == messages, "messages arrived changed or out of order");
}

#[test]
fn packets_grow_to_the_largest_probed_size_the_path_carries() {
    let (mut net, sent) = pair(2000, 1);
    // The search: 1400 is acknowledged; 2048 is tried three times, one RTO apart.
    net.run_for(Duration::from_secs(5));
    let probes = sent.borrow().probes.clone();
    assert_eq!(probes, [1400, 2048, 2048, 2048], "probe sizes");

    transfer(&mut net, 8, 64 * 1024);
    let largest = largest_data(&sent);
    assert!(
        (1380..=1400).contains(&largest),
        "largest DATA packet {largest} bytes"
    );
}

#[test]
fn a_path_of_the_base_size_keeps_the_base_size() {
    let (mut net, sent) = pair(BASE, 2);
    transfer(&mut net, 8, 64 * 1024);
    net.run_for(Duration::from_secs(5));
    let sent = sent.borrow();
    assert_eq!(sent.probes, [1400, 1400, 1400], "probe sizes");
    assert!(
        sent.data.iter().all(|&len| len <= BASE),
        "a DATA packet over the base size"
    );
}

#[test]
fn an_open_path_reaches_the_top_of_the_ladder() {
    let (mut net, sent) = pair(usize::MAX, 3);
    net.run_for(Duration::from_secs(1));
    assert_eq!(sent.borrow().probes, [1400, 2048]);
    transfer(&mut net, 8, 64 * 1024);
    let largest = largest_data(&sent);
    assert!(
        (2020..=2048).contains(&largest),
        "largest DATA packet {largest}"
    );
    // ~33 packets per 64 KiB message at 2,048 bytes, against ~57 at the base size.
    let packets = sent.borrow().data.len();
    assert!(packets < 8 * 40, "{packets} DATA packets");
}

#[test]
fn a_path_that_narrows_sends_new_messages_at_the_base_size() {
    let (mut net, sent) = pair(usize::MAX, 4);
    net.run_for(Duration::from_secs(1));
    // The path narrows: a message's 2 KB packets are lost until two T3-rtx expiries in a row
    // put the association back at the base size.
    net.conditions.path_mtu = BASE;
    let now = net.now;
    net.a.send(now, 0, &[7; 16 * 1024], true).unwrap();
    net.run_for(Duration::from_secs(3));
    // Its chunks keep their size (they have TSNs): let them through, so the ordered channel
    // moves on.
    net.conditions.path_mtu = usize::MAX;
    assert!(net.run_until(Duration::from_secs(10), |n| !n
        .take_messages(true)
        .is_empty()));
    // Later messages are cut for the base size, and the narrow path carries them.
    net.conditions.path_mtu = BASE;
    let before = sent.borrow().data.len();
    transfer(&mut net, 4, 64 * 1024);
    let data = sent.borrow().data.clone();
    assert!(
        data[before..].iter().all(|&len| len <= BASE),
        "DATA over the base size after the black hole: {:?}",
        &data[before..]
    );
}

//! Garbage into `handle_input` never panics and does not disturb an established association.

mod sctp_common;

use polyrtc_engine::sctp::{ChannelParams, SctpEvent, SctpState, SctpTransport};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sctp_common::{config, Conditions, Net};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Random bytes, and real packets with random bytes flipped (CRC32c must catch those).
fn mutations(rng: &mut ChaCha8Rng, samples: &[Vec<u8>]) -> Vec<u8> {
    if samples.is_empty() || rng.next_u32().is_multiple_of(2) {
        let mut packet = vec![0; (rng.next_u32() % 1500) as usize];
        rng.fill_bytes(&mut packet);
        return packet;
    }
    let mut packet = samples[rng.next_u32() as usize % samples.len()].clone();
    for _ in 0..=rng.next_u32() % 4 {
        if packet.is_empty() {
            break;
        }
        let at = rng.next_u32() as usize % packet.len();
        packet[at] ^= 1 << (rng.next_u32() % 8);
    }
    if rng.next_u32().is_multiple_of(4) {
        packet.truncate(rng.next_u32() as usize % (packet.len() + 1));
    }
    // Most mutated packets get a valid checksum so the chunk parsers see them.
    if packet.len() >= 12 && !rng.next_u32().is_multiple_of(4) {
        fix_checksum(&mut packet);
    }
    packet
}

/// RFC 9260 Appendix B: CRC32c over the packet with the checksum field zeroed, sent
/// least-significant byte first (as rtc-sctp reads it).
fn fix_checksum(packet: &mut [u8]) {
    packet[8..12].fill(0);
    let mut crc = !0u32;
    for &byte in packet.iter() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    packet[8..12].copy_from_slice(&(!crc).to_le_bytes());
}

#[test]
fn sctp_checksum_helper_matches_rtc_sctp() {
    // A real packet keeps its checksum through fix_checksum.
    let mut net = Net::new(Conditions::CLEAN, 13);
    let packet = net.a.poll_transmit(net.now).unwrap();
    let mut fixed = packet.clone();
    fix_checksum(&mut fixed);
    assert_eq!(fixed, packet);
}

#[test]
fn sctp_garbage_never_panics_fresh_or_established() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    // Real packets to mutate: a handshake and some data.
    let recorded = Rc::new(RefCell::new(Vec::new()));
    let mut net = Net::new(Conditions::CLEAN, 11);
    let mut recorder = Net::new(Conditions::CLEAN, 12);
    let sink = recorded.clone();
    // Every packet of both sides: INIT, INIT ACK, COOKIE ECHO/ACK, DATA, SACK, RECONFIG.
    recorder.drop_rule = Some(Box::new(move |_, packet| {
        sink.borrow_mut().push(packet.to_vec());
        false
    }));
    recorder.connect();
    let now = recorder.now;
    recorder
        .a
        .open_channel(
            now,
            0,
            ChannelParams {
                label: "g".into(),
                ..Default::default()
            },
        )
        .unwrap();
    recorder.run_for(Duration::from_millis(100));
    let now = recorder.now;
    recorder.a.send(now, 0, &[5; 3000], true).unwrap();
    recorder.run_for(Duration::from_millis(500));
    recorder.a.close_channel(recorder.now, 0);
    recorder.run_for(Duration::from_millis(500));
    let samples = recorded.borrow().clone();
    assert!(samples.len() > 8, "{} samples", samples.len());

    // Fresh endpoints of both roles.
    for round in 0..20_000 {
        let packet = mutations(&mut rng, &samples);
        let mut fresh = SctpTransport::new(config(round % 2 == 0), net.now);
        fresh.handle_input(net.now, &packet);
        while fresh.poll_transmit(net.now).is_some() {}
        while fresh.poll_event().is_some() {}
    }

    // An established association keeps working through garbage.
    net.connect();
    let now = net.now;
    net.a
        .open_channel(
            now,
            0,
            ChannelParams {
                label: "ok".into(),
                ..Default::default()
            },
        )
        .unwrap();
    net.run_for(Duration::from_millis(100));
    for _ in 0..20_000 {
        let packet = mutations(&mut rng, &samples);
        let now = net.now;
        net.b.handle_input(now, &packet);
        net.a.handle_input(now, &packet);
    }
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.a.state(), SctpState::Connected);
    assert_eq!(net.b.state(), SctpState::Connected);
    let now = net.now;
    net.a.send(now, 0, b"still here", false).unwrap();
    net.run_for(Duration::from_secs(1));
    assert!(net.events_b.contains(&SctpEvent::Message {
        id: 0,
        data: b"still here".to_vec(),
        binary: false
    }));
}

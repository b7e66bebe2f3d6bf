//! The TURN client against the relay's sans-IO core, in simulated time: Data indications and
//! channels, stream batching, server error codes, allocation loss.

#[path = "turn_sim_harness.rs"]
mod harness;

use harness::*;
use polyrtc_engine::turn::{Framing, TurnClient, TurnError, TurnEvent, TurnState};
use polyrtc_relay::allocation::Quotas;
use polyrtc_relay::turn::{Output, TurnConfig};
use polyrtc_stun::{Class, Message, Method};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::net::{IpAddr, SocketAddr};

#[test]
fn data_indications_until_the_channel_is_bound_then_channel_data() {
    let mut sim = allocated_sim(Framing::Stream);
    sim.client.create_permission(sim.now, peer().ip());
    sim.pump();
    sim.peer_send(peer(), b"before any send");
    let last = sim.received.last().unwrap().clone();
    let ind = Message::parse(&last).unwrap();
    assert_eq!((ind.class, ind.method), (Class::Indication, Method::DATA));
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"before any send".to_vec()
        }]
    );

    sim.client.send_to(sim.now, peer(), b"first").unwrap();
    let first = sim.client.poll_transmit().unwrap();
    let send = Message::parse(&first).unwrap();
    assert_eq!((send.class, send.method), (Class::Indication, Method::SEND));
    sim.sent.push((sim.now, first.clone()));
    let mut out = Vec::new();
    sim.server
        .handle_client(sim.now, sim.cid, &first, &mut sim.sockets, &mut out);
    sim.deliver(out);
    sim.pump();
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    assert_eq!(sim.to_peer, vec![(peer(), b"first".to_vec())]);

    sim.client.send_to(sim.now, peer(), b"second!").unwrap();
    sim.pump();
    let (_, cd) = sim.sent.last().unwrap();
    assert_eq!(cd[..4], [0x40, 0x00, 0, 7]);
    assert_eq!(cd.len(), 12, "padded to four over stream framing");
    assert_eq!(sim.to_peer.last().unwrap(), &(peer(), b"second!".to_vec()));
    sim.peer_send(peer(), b"over the channel");
    assert_eq!(sim.received.last().unwrap()[..2], [0x40, 0x00]);
    assert_eq!(
        sim.take_events(),
        vec![TurnEvent::Data {
            from: peer(),
            data: b"over the channel".to_vec()
        }]
    );
}

#[test]
fn several_messages_in_one_stream_frame_are_all_handled() {
    let mut sim = allocated_sim(Framing::Stream);
    sim.batch = true;
    let peers: Vec<IpAddr> = (1..=3).map(|i| IpAddr::from([192, 0, 2, 20 + i])).collect();
    for p in &peers {
        sim.client.create_permission(sim.now, *p);
    }
    // Three requests queued, three answers in a single frame.
    sim.pump();
    for p in &peers {
        assert!(sim.client.has_permission(*p), "{p}");
    }
    let mut frame = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        let relay = sim.client.relayed_address().unwrap();
        let mut out = Vec::new();
        let data = vec![i as u8; 5 + i];
        sim.server
            .handle_peer(sim.now, relay, SocketAddr::new(*p, 9), &data, &mut out);
        for o in out {
            if let Output::ToClient { data, .. } = o {
                frame.extend_from_slice(&data);
            }
        }
    }
    sim.client.handle_input(sim.now, &frame);
    let mut got = vec![];
    while let Some(TurnEvent::Data { from, data }) = sim.client.poll_event() {
        got.push((from.ip(), data.len()));
    }
    assert_eq!(got, vec![(peers[0], 5), (peers[1], 6), (peers[2], 7)]);
}

/// WebTransport: a client configured for datagrams whose shell sends large messages over a
/// stream. `frame_for_stream` pads its ChannelData; `handle_stream_input` splits what comes back.
#[test]
fn datagram_client_over_a_stream_for_large_messages() {
    let mut sim = allocated_sim(Framing::Datagram);
    sim.client.send_to(sim.now, peer(), b"x").unwrap();
    sim.pump();
    assert_eq!(sim.client.channel(peer()), Some(0x4000));
    sim.client.send_to(sim.now, peer(), &[7; 1401]).unwrap();
    let cd = sim.client.poll_transmit().unwrap();
    assert_eq!(cd.len(), 4 + 1401, "unpadded for a datagram");
    let framed = TurnClient::frame_for_stream(cd);
    assert_eq!(framed.len(), 4 + 1404);
    assert_eq!(
        polyrtc_stun::framing::stream_frame_len(&framed),
        Ok(Some(1408))
    );
    let relay = sim.client.relayed_address().unwrap();
    let mut frame = Vec::new();
    for n in [1401, 2] {
        let mut out = Vec::new();
        sim.server
            .handle_peer(sim.now, relay, peer(), &vec![9; n], &mut out);
        if let [Output::ToClient { data, .. }] = out.as_slice() {
            frame.extend(TurnClient::frame_for_stream(data.clone()));
        }
    }
    sim.client.handle_stream_input(sim.now, &frame);
    let sizes: Vec<usize> = std::iter::from_fn(|| sim.client.poll_event())
        .map(|e| match e {
            TurnEvent::Data { data, .. } => data.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![1401, 2]);
}

#[test]
fn server_error_codes_are_surfaced() {
    // 403: a loopback peer is refused by the relay's default policy.
    let mut sim = allocated_sim(Framing::Datagram);
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    sim.client.create_permission(sim.now, lo);
    sim.pump();
    match sim.take_events().as_slice() {
        [TurnEvent::PermissionFailed {
            peer, code: 403, ..
        }] => assert_eq!(*peer, lo),
        other => panic!("{other:?}"),
    }
    assert!(!sim.client.has_permission(lo));
    // Refused once, not asked again on every send.
    assert_eq!(
        sim.client.send_to(sim.now, SocketAddr::new(lo, 9), b"x"),
        Err(TurnError::PermissionRefused(lo))
    );
    sim.client.create_permission(sim.now, lo);
    sim.pump();
    assert_eq!(sim.requests(Method::CREATE_PERMISSION).len(), 1);

    // 486: the user's allocation quota is one.
    let cfg = TurnConfig {
        quotas: Quotas {
            per_user: 1,
            total: 10,
            permissions_per_allocation: 1,
        },
        ..server_config()
    };
    let mut sim = Sim::new(Framing::Datagram, "pw", cfg);
    sim.pump();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut second = TurnClient::new(client_config(Framing::Datagram, "pw"), &mut rng, sim.now);
    let cid2 = client_id(Framing::Datagram, 40001);
    for _ in 0..4 {
        let mut out = Vec::new();
        while let Some(m) = second.poll_transmit() {
            sim.server
                .handle_client(sim.now, cid2, &m, &mut sim.sockets, &mut out);
        }
        for o in out {
            if let Output::ToClient { data, .. } = o {
                second.handle_input(sim.now, &data);
            }
        }
    }
    assert_eq!(second.state(), TurnState::Failed);
    assert!(matches!(
        second.poll_event(),
        Some(TurnEvent::Error { code: 486, .. })
    ));

    // 508: one permission per allocation, the second does not fit.
    sim.take_events();
    sim.client
        .create_permission(sim.now, "192.0.2.1".parse().unwrap());
    sim.client
        .create_permission(sim.now, "192.0.2.2".parse().unwrap());
    sim.pump();
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::PermissionFailed { code: 508, .. }]
    ));

    // 508 on Allocate: the relay has no port to give.
    let mut sim = Sim::new(Framing::Stream, "pw", server_config());
    sim.sockets.fail = true;
    sim.pump();
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::Error { code: 508, .. }]
    ));
}

#[test]
fn allocation_lost_when_refresh_fails() {
    let mut sim = allocated_sim(Framing::Stream);
    let mut out = Vec::new();
    sim.server.client_closed(sim.cid, &mut out);
    sim.run_until(sim.at(540_000));
    assert_eq!(sim.error_codes().last(), Some(&437));
    assert_eq!(sim.client.state(), TurnState::Failed);
    assert!(matches!(
        sim.take_events().as_slice(),
        [TurnEvent::AllocationLost { .. }]
    ));
    assert_eq!(sim.client.poll_timeout(), None);
}

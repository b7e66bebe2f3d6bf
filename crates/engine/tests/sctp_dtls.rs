//! SCTP over DTLS (RFC 8261): each SCTP packet is one DTLS application-data record, between two
//! `polyrtc_dtls` endpoints in memory with simulated time.

use polyrtc_dtls::certificate::{Certificate, KeyAlgorithm};
use polyrtc_dtls::{Config, Endpoint, Event, Fingerprint, Role};
use polyrtc_engine::sctp::{ChannelParams, SctpConfig, SctpEvent, SctpState, SctpTransport};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::time::{Duration, Instant};

const NOW_MS: u64 = 1_795_564_800_000;
const DAY_MS: u64 = 86_400_000;

struct Side {
    dtls: Endpoint,
    sctp: SctpTransport,
    events: Vec<SctpEvent>,
    records: usize,
    largest_datagram: usize,
}

impl Side {
    /// SCTP packets into DTLS records (once DTLS is up), DTLS datagrams out.
    fn output(&mut self, now: Instant) -> Vec<Vec<u8>> {
        if self.dtls.is_connected() {
            while let Some(packet) = self.sctp.poll_transmit(now) {
                self.dtls.send_application_data(&packet).unwrap();
                self.records += 1;
            }
        }
        while let Some(e) = self.sctp.poll_event() {
            self.events.push(e);
        }
        let datagrams: Vec<Vec<u8>> = std::iter::from_fn(|| self.dtls.poll_datagram()).collect();
        for d in &datagrams {
            self.largest_datagram = self.largest_datagram.max(d.len());
        }
        datagrams
    }

    fn input(&mut self, now: Instant, datagram: &[u8]) {
        self.dtls.handle_datagram(now, datagram);
        while let Some(event) = self.dtls.poll_event() {
            match event {
                Event::ApplicationData(packet) => self.sctp.handle_input(now, &packet),
                Event::Error(e) => panic!("DTLS error: {e:?}"),
                _ => {}
            }
        }
    }

    fn timeout(&self) -> Option<Instant> {
        [self.dtls.poll_timeout(), self.sctp.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.dtls.poll_timeout().is_some_and(|t| t <= now) {
            self.dtls.handle_timeout(now);
        }
        if self.sctp.poll_timeout().is_some_and(|t| t <= now) {
            self.sctp.handle_timeout(now);
        }
    }
}

fn side(role: Role, own: &Certificate, peer: &Certificate, seed: u64, now: Instant) -> Side {
    let mut config = Config::new(own.clone());
    config.expected_remote_fingerprint =
        Some(Fingerprint::new("sha-256", &peer.fingerprint_sha256()));
    let sctp = SctpConfig {
        local_port: 5000,
        remote_port: 5000,
        max_message_size: 256 * 1024,
        client: role == Role::Client,
    };
    Side {
        dtls: Endpoint::new(role, config, ChaCha20Rng::seed_from_u64(seed), now),
        sctp: SctpTransport::new(sctp, now),
        events: Vec::new(),
        records: 0,
        largest_datagram: 0,
    }
}

/// Moves datagrams with 5 ms latency until `done` or 30 simulated seconds.
fn run(
    client: &mut Side,
    server: &mut Side,
    now: &mut Instant,
    mut done: impl FnMut(&Side, &Side) -> bool,
) -> bool {
    let deadline = *now + Duration::from_secs(30);
    while *now < deadline {
        let to_server = client.output(*now);
        let to_client = server.output(*now);
        if done(client, server) {
            return true;
        }
        if to_server.is_empty() && to_client.is_empty() {
            let next = [client.timeout(), server.timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) => *now = (*now).max(t),
                None => return false,
            }
        } else {
            *now += Duration::from_millis(5);
        }
        for d in to_server {
            server.input(*now, &d);
        }
        for d in to_client {
            client.input(*now, &d);
        }
        client.handle_timeout(*now);
        server.handle_timeout(*now);
    }
    false
}

fn messages(side: &Side) -> Vec<(u16, Vec<u8>, bool)> {
    side.events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { id, data, binary } => Some((*id, data.clone(), *binary)),
            _ => None,
        })
        .collect()
}

#[test]
fn sctp_data_channel_over_two_dtls_endpoints() {
    let mut now = Instant::now();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let client_cert =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng, NOW_MS, DAY_MS).unwrap();
    let server_cert =
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng, NOW_MS, DAY_MS).unwrap();
    let mut client = side(Role::Client, &client_cert, &server_cert, 2, now);
    let mut server = side(Role::Server, &server_cert, &client_cert, 3, now);
    let params = ChannelParams {
        label: "over-dtls".into(),
        ordered: true,
        ..ChannelParams::default()
    };
    client.sctp.open_channel(now, 0, params.clone()).unwrap();

    let ok = run(&mut client, &mut server, &mut now, |c, s| {
        c.events.contains(&SctpEvent::ChannelOpen { id: 0 })
            && s.events.contains(&SctpEvent::RemoteChannel {
                id: 0,
                params: params.clone(),
            })
    });
    assert!(ok, "client {:?} server {:?}", client.events, server.events);
    assert_eq!(client.sctp.state(), SctpState::Connected);
    assert_eq!(server.sctp.state(), SctpState::Connected);

    let big: Vec<u8> = (0..256 * 1024).map(|i| (i % 253) as u8).collect();
    client.sctp.send(now, 0, b"hello over DTLS", false).unwrap();
    client.sctp.send(now, 0, &big, true).unwrap();
    server.sctp.send(now, 0, b"", true).unwrap();
    let ok = run(&mut client, &mut server, &mut now, |c, s| {
        messages(s).len() == 2 && messages(c).len() == 1
    });
    assert!(ok);
    assert_eq!(
        messages(&server),
        vec![(0, b"hello over DTLS".to_vec(), false), (0, big, true)]
    );
    assert_eq!(messages(&client), vec![(0, vec![], true)]);
    // A 256 KiB message took many records: SCTP fragments to the path MTU.
    assert!(client.records > 120, "{} records", client.records);
    // SCTP packets start at 1191 bytes (1280 minus IPv6, UDP, TURN and DTLS overhead) and grow
    // to at most 2048 once path MTU probes are answered (vendor/rtc-sctp/POLYRTC.md).
    eprintln!("largest DTLS datagram: {} bytes", client.largest_datagram);
    assert!(
        client.largest_datagram <= 2048 + 37,
        "{}",
        client.largest_datagram
    );

    client.sctp.close_channel(now, 0);
    let ok = run(&mut client, &mut server, &mut now, |c, s| {
        c.events.contains(&SctpEvent::ChannelClosed { id: 0 })
            && s.events.contains(&SctpEvent::ChannelClosed { id: 0 })
    });
    assert!(ok);
}

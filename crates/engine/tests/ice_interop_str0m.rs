//! Interop with a third-party ICE agent over real loopback UDP: str0m's agent (the `is`
//! crate, which str0m 0.25 re-exports as `str0m::ice`), in both roles. After the selected pair
//! is reached, application datagrams go both ways over it, demultiplexed per RFC 7983.

use polyrtc_engine::ice::{
    classify, CandidateKind, IceAgent, IceCredentials, IceEvent, LocalCandidate, PacketKind,
    RemoteCandidate,
};
use polyrtc_engine::IceConnectionState;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const APP_DATAGRAMS: usize = 5;

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

struct Outcome {
    ours_selected: (SocketAddr, SocketAddr),
    theirs_nominated: (SocketAddr, SocketAddr),
    ours_got: Vec<Vec<u8>>,
    theirs_got: Vec<Vec<u8>>,
    theirs_connected: bool,
    ours_controlling: bool,
    theirs_controlling: bool,
    elapsed: Duration,
}

fn run(ours_controlling: bool) -> Outcome {
    let (so, st) = (socket(), socket());
    let (ao, at) = (so.local_addr().unwrap(), st.local_addr().unwrap());
    let start = Instant::now();
    let our_creds = IceCredentials {
        ufrag: "ours".into(),
        pwd: "our-password-0123456789ab".into(),
    };
    let their_creds = is::IceCreds {
        ufrag: "thrs".into(),
        pass: "their-password-0123456789".into(),
    };

    let mut ours = IceAgent::new(
        our_creds.clone(),
        ours_controlling,
        0x1234_5678_9abc_def0,
        start,
    );
    ours.add_local_candidate(LocalCandidate::host(ao, 65535));
    ours.set_remote_credentials(IceCredentials {
        ufrag: their_creds.ufrag.clone(),
        pwd: their_creds.pass.clone(),
    });

    let mut theirs = is::IceAgent::new(their_creds);
    theirs.set_controlling(!ours_controlling);
    let their_host = is::Candidate::host(at, "udp").unwrap();
    let their_prio = theirs.add_local_candidate(their_host).unwrap().prio();
    theirs.set_remote_credentials(is::IceCreds {
        ufrag: our_creds.ufrag.clone(),
        pass: our_creds.pwd.clone(),
    });
    let mut our_cand = is::Candidate::host(ao, "udp").unwrap();
    our_cand.set_ufrag(&our_creds.ufrag);
    theirs.add_remote_candidate(our_cand);
    ours.add_remote_candidate(RemoteCandidate::new(
        at,
        CandidateKind::Host,
        their_prio,
        "1",
    ))
    .unwrap();

    let mut ours_selected = None;
    let mut theirs_nominated = None;
    let mut theirs_connected = false;
    let (mut ours_got, mut theirs_got) = (vec![], vec![]);
    let mut sent_app = false;
    let mut buf = [0u8; 2048];
    while start.elapsed() < Duration::from_secs(15) {
        let now = Instant::now();
        if ours.poll_timeout().is_some_and(|t| t <= now) {
            ours.handle_timeout(now);
        }
        // str0m's agent wants a first handle_timeout before its poll_timeout says anything.
        if theirs.poll_timeout().is_none_or(|t| t <= now) {
            theirs.handle_timeout(now);
        }
        while let Some(t) = ours.poll_transmit() {
            assert_eq!(t.from, ao);
            debug("ours->", &t.data);
            so.send_to(&t.data, t.to).unwrap();
        }
        while let Some(t) = theirs.poll_transmit() {
            debug("theirs->", &t.contents);
            st.send_to(&t.contents, t.destination).unwrap();
        }
        while let Some(e) = ours.poll_event() {
            if let IceEvent::SelectedPair { local, remote } = e {
                ours_selected = Some((local, remote));
            }
        }
        while let Some(e) = theirs.poll_event() {
            match e {
                is::IceAgentEvent::NominatedSend {
                    source,
                    destination,
                    ..
                } => theirs_nominated = Some((source, destination)),
                is::IceAgentEvent::IceConnectionStateChange(s) => {
                    theirs_connected = s.is_connected()
                }
                _ => {}
            }
        }
        while let Ok((n, from)) = so.recv_from(&mut buf) {
            let data = &buf[..n];
            if classify(data[0]) == PacketKind::Stun {
                assert!(
                    ours.handle_packet(Instant::now(), ao, from, data),
                    "our ICE consumes its STUN"
                );
            } else {
                ours_got.push(data.to_vec());
            }
        }
        while let Ok((n, from)) = st.recv_from(&mut buf) {
            let data = &buf[..n];
            match is::stun::StunMessage::parse(data) {
                Ok(message) => {
                    let packet = is::stun::StunPacket {
                        proto: is::Protocol::Udp,
                        source: from,
                        destination: at,
                        message,
                    };
                    theirs.handle_packet(Instant::now(), packet);
                }
                Err(_) => theirs_got.push(data.to_vec()),
            }
        }
        if let (Some(o), Some(t), false) = (ours_selected, theirs_nominated, sent_app) {
            if ours.state() == IceConnectionState::Connected {
                for i in 0..APP_DATAGRAMS {
                    // An RTP-looking first byte (RFC 7983: 128..=191) and a DTLS-looking one.
                    let data = [0x80, i as u8, b'o', b'u', b'r', b's'];
                    so.send_to(&data, o.1).unwrap();
                    ours.note_data_sent(o.0, o.1, data.len(), now);
                    st.send_to(&[23, 254, 253, i as u8], t.1).unwrap();
                }
                sent_app = true;
            }
        }
        if ours_got.len() == APP_DATAGRAMS && theirs_got.len() == APP_DATAGRAMS {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Outcome {
        ours_selected: ours_selected.expect("our agent selected a pair"),
        theirs_nominated: theirs_nominated.expect("str0m nominated a pair"),
        ours_got,
        theirs_got,
        theirs_connected,
        ours_controlling: ours.controlling(),
        theirs_controlling: theirs.controlling(),
        elapsed: start.elapsed(),
    }
    .check(ao, at)
}

impl Outcome {
    fn check(self, ao: SocketAddr, at: SocketAddr) -> Self {
        assert_eq!(self.ours_selected, (ao, at));
        assert_eq!(self.theirs_nominated, (at, ao));
        assert!(self.theirs_connected);
        assert_ne!(self.ours_controlling, self.theirs_controlling);
        assert_eq!(self.ours_got.len(), APP_DATAGRAMS);
        assert_eq!(self.theirs_got.len(), APP_DATAGRAMS);
        assert!(self
            .ours_got
            .iter()
            .all(|d| classify(d[0]) == PacketKind::Dtls));
        assert!(self
            .theirs_got
            .iter()
            .all(|d| classify(d[0]) == PacketKind::Rtp));
        eprintln!("connected and exchanged data in {:?}", self.elapsed);
        self
    }
}

#[test]
fn ours_controlling_str0m_controlled() {
    let o = run(true);
    assert!(o.ours_controlling);
}

#[test]
fn str0m_controlling_ours_controlled() {
    let o = run(false);
    assert!(!o.ours_controlling);
}

fn debug(who: &str, data: &[u8]) {
    if std::env::var_os("ICE_DEBUG").is_none() {
        return;
    }
    match polyrtc_stun::Message::parse(data) {
        Ok(m) => eprintln!(
            "{who} {:?} err={:?} uc={} attrs={:x?}",
            m.class,
            m.error_code(),
            m.has(polyrtc_stun::USE_CANDIDATE),
            m.attributes.iter().map(|a| a.typ).collect::<Vec<_>>()
        ),
        Err(e) => eprintln!("{who} unparsable {e:?}"),
    }
}

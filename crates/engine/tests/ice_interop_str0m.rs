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

/// Our agent on one loopback socket, str0m's on another.
struct Rig {
    so: UdpSocket,
    st: UdpSocket,
    ao: SocketAddr,
    at: SocketAddr,
    ours: IceAgent,
    theirs: is::IceAgent,
    ours_selected: Option<(SocketAddr, SocketAddr)>,
    theirs_nominated: Option<(SocketAddr, SocketAddr)>,
    theirs_connected: bool,
    ours_got: Vec<Vec<u8>>,
    theirs_got: Vec<Vec<u8>>,
}

impl Rig {
    fn new(ours_controlling: bool, start: Instant) -> Rig {
        let (so, st) = (socket(), socket());
        let (ao, at) = (so.local_addr().unwrap(), st.local_addr().unwrap());
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
        let theirs_remote = RemoteCandidate::new(at, CandidateKind::Host, their_prio, "1");
        ours.add_remote_candidate(theirs_remote).unwrap();
        Rig {
            so,
            st,
            ao,
            at,
            ours,
            theirs,
            ours_selected: None,
            theirs_nominated: None,
            theirs_connected: false,
            ours_got: vec![],
            theirs_got: vec![],
        }
    }

    /// Timers, transmits and events of both agents.
    fn drive(&mut self, now: Instant) {
        if self.ours.poll_timeout().is_some_and(|t| t <= now) {
            self.ours.handle_timeout(now);
        }
        // str0m's agent wants a first handle_timeout before its poll_timeout says anything.
        if self.theirs.poll_timeout().is_none_or(|t| t <= now) {
            self.theirs.handle_timeout(now);
        }
        while let Some(t) = self.ours.poll_transmit() {
            assert_eq!(t.from, self.ao);
            debug("ours->", &t.data);
            self.so.send_to(&t.data, t.to).unwrap();
        }
        while let Some(t) = self.theirs.poll_transmit() {
            debug("theirs->", &t.contents);
            self.st.send_to(&t.contents, t.destination).unwrap();
        }
        while let Some(e) = self.ours.poll_event() {
            if let IceEvent::SelectedPair { local, remote } = e {
                self.ours_selected = Some((local, remote));
            }
        }
        while let Some(e) = self.theirs.poll_event() {
            match e {
                is::IceAgentEvent::NominatedSend {
                    source,
                    destination,
                    ..
                } => self.theirs_nominated = Some((source, destination)),
                is::IceAgentEvent::IceConnectionStateChange(s) => {
                    self.theirs_connected = s.is_connected()
                }
                _ => {}
            }
        }
    }

    /// Read both sockets; STUN goes to the agents, the rest is application data.
    fn receive(&mut self) {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = self.so.recv_from(&mut buf) {
            let data = &buf[..n];
            if classify(data[0]) == PacketKind::Stun {
                let consumed = self.ours.handle_packet(Instant::now(), self.ao, from, data);
                assert!(consumed, "our ICE consumes its STUN");
            } else {
                self.ours_got.push(data.to_vec());
            }
        }
        while let Ok((n, from)) = self.st.recv_from(&mut buf) {
            let data = &buf[..n];
            match is::stun::StunMessage::parse(data) {
                Ok(message) => {
                    let packet = is::stun::StunPacket {
                        proto: is::Protocol::Udp,
                        source: from,
                        destination: self.at,
                        message,
                    };
                    self.theirs.handle_packet(Instant::now(), packet);
                }
                Err(_) => self.theirs_got.push(data.to_vec()),
            }
        }
    }

    /// Application datagrams both ways over the selected pair: RTP-looking from us
    /// (RFC 7983: 128..=191), DTLS-looking from them (20..=63).
    fn send_app(&mut self, now: Instant) -> bool {
        let (Some(o), Some(t)) = (self.ours_selected, self.theirs_nominated) else {
            return false;
        };
        if self.ours.state() != IceConnectionState::Connected {
            return false;
        }
        for i in 0..APP_DATAGRAMS {
            let data = [0x80, i as u8, b'o', b'u', b'r', b's'];
            self.so.send_to(&data, o.1).unwrap();
            self.ours.note_data_sent(o.0, o.1, data.len(), now);
            self.st.send_to(&[23, 254, 253, i as u8], t.1).unwrap();
        }
        true
    }
}

fn run(ours_controlling: bool) -> Outcome {
    let start = Instant::now();
    let mut rig = Rig::new(ours_controlling, start);
    let mut sent_app = false;
    while start.elapsed() < Duration::from_secs(15) {
        rig.drive(Instant::now());
        rig.receive();
        if !sent_app {
            sent_app = rig.send_app(Instant::now());
        }
        if rig.ours_got.len() == APP_DATAGRAMS && rig.theirs_got.len() == APP_DATAGRAMS {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (ao, at) = (rig.ao, rig.at);
    let sent = rig.ours.pairs().next().map_or(0, |p| p.packets_sent);
    assert_eq!(sent, APP_DATAGRAMS as u64, "data accounting on the pair");
    Outcome {
        ours_selected: rig.ours_selected.expect("our agent selected a pair"),
        theirs_nominated: rig.theirs_nominated.expect("str0m nominated a pair"),
        ours_got: rig.ours_got,
        theirs_got: rig.theirs_got,
        theirs_connected: rig.theirs_connected,
        ours_controlling: rig.ours.controlling(),
        theirs_controlling: rig.theirs.controlling(),
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

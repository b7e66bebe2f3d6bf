//! getStats entries of the ICE transport (webrtc-stats §7.13-7.15): `candidate-pair` per pair,
//! `local-candidate` / `remote-candidate` per candidate, and the ICE fields of `transport`.
//!
//! Ids are derived from addresses, so they stay the same from one call to the next (webrtc-stats
//! §4: "the id of a stats object is stable for the lifetime of the object it describes").

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use crate::api::serde_json_compat::Value;
use crate::ice::{CandidateKind, CandidatePair, RelayProtocol};
use crate::peer_connection::PeerConnection;

/// The one (bundled) transport's id, as Chromium names it.
pub const TRANSPORT_ID: &str = "T01";

type Map = BTreeMap<String, Value>;

fn num(m: &mut Map, k: &str, v: f64) {
    m.insert(k.into(), Value::Number(v));
}

fn text(m: &mut Map, k: &str, v: &str) {
    m.insert(k.into(), Value::String(v.into()));
}

/// Stable short id of a candidate: FNV-1a over side and address (8 hex digits).
fn candidate_id(local: bool, addr: SocketAddr) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in [if local { b'L' } else { b'R' }]
        .iter()
        .chain(addr.to_string().as_bytes())
    {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("I{h:08x}")
}

/// Chromium's candidate-pair id: "CP" + local id + "_" + remote id (without their "I").
fn pair_id(local: SocketAddr, remote: SocketAddr) -> String {
    let l = candidate_id(true, local);
    let r = candidate_id(false, remote);
    format!(
        "CP{}_{}",
        l.trim_start_matches('I'),
        r.trim_start_matches('I')
    )
}

impl PeerConnection {
    /// webrtc-stats timestamps are on the same clock as `timestamp` (the page's, in ms);
    /// instants are mapped through the latest time the engine was driven with.
    fn stats_time(&self, timestamp: f64, at: Instant) -> f64 {
        let now = self.network.now.unwrap_or(self.created_at);
        let back = now.saturating_duration_since(at).as_secs_f64() * 1000.0;
        timestamp - back
    }

    /// The ICE fields of the `transport` entry (webrtc-stats §7.15 RTCTransportStats).
    pub(crate) fn transport_ice_stats(&self, t: &mut Map) {
        num(
            t,
            "selectedCandidatePairChanges",
            f64::from(self.network.selected_changes),
        );
        let Some(agent) = &self.network.agent else {
            return;
        };
        let (mut bs, mut br, mut ps, mut pr) = (0u64, 0u64, 0u64, 0u64);
        for p in agent.pairs() {
            bs += p.bytes_sent;
            br += p.bytes_received;
            ps += p.packets_sent;
            pr += p.packets_received;
        }
        num(t, "bytesSent", bs as f64);
        num(t, "bytesReceived", br as f64);
        num(t, "packetsSent", ps as f64);
        num(t, "packetsReceived", pr as f64);
        let role = if agent.controlling() {
            "controlling"
        } else {
            "controlled"
        };
        text(t, "iceRole", role);
        if let Some((l, r)) = agent.selected_pair() {
            text(t, "selectedCandidatePairId", &pair_id(l, r));
        }
    }

    /// `candidate-pair`, `local-candidate` and `remote-candidate` entries.
    pub(crate) fn ice_stats(&self, timestamp: f64, out: &mut Vec<Value>) {
        let Some(agent) = &self.network.agent else {
            return;
        };
        for p in agent.pairs() {
            out.push(Value::Object(self.pair_stats(p, timestamp)));
        }
        let local_ufrag = agent.local_credentials().ufrag.clone();
        for c in agent.local_candidates() {
            let mut m = candidate_base(true, c.addr, timestamp);
            text(&mut m, "candidateType", c.kind.as_str());
            num(&mut m, "priority", f64::from(c.priority));
            text(&mut m, "foundation", &c.foundation);
            text(&mut m, "usernameFragment", &local_ufrag);
            if c.kind == CandidateKind::Relayed {
                let relay = self
                    .network
                    .relays
                    .iter()
                    .find(|r| r.relayed == Some(c.addr));
                if let Some(r) = relay {
                    text(&mut m, "url", &r.url);
                }
                // The protocol between us and the relay (webrtc-stats relayProtocol):
                // WebSocket runs over TCP, WebTransport datagrams over UDP (QUIC).
                let rp = match c.relay_protocol {
                    Some(RelayProtocol::Udp) => "udp",
                    Some(RelayProtocol::Tls) => "tls",
                    Some(RelayProtocol::Tcp) | None => "tcp",
                };
                text(&mut m, "relayProtocol", rp);
            }
            out.push(Value::Object(m));
        }
        let remote_ufrag = self.network.remote_ufrag.clone();
        for c in agent.remote_candidates() {
            let mut m = candidate_base(false, c.addr, timestamp);
            text(&mut m, "candidateType", c.kind.as_str());
            num(&mut m, "priority", f64::from(c.priority));
            text(&mut m, "foundation", &c.foundation);
            if let Some(u) = &remote_ufrag {
                text(&mut m, "usernameFragment", u);
            }
            // Chromium reports the signalled raddr/rport of a remote candidate (not of its own).
            if let Some((address, port)) = &c.related {
                text(&mut m, "relatedAddress", address);
                num(&mut m, "relatedPort", f64::from(*port));
            }
            out.push(Value::Object(m));
        }
    }

    /// webrtc-stats §7.14 RTCIceCandidatePairStats.
    fn pair_stats(&self, p: &CandidatePair, timestamp: f64) -> Map {
        let mut m = Map::new();
        text(&mut m, "id", &pair_id(p.local_base, p.remote));
        text(&mut m, "type", "candidate-pair");
        num(&mut m, "timestamp", timestamp);
        text(&mut m, "transportId", TRANSPORT_ID);
        text(&mut m, "localCandidateId", &candidate_id(true, p.local));
        text(&mut m, "remoteCandidateId", &candidate_id(false, p.remote));
        text(&mut m, "state", p.state.as_str());
        m.insert("nominated".into(), Value::Bool(p.nominated));
        // Chromium's `writable`: checks in this direction succeed (RFC 8445 valid pair).
        m.insert(
            "writable".into(),
            Value::Bool(p.state == crate::ice::PairState::Succeeded),
        );
        num(&mut m, "priority", p.priority as f64);
        for (k, v) in [
            ("requestsSent", p.requests_sent),
            ("requestsReceived", p.requests_received),
            ("responsesSent", p.responses_sent),
            ("responsesReceived", p.responses_received),
            ("consentRequestsSent", p.consent_requests_sent),
            ("bytesSent", p.bytes_sent),
            ("bytesReceived", p.bytes_received),
            ("packetsSent", p.packets_sent),
            ("packetsReceived", p.packets_received),
            ("bytesDiscardedOnSend", p.bytes_discarded_on_send),
            ("packetsDiscardedOnSend", p.packets_discarded_on_send),
        ] {
            num(&mut m, k, v as f64);
        }
        // Seconds, as webrtc-stats defines them.
        if let Some(rtt) = p.current_rtt {
            num(&mut m, "currentRoundTripTime", rtt.as_secs_f64());
        }
        num(&mut m, "totalRoundTripTime", p.total_rtt.as_secs_f64());
        if let Some(t) = p.last_packet_sent {
            num(
                &mut m,
                "lastPacketSentTimestamp",
                self.stats_time(timestamp, t),
            );
        }
        if let Some(t) = p.last_packet_received {
            let v = self.stats_time(timestamp, t);
            num(&mut m, "lastPacketReceivedTimestamp", v);
        }
        m
    }
}

/// Fields every candidate entry has (webrtc-stats §7.13 RTCIceCandidateStats).
fn candidate_base(local: bool, addr: SocketAddr, timestamp: f64) -> Map {
    let mut m = Map::new();
    text(&mut m, "id", &candidate_id(local, addr));
    let kind = if local {
        "local-candidate"
    } else {
        "remote-candidate"
    };
    text(&mut m, "type", kind);
    num(&mut m, "timestamp", timestamp);
    text(&mut m, "transportId", TRANSPORT_ID);
    text(&mut m, "address", &addr.ip().to_string());
    // `ip` is the old name of `address`; Chromium 156 still reports both, and `isRemote`.
    text(&mut m, "ip", &addr.ip().to_string());
    m.insert("isRemote".into(), Value::Bool(!local));
    num(&mut m, "port", f64::from(addr.port()));
    text(&mut m, "protocol", "udp");
    if local {
        // The page cannot know which network interface the browser uses to reach the relay.
        text(&mut m, "networkType", "unknown");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a: SocketAddr = "203.0.113.1:50001".parse().unwrap();
        let b: SocketAddr = "203.0.113.1:50002".parse().unwrap();
        assert_eq!(candidate_id(true, a), candidate_id(true, a));
        assert_ne!(candidate_id(true, a), candidate_id(false, a));
        assert_ne!(candidate_id(true, a), candidate_id(true, b));
        let p = pair_id(a, b);
        assert!(p.starts_with("CP"));
        assert_eq!(
            p,
            format!(
                "CP{}_{}",
                &candidate_id(true, a)[1..],
                &candidate_id(false, b)[1..]
            )
        );
    }
}

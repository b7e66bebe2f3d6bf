//! Counters exported in the Prometheus text format on `/metrics`.

use crate::allocation::ClientTransport;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const T: usize = ClientTransport::ALL.len();

#[derive(Debug, Default)]
pub struct PerTransport(pub [AtomicU64; T]);

impl PerTransport {
    pub fn add(&self, t: ClientTransport, n: u64) {
        self.0[t.index()].fetch_add(n, Relaxed);
    }
    pub fn sub(&self, t: ClientTransport, n: u64) {
        self.0[t.index()].fetch_sub(n, Relaxed);
    }
    pub fn get(&self, t: ClientTransport) -> u64 {
        self.0[t.index()].load(Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub allocations_active: AtomicU64,
    pub allocations_created: PerTransport,
    pub allocations_rejected_quota: AtomicU64,
    pub auth_challenges: AtomicU64,
    pub auth_failures: AtomicU64,
    pub rate_limited: AtomicU64,
    pub malformed: AtomicU64,
    pub forbidden_peer: AtomicU64,
    pub no_permission_dropped: AtomicU64,
    pub requests: PerTransport,
    pub client_rx_packets: PerTransport,
    pub client_rx_bytes: PerTransport,
    pub client_tx_packets: PerTransport,
    pub client_tx_bytes: PerTransport,
    pub client_tx_dropped: PerTransport,
    pub connections_active: PerTransport,
    pub peer_tx_packets: AtomicU64,
    pub peer_tx_bytes: AtomicU64,
    pub peer_rx_packets: AtomicU64,
    pub peer_rx_bytes: AtomicU64,
    pub intra_relay_packets: AtomicU64,
    pub bandwidth_dropped: AtomicU64,
    pub user_bandwidth_dropped: AtomicU64,
    pub mobility_moves: AtomicU64,
    /// `--test-impair` (test only): relayed datagrams dropped, duplicated, held back.
    pub test_impaired_dropped: AtomicU64,
    pub test_impaired_duplicated: AtomicU64,
    pub test_impaired_reordered: AtomicU64,
}

fn scalar(out: &mut String, name: &str, kind: &str, help: &str, v: &AtomicU64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
        v.load(Relaxed)
    );
}

fn per_transport(out: &mut String, name: &str, kind: &str, help: &str, v: &PerTransport) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for t in ClientTransport::ALL {
        let _ = writeln!(out, "{name}{{transport=\"{}\"}} {}", t.name(), v.get(t));
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(4096);
        let c = "counter";
        scalar(
            &mut o,
            "turn_allocations_active",
            "gauge",
            "Live allocations.",
            &self.allocations_active,
        );
        per_transport(
            &mut o,
            "turn_allocations_created_total",
            c,
            "Allocations created.",
            &self.allocations_created,
        );
        scalar(
            &mut o,
            "turn_allocations_rejected_quota_total",
            c,
            "Allocate answered 486.",
            &self.allocations_rejected_quota,
        );
        scalar(
            &mut o,
            "turn_auth_challenges_total",
            c,
            "401 challenges without credentials.",
            &self.auth_challenges,
        );
        scalar(
            &mut o,
            "turn_auth_failures_total",
            c,
            "Requests with wrong, stale or incomplete credentials.",
            &self.auth_failures,
        );
        scalar(
            &mut o,
            "turn_rate_limited_total",
            c,
            "Unauthenticated requests dropped by the rate limit.",
            &self.rate_limited,
        );
        scalar(
            &mut o,
            "turn_malformed_total",
            c,
            "Undecodable messages dropped.",
            &self.malformed,
        );
        scalar(
            &mut o,
            "turn_forbidden_peer_total",
            c,
            "Peers refused by policy (403 or dropped).",
            &self.forbidden_peer,
        );
        scalar(
            &mut o,
            "turn_no_permission_dropped_total",
            c,
            "Packets dropped for lack of a permission or channel.",
            &self.no_permission_dropped,
        );
        per_transport(
            &mut o,
            "turn_requests_total",
            c,
            "STUN/TURN requests received.",
            &self.requests,
        );
        per_transport(
            &mut o,
            "turn_client_rx_packets_total",
            c,
            "Messages received from clients.",
            &self.client_rx_packets,
        );
        per_transport(
            &mut o,
            "turn_client_rx_bytes_total",
            c,
            "Bytes received from clients.",
            &self.client_rx_bytes,
        );
        per_transport(
            &mut o,
            "turn_client_tx_packets_total",
            c,
            "Messages sent to clients.",
            &self.client_tx_packets,
        );
        per_transport(
            &mut o,
            "turn_client_tx_bytes_total",
            c,
            "Bytes sent to clients.",
            &self.client_tx_bytes,
        );
        per_transport(
            &mut o,
            "turn_client_tx_dropped_total",
            c,
            "Messages to clients dropped (queue full).",
            &self.client_tx_dropped,
        );
        per_transport(
            &mut o,
            "turn_connections_active",
            "gauge",
            "Open client connections.",
            &self.connections_active,
        );
        scalar(
            &mut o,
            "turn_peer_tx_packets_total",
            c,
            "Datagrams relayed to peers.",
            &self.peer_tx_packets,
        );
        scalar(
            &mut o,
            "turn_peer_tx_bytes_total",
            c,
            "Payload bytes relayed to peers.",
            &self.peer_tx_bytes,
        );
        scalar(
            &mut o,
            "turn_peer_rx_packets_total",
            c,
            "Datagrams received from peers.",
            &self.peer_rx_packets,
        );
        scalar(
            &mut o,
            "turn_peer_rx_bytes_total",
            c,
            "Payload bytes received from peers.",
            &self.peer_rx_bytes,
        );
        scalar(
            &mut o,
            "turn_intra_relay_packets_total",
            c,
            "Datagrams delivered between two allocations of this relay without the kernel.",
            &self.intra_relay_packets,
        );
        scalar(
            &mut o,
            "turn_bandwidth_dropped_total",
            c,
            "Datagrams dropped by the per-allocation bandwidth limit.",
            &self.bandwidth_dropped,
        );
        scalar(
            &mut o,
            "turn_user_bandwidth_dropped_total",
            c,
            "Datagrams dropped by the per-user bandwidth limit.",
            &self.user_bandwidth_dropped,
        );
        scalar(
            &mut o,
            "turn_mobility_moves_total",
            c,
            "Allocations moved to a new 5-tuple with a MOBILITY-TICKET.",
            &self.mobility_moves,
        );
        for (name, help, v) in [
            (
                "turn_test_impaired_dropped_total",
                "Relayed datagrams dropped by --test-impair (test only).",
                &self.test_impaired_dropped,
            ),
            (
                "turn_test_impaired_duplicated_total",
                "Relayed datagrams duplicated by --test-impair (test only).",
                &self.test_impaired_duplicated,
            ),
            (
                "turn_test_impaired_reordered_total",
                "Relayed datagrams held back behind later ones by --test-impair (test only).",
                &self.test_impaired_reordered,
            ),
        ] {
            scalar(&mut o, name, c, help, v);
        }
        o
    }
}

//! getStats (webrtc-stats): what exists without a network: `peer-connection`, `data-channel`,
//! and, once a description created the transport, `transport` and `certificate`.

use std::collections::BTreeMap;

use crate::api::serde_json_compat::Value;
use crate::api::{DataChannelState, DtlsTransportState, IceConnectionState};
use crate::peer_connection::PeerConnection;

impl PeerConnection {
    pub(crate) fn stats(&self, timestamp: f64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut pc = base("P", "peer-connection", timestamp);
        pc.insert(
            "dataChannelsOpened".into(),
            Value::Number(f64::from(self.channels_opened)),
        );
        pc.insert(
            "dataChannelsClosed".into(),
            Value::Number(f64::from(self.channels_closed)),
        );
        out.push(Value::Object(pc));
        for c in &self.channels {
            // Chromium's id: "D" + an internal channel number.
            let mut d = base(&format!("D{}", c.handle), "data-channel", timestamp);
            d.insert("label".into(), Value::String(c.label.clone()));
            d.insert("protocol".into(), Value::String(c.init.protocol.clone()));
            if let Some(id) = c.visible_id() {
                d.insert("dataChannelIdentifier".into(), Value::Number(f64::from(id)));
            }
            d.insert(
                "state".into(),
                Value::String(state_str(c.ready_state).into()),
            );
            let n = &c.counters;
            for (k, v) in [
                ("messagesSent", n.messages_sent),
                ("bytesSent", n.bytes_sent),
                ("messagesReceived", n.messages_received),
                ("bytesReceived", n.bytes_received),
            ] {
                d.insert(k.into(), Value::Number(v as f64));
            }
            out.push(Value::Object(d));
        }
        // Chromium reports the transport (and the certificates it uses) once a description
        // created it; a fresh connection has only "peer-connection".
        if self.descs.local().is_none() && self.descs.remote().is_none() {
            return out;
        }
        let cert_id = self
            .config
            .certificates
            .first()
            .and_then(|c| c.fingerprints.first())
            .map(|fp| format!("CF{}", fp.value));
        let mut t = base(crate::network::TRANSPORT_ID, "transport", timestamp);
        for k in [
            "bytesSent",
            "bytesReceived",
            "packetsSent",
            "packetsReceived",
            "selectedCandidatePairChanges",
        ] {
            t.insert(k.into(), Value::Number(0.0));
        }
        // Live ICE counters, role and selected pair (network/stats.rs).
        self.transport_ice_stats(&mut t);
        t.insert(
            "dtlsState".into(),
            Value::String(dtls_str(self.snapshot_dtls()).into()),
        );
        // dtlsRole, tlsVersion, dtlsCipher, srtpCipher, remoteCertificateId (transport/stats.rs).
        self.transport_dtls_stats(&mut t);
        t.insert(
            "iceState".into(),
            Value::String(ice_str(self.ice_connection).into()),
        );
        if let Some(ice) = &self.applied_ice {
            t.insert(
                "iceLocalUsernameFragment".into(),
                Value::String(ice.ufrag.clone()),
            );
        }
        if let Some(id) = cert_id {
            t.insert("localCertificateId".into(), Value::String(id));
        }
        out.push(Value::Object(t));
        self.ice_stats(timestamp, &mut out);
        for cert in &self.config.certificates {
            for fp in &cert.fingerprints {
                // Chromium's id: "CF" + fingerprint.
                let mut c = base(&format!("CF{}", fp.value), "certificate", timestamp);
                c.insert("fingerprint".into(), Value::String(fp.value.clone()));
                c.insert(
                    "fingerprintAlgorithm".into(),
                    Value::String(fp.algorithm.clone()),
                );
                c.insert(
                    "base64Certificate".into(),
                    Value::String(base64(&cert.certificate_der)),
                );
                out.push(Value::Object(c));
            }
        }
        out.extend(self.remote_certificate_stats(timestamp));
        out
    }
}

fn state_str(s: DataChannelState) -> &'static str {
    match s {
        DataChannelState::Connecting => "connecting",
        DataChannelState::Open => "open",
        DataChannelState::Closing => "closing",
        DataChannelState::Closed => "closed",
    }
}

fn dtls_str(s: DtlsTransportState) -> &'static str {
    match s {
        DtlsTransportState::New => "new",
        DtlsTransportState::Connecting => "connecting",
        DtlsTransportState::Connected => "connected",
        DtlsTransportState::Closed => "closed",
        DtlsTransportState::Failed => "failed",
    }
}

fn ice_str(s: IceConnectionState) -> &'static str {
    match s {
        IceConnectionState::New => "new",
        IceConnectionState::Checking => "checking",
        IceConnectionState::Connected => "connected",
        IceConnectionState::Completed => "completed",
        IceConnectionState::Disconnected => "disconnected",
        IceConnectionState::Failed => "failed",
        IceConnectionState::Closed => "closed",
    }
}

fn base(id: &str, kind: &str, timestamp: f64) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("id".into(), Value::String(id.into()));
    m.insert("type".into(), Value::String(kind.into()));
    m.insert("timestamp".into(), Value::Number(timestamp));
    m
}

/// RFC 4648 base64 with padding (webrtc-stats base64Certificate).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(T[(i & 63) as usize]);
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b =
            [chunk.first(), chunk.get(1), chunk.get(2)].map(|x| u32::from(x.copied().unwrap_or(0)));
        let n = (b[0] << 16) | (b[1] << 8) | b[2];
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_rfc4648_vectors() {
        let v = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in v {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}

//! getStats (webrtc-stats): what exists without a network, the `peer-connection` and
//! `certificate` dictionaries.

use std::collections::BTreeMap;

use crate::api::serde_json_compat::Value;
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
        out
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

//! Which peers an allocation may reach (RFC 8656 §17: a relay must not become
//! a way into the operator's own network).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    pub allow_loopback: bool,
    pub allow_private: bool,
    /// The relay's own addresses (listeners, relay and external IPs).
    pub own_addresses: Vec<IpAddr>,
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || o[0] == 0                                 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64)      // 100.64/10 shared address space
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)   // 192.0.0.0/24 IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18)      // 198.18/15 benchmarking
        || o[0] >= 240 // reserved and broadcast
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    (s[0] & 0xfe00) == 0xfc00       // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site local (deprecated)
}

/// Classes of destination a relay refuses by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerClass {
    Public,
    Loopback,
    Private,
    /// Multicast, unspecified, broadcast: never relayed.
    Never,
}

pub fn classify(ip: IpAddr) -> PeerClass {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                PeerClass::Loopback
            } else if v4.is_multicast() || v4.is_unspecified() || v4.is_broadcast() {
                PeerClass::Never
            } else if is_private_v4(v4) {
                PeerClass::Private
            } else {
                PeerClass::Public
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                PeerClass::Loopback
            } else if v6.is_multicast() || v6.is_unspecified() {
                PeerClass::Never
            } else if is_private_v6(v6) {
                PeerClass::Private
            } else {
                PeerClass::Public
            }
        }
    }
}

impl PeerPolicy {
    /// Whether `ip` may be a peer. Relayed addresses of this very relay are
    /// allowed separately by the caller (two clients of one relay must reach
    /// each other).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match classify(ip) {
            PeerClass::Never => false,
            PeerClass::Loopback => self.allow_loopback,
            PeerClass::Private => self.allow_private,
            PeerClass::Public => !self.own_addresses.iter().any(|o| o.to_canonical() == ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_refuse_internal_addresses() {
        let p = PeerPolicy {
            own_addresses: vec!["203.0.113.5".parse().unwrap()],
            ..Default::default()
        };
        for bad in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "203.0.113.5",
        ] {
            assert!(!p.allows(bad.parse().unwrap()), "{bad}");
        }
        for good in ["198.51.100.7", "2001:db8::1", "8.8.8.8"] {
            assert!(p.allows(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn flags_open_loopback_and_private_but_never_multicast() {
        let p = PeerPolicy {
            allow_loopback: true,
            allow_private: true,
            own_addresses: vec![],
        };
        assert!(p.allows("127.0.0.1".parse().unwrap()));
        assert!(p.allows("10.0.0.1".parse().unwrap()));
        assert!(!p.allows("239.1.1.1".parse().unwrap()));
    }
}

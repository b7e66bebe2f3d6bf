use super::*;
use crate::stun::{LongTermKey, TransactionId};
use std::time::{Duration, Instant};

fn client(port: u16) -> ClientId {
    ClientId {
        transport: ClientTransport::Udp,
        remote: SocketAddr::from(([192, 0, 2, 1], port)),
        local: SocketAddr::from(([192, 0, 2, 100], 3478)),
        conn: 0,
    }
}

fn alloc(c: ClientId, user: &str, relay_port: u16, now: Instant) -> Allocation {
    let relay = SocketAddr::from(([192, 0, 2, 100], relay_port));
    Allocation {
        client: c,
        username: user.into(),
        principal: user.into(),
        key: LongTermKey([0; 16]),
        use_sha256: false,
        relay_local: relay,
        relay_public: relay,
        expires: now + DEFAULT_LIFETIME,
        allocate_tid: TransactionId([0; 12]),
        permissions: Default::default(),
        channels: Default::default(),
        channel_by_peer: Default::default(),
        bandwidth: None,
        second: None,
        mobility: None,
    }
}

fn table() -> AllocationTable {
    AllocationTable::new(Quotas {
        per_user: 2,
        total: 3,
        permissions_per_allocation: 4,
    })
}

#[test]
fn quotas_per_user_and_total() {
    let t0 = Instant::now();
    let mut t = table();
    t.insert(alloc(client(1), "a", 50001, t0)).unwrap();
    t.insert(alloc(client(2), "a", 50002, t0)).unwrap();
    assert_eq!(
        t.insert(alloc(client(3), "a", 50003, t0)),
        Err(AllocationError::UserQuota)
    );
    t.insert(alloc(client(3), "b", 50003, t0)).unwrap();
    assert_eq!(t.check_quota("c"), Err(AllocationError::TotalQuota));
    t.remove(&client(1)).unwrap();
    assert_eq!(t.allocations_of("a"), 1);
    assert!(t.check_quota("a").is_ok());
    assert!(t
        .by_relay(SocketAddr::from(([192, 0, 2, 100], 50001)))
        .is_none());
    assert_eq!(
        t.by_relay(SocketAddr::from(([192, 0, 2, 100], 50002)))
            .unwrap()
            .client,
        client(2)
    );
}

#[test]
fn lifetimes_expire_with_simulated_time() {
    let t0 = Instant::now();
    let mut t = table();
    let mut a = alloc(client(1), "a", 50001, t0);
    let peer: SocketAddr = "198.51.100.1:9000".parse().unwrap();
    a.install_permission(peer.ip(), t0, 4).unwrap();
    a.bind_channel(0x4000, "198.51.100.2:9000".parse().unwrap(), t0, 4)
        .unwrap();
    t.insert(a).unwrap();
    let a = t.get(&client(1)).unwrap();
    assert!(a.has_permission(peer.ip(), t0 + Duration::from_secs(299)));
    assert!(!a.has_permission(peer.ip(), t0 + Duration::from_secs(300)));
    assert_eq!(a.next_expiry(), t0 + PERMISSION_LIFETIME);
    assert!(t.expire(t0 + Duration::from_secs(301)).is_empty());
    let a = t.get(&client(1)).unwrap();
    // Permissions (also the one ChannelBind installed) last 300 s; the
    // channel itself 600 s, but relaying needs both.
    assert!(a.permissions.is_empty());
    assert!(a
        .channel_for_peer(
            "198.51.100.2:9000".parse().unwrap(),
            t0 + Duration::from_secs(301)
        )
        .is_some());
    let gone = t.expire(t0 + DEFAULT_LIFETIME);
    assert_eq!(gone.len(), 1);
    assert!(t.is_empty());
    assert_eq!(t.allocations_of("a"), 0);
}

#[test]
fn channel_binding_rules() {
    let t0 = Instant::now();
    let mut a = alloc(client(1), "a", 50001, t0);
    let p1: SocketAddr = "198.51.100.1:1".parse().unwrap();
    let p2: SocketAddr = "198.51.100.1:2".parse().unwrap();
    a.bind_channel(0x4000, p1, t0, 4).unwrap();
    // Refresh is fine.
    a.bind_channel(0x4000, p1, t0 + Duration::from_secs(10), 4)
        .unwrap();
    assert_eq!(
        a.bind_channel(0x4000, p2, t0, 4),
        Err(AllocationError::ChannelTaken)
    );
    assert_eq!(
        a.bind_channel(0x4001, p1, t0, 4),
        Err(AllocationError::PeerBoundElsewhere)
    );
    assert_eq!(a.peer_for_channel(0x4000, t0), Some(p1));
    assert_eq!(
        a.peer_for_channel(0x4000, t0 + Duration::from_secs(610)),
        None
    );
    a.prune(t0 + Duration::from_secs(611));
    assert!(a.channels.is_empty() && a.channel_by_peer.is_empty());
}

#[test]
fn permission_cap() {
    let t0 = Instant::now();
    let mut a = alloc(client(1), "a", 50001, t0);
    for i in 0..4u8 {
        a.install_permission(IpAddr::from([198, 51, 100, i]), t0, 4)
            .unwrap();
    }
    assert_eq!(
        a.install_permission(IpAddr::from([198, 51, 100, 9]), t0, 4),
        Err(AllocationError::TooManyPermissions)
    );
    a.install_permission(IpAddr::from([198, 51, 100, 0]), t0, 4)
        .unwrap();
}

#[test]
fn move_client_keeps_relays_and_reindexes() {
    let t0 = Instant::now();
    let mut t = table();
    let mut a = alloc(client(1), "a", 50001, t0);
    let v6: SocketAddr = "[2001:db8::1]:50002".parse().unwrap();
    a.second = Some(RelayAddr {
        local: v6,
        public: v6,
    });
    a.mobility = Some(Mobility {
        id: 9,
        generation: 0,
    });
    t.insert(a).unwrap();
    t.insert(alloc(client(3), "b", 50003, t0)).unwrap();
    assert!(!t.move_client(&client(1), client(3)), "target busy");
    assert!(!t.move_client(&client(7), client(8)), "nothing to move");
    assert!(t.move_client(&client(1), client(2)));
    assert!(t.get(&client(1)).is_none());
    assert_eq!(t.by_relay(v6).unwrap().client, client(2));
    assert_eq!(t.by_mobility_id(9), Some(client(2)));
    assert_eq!(t.allocations_of("a"), 1);
    t.remove(&client(2)).unwrap();
    assert!(!t.is_relay_address(v6));
    assert_eq!(t.by_mobility_id(9), None);
}

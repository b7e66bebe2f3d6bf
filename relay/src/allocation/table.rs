use super::{Allocation, AllocationError, ClientId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub per_user: usize,
    pub total: usize,
    pub permissions_per_allocation: usize,
}

/// All allocations, indexed by client 5-tuple and by relayed address.
#[derive(Debug)]
pub struct AllocationTable {
    by_client: HashMap<ClientId, Allocation>,
    by_relay: HashMap<SocketAddr, ClientId>,
    per_user: HashMap<String, usize>,
    /// RFC 8016 ticket id → current 5-tuple.
    by_mobility: HashMap<u64, ClientId>,
    pub quotas: Quotas,
}

impl AllocationTable {
    pub fn new(quotas: Quotas) -> Self {
        AllocationTable {
            by_client: HashMap::new(),
            by_relay: HashMap::new(),
            per_user: HashMap::new(),
            by_mobility: HashMap::new(),
            quotas,
        }
    }

    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }

    /// RFC 8656 §7.2: 486 when the user is full, 508 when the server is.
    pub fn check_quota(&self, username: &str) -> Result<(), AllocationError> {
        if self.by_client.len() >= self.quotas.total {
            return Err(AllocationError::TotalQuota);
        }
        if self.per_user.get(username).copied().unwrap_or(0) >= self.quotas.per_user {
            return Err(AllocationError::UserQuota);
        }
        Ok(())
    }

    pub fn insert(&mut self, alloc: Allocation) -> Result<(), AllocationError> {
        self.check_quota(&alloc.principal)?;
        *self.per_user.entry(alloc.principal.clone()).or_insert(0) += 1;
        self.index(&alloc);
        self.by_client.insert(alloc.client, alloc);
        Ok(())
    }

    fn index(&mut self, alloc: &Allocation) {
        for r in alloc.relays() {
            self.by_relay.insert(r.local, alloc.client);
            self.by_relay.insert(r.public, alloc.client);
        }
        if let Some(m) = alloc.mobility {
            self.by_mobility.insert(m.id, alloc.client);
        }
    }

    /// The 5-tuple holding the allocation with RFC 8016 ticket id `id`.
    pub fn by_mobility_id(&self, id: u64) -> Option<ClientId> {
        self.by_mobility.get(&id).copied()
    }

    /// Move an allocation to another 5-tuple (RFC 8016 §3.3), keeping its
    /// relayed addresses, permissions and channels. False if `from` has no
    /// allocation or `to` already has one.
    pub fn move_client(&mut self, from: &ClientId, to: ClientId) -> bool {
        if self.by_client.contains_key(&to) {
            return false;
        }
        let Some(mut alloc) = self.by_client.remove(from) else {
            return false;
        };
        alloc.client = to;
        self.index(&alloc);
        self.by_client.insert(to, alloc);
        true
    }

    pub fn remove(&mut self, client: &ClientId) -> Option<Allocation> {
        let alloc = self.by_client.remove(client)?;
        for r in alloc.relays() {
            self.by_relay.remove(&r.local);
            self.by_relay.remove(&r.public);
        }
        if let Some(m) = alloc.mobility {
            self.by_mobility.remove(&m.id);
        }
        if let Some(n) = self.per_user.get_mut(&alloc.principal) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_user.remove(&alloc.principal);
            }
        }
        Some(alloc)
    }

    pub fn get(&self, client: &ClientId) -> Option<&Allocation> {
        self.by_client.get(client)
    }

    pub fn get_mut(&mut self, client: &ClientId) -> Option<&mut Allocation> {
        self.by_client.get_mut(client)
    }

    pub fn by_relay_mut(&mut self, addr: SocketAddr) -> Option<&mut Allocation> {
        let client = self.by_relay.get(&addr)?;
        self.by_client.get_mut(client)
    }

    /// The allocation whose relayed address (bound or advertised) is `addr`.
    pub fn by_relay(&self, addr: SocketAddr) -> Option<&Allocation> {
        self.by_relay.get(&addr).and_then(|c| self.by_client.get(c))
    }

    pub fn is_relay_address(&self, addr: SocketAddr) -> bool {
        self.by_relay.contains_key(&addr)
    }

    pub fn allocations_of(&self, username: &str) -> usize {
        self.per_user.get(username).copied().unwrap_or(0)
    }

    /// Remove expired allocations (returned) and prune the rest.
    pub fn expire(&mut self, now: Instant) -> Vec<Allocation> {
        let dead: Vec<ClientId> = self
            .by_client
            .values()
            .filter(|a| a.expires <= now)
            .map(|a| a.client)
            .collect();
        for a in self.by_client.values_mut() {
            a.prune(now);
        }
        dead.iter().filter_map(|c| self.remove(c)).collect()
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_client.values().map(Allocation::next_expiry).min()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Allocation> {
        self.by_client.values()
    }
}

//! The ICE candidate pool (`iceCandidatePoolSize`, webrtc-pc §4.4.1.6 "set the configuration",
//! JSEP §3.5.4): allocations made when the configuration is set, before any description, so the
//! first gathering finds its relay candidate ready instead of waiting for a session and an
//! Allocate round trip.
//!
//! JSEP allows changing the pool size only before the first setLocalDescription and uses the pool
//! for the first offer/answer exchange only. Everything here is bundled on one ICE transport, so
//! one pooled allocation per relay server is all a gathering can use, whatever the size above 0;
//! the rest is released when that first gathering starts.

use std::time::Instant;

use super::RelayCommand;
use crate::peer_connection::PeerConnection;
use crate::turn::TurnState;

impl PeerConnection {
    /// The configuration was set (constructor, setConfiguration): fill, keep or release the
    /// pool. Nothing changes once gathering started (the pool is used up then).
    pub(crate) fn update_candidate_pool(&mut self, now: Instant) {
        if self.closed || self.network.generation > 0 {
            return;
        }
        let servers = self.relay_servers();
        let wanted = self.config.ice_candidate_pool_size > 0;
        // A pooled allocation whose server or credentials left the configuration goes.
        let stale: Vec<usize> = (0..self.network.relays.len())
            .filter(|&i| {
                let r = &self.network.relays[i];
                r.is_pooled()
                    && !(wanted
                        && servers.iter().any(|(url, user, pw, _)| {
                            *url == r.url
                                && r.pool_credentials.as_ref() == Some(&(user.clone(), pw.clone()))
                        }))
            })
            .collect();
        for i in stale {
            self.release_relay(i);
        }
        if !wanted {
            return;
        }
        for (url, username, password, framing) in servers {
            let have = self.network.relays.iter().any(|r| {
                r.is_pooled()
                    && r.url == url
                    && r.pool_credentials.as_ref() == Some(&(username.clone(), password.clone()))
            });
            if !have {
                self.open_relay(now, url, username, password, framing, true);
            }
        }
        self.drive_network(now);
    }

    /// The pooled allocations, for the first gathering: (index, url, username, password). What
    /// that gathering does not adopt is released.
    pub(crate) fn take_pooled_relays(&mut self) -> Vec<(usize, String, String, String)> {
        self.network
            .relays
            .iter()
            .enumerate()
            // A pooled session that dropped meanwhile is not worth resuming: gathering makes a
            // fresh allocation for that server and the stale one is released.
            .filter(|(_, r)| {
                r.is_pooled()
                    && matches!(
                        r.client.state(),
                        TurnState::Allocating | TurnState::Allocated
                    )
            })
            .filter_map(|(i, r)| {
                let (user, pw) = r.pool_credentials.clone()?;
                Some((i, r.url.clone(), user, pw))
            })
            .collect()
    }

    /// A pooled allocation becomes this generation's: if it is already allocated, its
    /// candidate is announced now, in the gathering's first task.
    pub(crate) fn adopt_pooled_relay(&mut self, index: usize) {
        let generation = self.network.generation;
        let Some(r) = self.network.relays.get_mut(index) else {
            return;
        };
        r.pool_credentials = None;
        r.generation = generation;
        if let Some(relayed) = r.relayed {
            r.gathered = true;
            let (mapped, url) = (r.mapped, r.url.clone());
            self.add_relay_candidate(relayed, mapped, url, index);
        }
    }

    /// Whatever is left in the pool is released (the pool serves one gathering only).
    pub(crate) fn release_pool(&mut self) {
        for i in 0..self.network.relays.len() {
            if self.network.relays.get(i).is_some_and(|r| r.is_pooled()) {
                self.release_relay(i);
            }
        }
    }

    /// Release the allocation at `index` (RFC 8656 §7: Refresh with lifetime 0) and its session.
    pub(crate) fn release_relay(&mut self, index: usize) {
        let now = self.network.now.unwrap_or(self.created_at);
        let Some(r) = self.network.relays.get_mut(index) else {
            return;
        };
        if r.closed {
            return;
        }
        r.client.close(now);
        r.closed = true;
        r.gathered = true;
        while let Some(bytes) = r.client.poll_transmit() {
            self.network.transmits.push_back((r.id, bytes));
        }
        self.network
            .commands
            .push_back(RelayCommand::Close { relay: r.id });
    }

    /// Pool sessions are requested outside any gathering (from the constructor, which the shell
    /// does not pump): ask to be driven at once while their commands wait.
    pub(crate) fn pool_poll_timeout(&self) -> Option<Instant> {
        let waiting =
            !self.network.commands.is_empty() && self.network.relays.iter().any(|r| r.is_pooled());
        waiting.then(|| self.network.now.unwrap_or(self.created_at))
    }
}

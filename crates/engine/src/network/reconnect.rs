//! A relay session that drops (issue #6). The TURN allocation outlives its WebSocket or
//! WebTransport session only when the relay gave a MOBILITY-TICKET (RFC 8016): then the session
//! is opened again, at once and then with a doubling back-off, and the ticket moves the
//! allocation to it, keeping the relayed address, permissions and channels, so ICE carries on
//! without a restart. Without a ticket the allocation is lost at once; ICE consent (RFC 7675)
//! then turns the connection "disconnected" and "failed" on its own schedule, and only
//! `restartIce()` gathers a new allocation.
//!
//! Attempts stop once ICE failed (a resumed allocation would not revive a pair whose consent
//! expired) or [`GIVE_UP_AFTER`] after the loss, whichever comes first; the allocation is then
//! reported lost like any other.

use std::time::{Duration, Instant};

use super::{RelayCommand, RelayId};
use crate::api::IceConnectionState;
use crate::peer_connection::PeerConnection;
use crate::turn::TurnState;

/// Delay before the second attempt; each further one waits twice as long...
pub const FIRST_RETRY: Duration = Duration::from_millis(500);
/// ...up to this.
pub const MAX_RETRY: Duration = Duration::from_secs(8);
/// RFC 7675 §5.1: consent is lost 30 s after the last response; past that a resumed
/// allocation is of no use to the ICE pair it carried.
pub const GIVE_UP_AFTER: Duration = crate::ice::CONSENT_TIMEOUT;

/// Reconnection of one relay's session.
#[derive(Debug, Clone)]
pub(crate) struct Reconnect {
    /// When the first session of this outage dropped.
    lost_at: Instant,
    /// Sessions opened (or being opened) since.
    attempts: u32,
    /// When to open the next one; `None` while an attempt is under way.
    next_at: Option<Instant>,
}

impl Reconnect {
    fn give_up_at(&self) -> Instant {
        self.lost_at + GIVE_UP_AFTER
    }
}

/// Wait before attempt number `attempt` (0-based): none for the first, then 0.5 s, 1 s, 2 s, …
/// capped at [`MAX_RETRY`].
pub fn retry_delay(attempt: u32) -> Duration {
    match attempt {
        0 => Duration::ZERO,
        n => FIRST_RETRY
            .saturating_mul(1u32 << (n - 1).min(16))
            .min(MAX_RETRY),
    }
}

impl PeerConnection {
    /// The shell reports a session of `relay` closed (or failed to open).
    pub(crate) fn relay_session_lost(&mut self, now: Instant, relay: RelayId) {
        let Some(r) = self.network.relays.iter_mut().find(|r| r.id == relay) else {
            return;
        };
        if r.closed {
            return;
        }
        if !r.ever_open && !r.gathered {
            // Never reached: the browsers' code for an unreachable server.
            return self.relay_unreachable(relay);
        }
        let fresh = r.client.state() == TurnState::Allocated || r.reconnect.is_none();
        r.client.transport_lost(now);
        // Without a ticket the client reported the allocation lost (closed by drive_network);
        // a session lost while allocating is opened again too: Allocate starts over on it.
        if !matches!(
            r.client.state(),
            TurnState::Reconnecting | TurnState::Allocating
        ) {
            r.reconnect = None;
            return;
        }
        if fresh {
            r.reconnect = Some(Reconnect {
                lost_at: now,
                attempts: 0,
                next_at: None,
            });
        }
        if let Some(rc) = &mut r.reconnect {
            rc.next_at = Some(now + retry_delay(rc.attempts));
        }
        self.reconnect_due(now);
    }

    /// The shell reports a session of `relay` open: the client resumes (or allocates) on it.
    pub(crate) fn relay_session_open(&mut self, now: Instant, relay: RelayId) {
        let Some(r) = self.network.relays.iter_mut().find(|r| r.id == relay) else {
            return;
        };
        if r.closed {
            return;
        }
        if r.ever_open {
            r.client.transport_reconnected(now);
        }
        r.ever_open = true;
    }

    /// Opens the sessions whose wait is over; gives up on those past their time or whose ICE
    /// transport failed.
    pub(crate) fn reconnect_due(&mut self, now: Instant) {
        let ice_failed = self
            .network
            .agent
            .as_ref()
            .is_some_and(|a| a.state() == IceConnectionState::Failed);
        for r in self.network.relays.iter_mut().filter(|r| !r.closed) {
            let waiting = matches!(
                r.client.state(),
                TurnState::Reconnecting | TurnState::Allocating
            );
            let Some(rc) = r.reconnect.as_mut().filter(|_| waiting) else {
                // Resumed, allocated or lost since: nothing left to do.
                r.reconnect = None;
                continue;
            };
            if ice_failed || now >= rc.give_up_at() {
                r.reconnect = None;
                r.client
                    .abandon("the relay session was lost and could not be resumed");
                continue;
            }
            if rc.next_at.is_some_and(|t| t <= now) {
                rc.next_at = None;
                rc.attempts += 1;
                self.network.commands.push_back(RelayCommand::Connect {
                    relay: r.id,
                    url: r.url.clone(),
                });
            }
        }
    }

    /// The next reconnection deadline: an attempt to start or an outage to give up on.
    pub(crate) fn reconnect_poll_timeout(&self) -> Option<Instant> {
        self.network
            .relays
            .iter()
            .filter(|r| !r.closed)
            .filter(|r| {
                matches!(
                    r.client.state(),
                    TurnState::Reconnecting | TurnState::Allocating
                )
            })
            .filter_map(|r| r.reconnect.as_ref())
            .flat_map(|rc| [rc.next_at, Some(rc.give_up_at())])
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_half_a_second_up_to_eight() {
        let delays: Vec<u64> = (0..8).map(|n| retry_delay(n).as_millis() as u64).collect();
        assert_eq!(delays, [0, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }
}

//! The STUN codec lives in `polyrtc-stun`, shared with the engine's TURN client.
pub use polyrtc_stun::*;

/// A transaction id from the thread's CSPRNG (the relay's own indications and test clients).
pub fn random_transaction_id() -> TransactionId {
    TransactionId::from_rng(&mut rand::thread_rng())
}

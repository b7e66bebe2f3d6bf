//! ChannelData and stream framing live in `polyrtc-stun`, shared with the engine.
pub use polyrtc_stun::framing::*;

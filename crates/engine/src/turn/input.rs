//! Bytes from the server: de-framing (RFC 8656 §12.5), Data indications (§10) and ChannelData
//! (§12.4). Anything malformed or unexpected is dropped without a trace: the server's bytes are
//! untrusted input.

use super::{Framing, TurnClient, TurnEvent, TurnState};
use polyrtc_stun::framing::{classify, split_frames, ChannelData, FrameKind};
use polyrtc_stun::{self as stun, Class, Message, Method};
use std::time::Instant;

impl TurnClient {
    /// Bytes from the server: one datagram, or one stream frame holding whole messages back to
    /// back (the shell reassembles TCP byte streams into whole messages first).
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        match self.config.framing {
            Framing::Datagram => self.handle_message(now, bytes),
            Framing::Stream => self.handle_stream_input(now, bytes),
        }
    }

    /// Bytes that came over a stream whatever the configured framing: a WebTransport session
    /// configured for datagrams still carries on a stream what exceeds a datagram (about 1200
    /// bytes in Chromium). Whole messages back to back, as in [`Framing::Stream`].
    pub fn handle_stream_input(&mut self, now: Instant, bytes: &[u8]) {
        // A framing error leaves the rest of the frame unreadable; what came before it was
        // whole and is kept.
        let messages: Vec<&[u8]> = split_frames(bytes).map_while(Result::ok).collect();
        for m in messages {
            self.handle_message(now, m);
        }
    }

    /// Make a message from [`TurnClient::poll_transmit`] fit a stream: RFC 8656 §12.5 pads
    /// ChannelData to four bytes there (datagram framing leaves it unpadded). STUN messages
    /// are always a multiple of four already.
    pub fn frame_for_stream(mut message: Vec<u8>) -> Vec<u8> {
        if message.first().is_some_and(|b| b >> 6 == 1) {
            message.resize(message.len().div_ceil(4) * 4, 0);
        }
        message
    }

    fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        if matches!(self.state, TurnState::Failed) {
            return;
        }
        let Some(&first) = bytes.first() else { return };
        match classify(first) {
            Ok(FrameKind::ChannelData) => self.handle_channel_data(bytes),
            Ok(FrameKind::Stun) => {
                let Ok(msg) = Message::parse(bytes) else {
                    return;
                };
                match msg.class {
                    Class::Success | Class::Error => self.handle_response(now, &msg),
                    Class::Indication if msg.method == Method::DATA => {
                        self.handle_data_indication(&msg)
                    }
                    _ => {}
                }
            }
            Err(_) => {}
        }
    }

    fn handle_channel_data(&mut self, bytes: &[u8]) {
        if self.state != TurnState::Allocated {
            return;
        }
        let Ok(cd) = ChannelData::parse(bytes) else {
            return;
        };
        if let Some(from) = self.peers.peer_for_channel(cd.channel) {
            self.events.push_back(TurnEvent::Data {
                from,
                data: cd.data.to_vec(),
            });
        }
    }

    /// RFC 8656 §10.4: XOR-PEER-ADDRESS and DATA are both required; otherwise discard.
    fn handle_data_indication(&mut self, msg: &Message<'_>) {
        if self.state != TurnState::Allocated {
            return;
        }
        let (Ok(Some(from)), Some(data)) = (
            msg.xor_address(stun::XOR_PEER_ADDRESS),
            msg.attribute(stun::DATA),
        ) else {
            return;
        };
        self.events.push_back(TurnEvent::Data {
            from,
            data: data.to_vec(),
        });
    }
}

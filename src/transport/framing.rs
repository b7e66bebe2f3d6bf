//! What the transports hand to `on_input`: always one or more whole TURN messages in stream
//! framing (RFC 8656 §12.5: STUN messages and ChannelData back to back, ChannelData padded to a
//! multiple of four), whatever carried them. WebSocket frames already hold whole messages; bytes
//! from a WebTransport stream are cut anywhere and go through a [`Reassembler`]; a datagram holds
//! one message whose ChannelData padding is optional (§12.5: "over UDP, the padding is not
//! required"), so [`datagram_to_stream`] pads it.

use polyrtc_stun::framing::{
    classify, stream_frame_len, FrameKind, FramingError, CHANNEL_DATA_HEADER,
};

/// Upper bound of what a reassembler keeps waiting for the rest of a message: the largest
/// stream frame (ChannelData: 4 + 65535 + 3 bytes) plus one read's worth of following bytes.
const MAX_PENDING: usize = 4 + 65_535 + 3 + 65_536;

/// Turns the bytes of one stream, read in arbitrary pieces, into chunks of whole messages.
#[derive(Debug, Default)]
pub struct Reassembler {
    pending: Vec<u8>,
}

impl Reassembler {
    /// Adds `bytes`; returns the whole messages completed so far (back to back, as received) or
    /// `None` while the first message is still incomplete. A framing error poisons the stream:
    /// nothing after an unparseable message can be delimited any more.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, FramingError> {
        self.pending.extend_from_slice(bytes);
        let mut end = 0;
        while let Some(len) = stream_frame_len(self.pending.get(end..).unwrap_or_default())? {
            end += len;
        }
        if self.pending.len() - end > MAX_PENDING {
            return Err(FramingError::TrailingBytes);
        }
        if end == 0 {
            return Ok(None);
        }
        let rest = self.pending.split_off(end);
        Ok(Some(std::mem::replace(&mut self.pending, rest)))
    }

    /// Bytes held back waiting for the rest of a message.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// One received datagram as stream-framed bytes: a STUN message must fill the datagram exactly
/// (RFC 8489 §6: its length field covers everything after the header); ChannelData is cut to its
/// declared length and padded to four (RFC 8656 §12.4/§12.5).
pub fn datagram_to_stream(mut datagram: Vec<u8>) -> Result<Vec<u8>, FramingError> {
    let first = *datagram.first().ok_or(FramingError::TrailingBytes)?;
    match classify(first)? {
        FrameKind::Stun => match stream_frame_len(&datagram)? {
            Some(len) if len == datagram.len() => Ok(datagram),
            _ => Err(FramingError::TrailingBytes),
        },
        FrameKind::ChannelData => {
            let data_len = polyrtc_stun::framing::ChannelData::parse(&datagram)?
                .data
                .len();
            datagram.truncate(CHANNEL_DATA_HEADER + data_len);
            datagram.resize(CHANNEL_DATA_HEADER + data_len.div_ceil(4) * 4, 0);
            Ok(datagram)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyrtc_stun::framing::ChannelData;
    use polyrtc_stun::{Class, MessageBuilder, Method, TransactionId};

    fn binding(n: u8) -> Vec<u8> {
        let mut b = MessageBuilder::new(Class::Request, Method::BINDING, TransactionId([n; 12]));
        b.fingerprint();
        b.into_bytes()
    }

    #[test]
    fn reassembles_messages_split_anywhere() {
        let mut stream = binding(1);
        stream.extend(ChannelData::encode(0x4001, &[7; 1500], true));
        stream.extend(binding(2));
        for cut in [1, 3, 19, 20, 27, 28, 100, 1527, stream.len() - 1] {
            let mut r = Reassembler::default();
            let mut out = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                if let Some(chunk) = r.push(piece).unwrap() {
                    // Every chunk holds whole messages only.
                    assert!(polyrtc_stun::framing::split_frames(&chunk).all(|f| f.is_ok()));
                    out.extend(chunk);
                }
            }
            assert_eq!(out, stream, "cut at {cut}");
            assert_eq!(r.pending(), 0);
        }
    }

    #[test]
    fn reassembler_rejects_garbage() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(&[0xC0, 0, 0, 0]),
            Err(FramingError::UnknownFrame(0xC0))
        );
    }

    #[test]
    fn datagrams_become_stream_framed() {
        let unpadded = ChannelData::encode(0x4002, b"hello", false);
        assert_eq!(
            datagram_to_stream(unpadded).unwrap(),
            ChannelData::encode(0x4002, b"hello", true)
        );
        let padded = ChannelData::encode(0x4002, b"hello", true);
        assert_eq!(datagram_to_stream(padded.clone()).unwrap(), padded);
        assert_eq!(datagram_to_stream(binding(3)).unwrap(), binding(3));
        let mut long = binding(4);
        long.push(0);
        assert!(datagram_to_stream(long).is_err());
        assert!(datagram_to_stream(vec![]).is_err());
        assert!(datagram_to_stream(vec![0x40, 0x02, 0, 9, 1]).is_err());
    }
}

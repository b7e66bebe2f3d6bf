//! ChannelData (RFC 8656 §12.4) and the stream framing shared by TCP, TLS and
//! WebSocket (§12.5): STUN messages and ChannelData back to back, ChannelData
//! padded to a multiple of four bytes.

use crate::HEADER_LEN;

/// Channel numbers. RFC 8656 §12 narrowed the range to 0x4000..=0x4FFF, but
/// RFC 5766 clients (coturn's among them, still widely deployed) pick up to
/// 0x7FFF, so the relay accepts the older range. New clients (the polyfill)
/// should stay within 0x4FFF.
pub const CHANNEL_MIN: u16 = 0x4000;
pub const CHANNEL_MAX: u16 = 0x7FFF;
pub const CHANNEL_DATA_HEADER: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("first byte 0x{0:02x} starts neither STUN nor ChannelData")]
    UnknownFrame(u8),
    #[error("channel number 0x{0:04x} outside 0x4000..=0x7FFF")]
    BadChannel(u16),
    #[error("ChannelData length {declared} exceeds the {available} bytes present")]
    Truncated { declared: usize, available: usize },
    #[error("frame data ends inside a message")]
    TrailingBytes,
}

/// A ChannelData message borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// Parse a datagram; trailing padding (optional over UDP) is ignored.
    pub fn parse(buf: &'a [u8]) -> Result<Self, FramingError> {
        if buf.len() < CHANNEL_DATA_HEADER {
            return Err(FramingError::Truncated {
                declared: CHANNEL_DATA_HEADER,
                available: buf.len(),
            });
        }
        let channel = u16::from_be_bytes([buf[0], buf[1]]);
        if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
            return Err(FramingError::BadChannel(channel));
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        let available = buf.len() - CHANNEL_DATA_HEADER;
        if len > available {
            return Err(FramingError::Truncated {
                declared: len,
                available,
            });
        }
        Ok(ChannelData {
            channel,
            data: &buf[CHANNEL_DATA_HEADER..CHANNEL_DATA_HEADER + len],
        })
    }

    /// Encode; `pad` for stream transports (TCP, TLS, WebSocket).
    pub fn encode_into(channel: u16, data: &[u8], pad: bool, out: &mut Vec<u8>) {
        let len = data.len().min(u16::MAX as usize);
        out.extend_from_slice(&channel.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&data[..len]);
        if pad {
            out.extend(std::iter::repeat_n(0u8, (4 - len % 4) % 4));
        }
    }

    pub fn encode(channel: u16, data: &[u8], pad: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 8);
        Self::encode_into(channel, data, pad, &mut out);
        out
    }
}

/// What kind of message a buffer starts with (RFC 7983 demultiplexing on the
/// first two bits: 0b00 STUN, 0b01 ChannelData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Stun,
    ChannelData,
}

pub fn classify(first: u8) -> Result<FrameKind, FramingError> {
    match first >> 6 {
        0 => Ok(FrameKind::Stun),
        1 => Ok(FrameKind::ChannelData),
        _ => Err(FramingError::UnknownFrame(first)),
    }
}

/// Length of the first complete frame of a stream buffer, `Ok(None)` when
/// more bytes are needed. Never more than 4 + 65535 + 3 bytes.
pub fn stream_frame_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let kind = classify(first)?;
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    let total = match kind {
        FrameKind::Stun => HEADER_LEN + len,
        FrameKind::ChannelData => {
            let channel = u16::from_be_bytes([buf[0], buf[1]]);
            if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
                return Err(FramingError::BadChannel(channel));
            }
            CHANNEL_DATA_HEADER + len.div_ceil(4) * 4
        }
    };
    Ok((buf.len() >= total).then_some(total))
}

/// Split one WebSocket binary frame into the messages it carries. Each
/// frame must hold whole messages.
pub fn split_frames(mut buf: &[u8]) -> impl Iterator<Item = Result<&[u8], FramingError>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        match stream_frame_len(buf) {
            Ok(Some(n)) => {
                let (head, rest) = buf.split_at(n);
                buf = rest;
                Some(Ok(head))
            }
            Ok(None) => {
                buf = &[];
                Some(Err(FramingError::TrailingBytes))
            }
            Err(e) => {
                buf = &[];
                Some(Err(e))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_round_trips_with_and_without_padding() {
        for pad in [false, true] {
            let enc = ChannelData::encode(0x4001, b"hello", pad);
            assert_eq!(enc.len(), if pad { 12 } else { 9 });
            let cd = ChannelData::parse(&enc).unwrap();
            assert_eq!(
                cd,
                ChannelData {
                    channel: 0x4001,
                    data: b"hello"
                }
            );
        }
        assert_eq!(
            ChannelData::parse(&[0x40, 0, 0, 9, 1]),
            Err(FramingError::Truncated {
                declared: 9,
                available: 1
            })
        );
        assert_eq!(
            ChannelData::parse(&[0x80, 0, 0, 0]),
            Err(FramingError::BadChannel(0x8000))
        );
    }

    #[test]
    fn stream_framing_splits_back_to_back_messages() {
        let mut buf = ChannelData::encode(0x4000, b"abc", true);
        let stun = crate::MessageBuilder::new(
            crate::Class::Request,
            crate::Method::BINDING,
            crate::TransactionId([3; 12]),
        )
        .into_bytes();
        buf.extend_from_slice(&stun);
        buf.extend_from_slice(&ChannelData::encode(0x4FFF, b"", true));
        let frames: Vec<_> = split_frames(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].len(), 8);
        assert_eq!(frames[1], &stun[..]);
        assert_eq!(stream_frame_len(&buf[..3]), Ok(None));
        assert_eq!(
            stream_frame_len(&[0x80]),
            Err(FramingError::UnknownFrame(0x80))
        );
        let partial: Vec<_> = split_frames(&buf[..10]).collect();
        assert_eq!(partial.last(), Some(&Err(FramingError::TrailingBytes)));
    }
}

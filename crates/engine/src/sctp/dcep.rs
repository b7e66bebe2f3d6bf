//! Data Channel Establishment Protocol messages (RFC 8832 §5).
//!
//! DCEP rides on the data channel's own SCTP stream with PPID 50. Only two messages exist:
//! DATA_CHANNEL_OPEN (0x03) announces a channel and its parameters, DATA_CHANNEL_ACK (0x02)
//! confirms it.

use super::ChannelParams;
use thiserror::Error;

/// DATA_CHANNEL_ACK (RFC 8832 §5.2).
pub const MESSAGE_ACK: u8 = 0x02;
/// DATA_CHANNEL_OPEN (RFC 8832 §5.1).
pub const MESSAGE_OPEN: u8 = 0x03;

// Channel types (RFC 8832 §5.1): the high bit means unordered, the low bits the reliability.
const CHANNEL_RELIABLE: u8 = 0x00;
const CHANNEL_PARTIAL_RELIABLE_REXMIT: u8 = 0x01;
const CHANNEL_PARTIAL_RELIABLE_TIMED: u8 = 0x02;
const CHANNEL_UNORDERED_BIT: u8 = 0x80;

/// The fixed part of DATA_CHANNEL_OPEN before label and protocol.
const OPEN_HEADER_LEN: usize = 12;

/// Why a DCEP message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DcepError {
    #[error("empty DCEP message")]
    Empty,
    #[error("unknown DCEP message type {0:#04x}")]
    UnknownType(u8),
    #[error("unknown DCEP channel type {0:#04x}")]
    UnknownChannelType(u8),
    #[error("DCEP message truncated")]
    Truncated,
    #[error("DCEP label or protocol is not UTF-8")]
    NotUtf8,
    #[error("DCEP label or protocol longer than 65535 bytes")]
    TooLong,
}

/// A parsed DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    Open(ChannelParams),
    Ack,
}

impl DcepMessage {
    /// Parses one DCEP message (the whole SCTP user message).
    pub fn parse(data: &[u8]) -> Result<Self, DcepError> {
        match data.first() {
            None => Err(DcepError::Empty),
            // RFC 8832 §5.2: the ACK is the type byte alone; trailing bytes are tolerated.
            Some(&MESSAGE_ACK) => Ok(DcepMessage::Ack),
            Some(&MESSAGE_OPEN) => parse_open(data).map(DcepMessage::Open),
            Some(&other) => Err(DcepError::UnknownType(other)),
        }
    }

    /// Encodes the message. Fails only for labels or protocols that do not fit a u16 length.
    pub fn encode(&self) -> Result<Vec<u8>, DcepError> {
        match self {
            DcepMessage::Ack => Ok(vec![MESSAGE_ACK]),
            DcepMessage::Open(params) => encode_open(params),
        }
    }
}

fn read_u16(data: &[u8], at: usize) -> Result<u16, DcepError> {
    let bytes = data.get(at..at + 2).and_then(|b| b.try_into().ok());
    Ok(u16::from_be_bytes(bytes.ok_or(DcepError::Truncated)?))
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, DcepError> {
    let bytes = data.get(at..at + 4).and_then(|b| b.try_into().ok());
    Ok(u32::from_be_bytes(bytes.ok_or(DcepError::Truncated)?))
}

fn parse_open(data: &[u8]) -> Result<ChannelParams, DcepError> {
    let channel_type = *data.get(1).ok_or(DcepError::Truncated)?;
    let priority = read_u16(data, 2)?;
    let reliability = read_u32(data, 4)?;
    let label_len = usize::from(read_u16(data, 8)?);
    let protocol_len = usize::from(read_u16(data, 10)?);
    let label_end = OPEN_HEADER_LEN + label_len;
    let label = data
        .get(OPEN_HEADER_LEN..label_end)
        .ok_or(DcepError::Truncated)?;
    let protocol = data
        .get(label_end..label_end + protocol_len)
        .ok_or(DcepError::Truncated)?;
    let ordered = channel_type & CHANNEL_UNORDERED_BIT == 0;
    // The reliability parameter is 32 bits on the wire but the W3C attributes are unsigned
    // short; larger values saturate (a browser does the same).
    let parameter = u16::try_from(reliability).unwrap_or(u16::MAX);
    let (max_retransmits, max_packet_life_time) = match channel_type & !CHANNEL_UNORDERED_BIT {
        CHANNEL_RELIABLE => (None, None),
        CHANNEL_PARTIAL_RELIABLE_REXMIT => (Some(parameter), None),
        CHANNEL_PARTIAL_RELIABLE_TIMED => (None, Some(parameter)),
        _ => return Err(DcepError::UnknownChannelType(channel_type)),
    };
    Ok(ChannelParams {
        label: String::from_utf8(label.to_vec()).map_err(|_| DcepError::NotUtf8)?,
        protocol: String::from_utf8(protocol.to_vec()).map_err(|_| DcepError::NotUtf8)?,
        ordered,
        max_retransmits,
        max_packet_life_time,
        negotiated: false,
        priority,
    })
}

fn encode_open(params: &ChannelParams) -> Result<Vec<u8>, DcepError> {
    let label_len = u16::try_from(params.label.len()).map_err(|_| DcepError::TooLong)?;
    let protocol_len = u16::try_from(params.protocol.len()).map_err(|_| DcepError::TooLong)?;
    let (reliability_type, parameter) = match (params.max_retransmits, params.max_packet_life_time)
    {
        (Some(n), _) => (CHANNEL_PARTIAL_RELIABLE_REXMIT, n),
        (None, Some(ms)) => (CHANNEL_PARTIAL_RELIABLE_TIMED, ms),
        (None, None) => (CHANNEL_RELIABLE, 0),
    };
    let unordered = if params.ordered {
        0
    } else {
        CHANNEL_UNORDERED_BIT
    };
    let mut out = Vec::with_capacity(OPEN_HEADER_LEN + params.label.len() + params.protocol.len());
    out.push(MESSAGE_OPEN);
    out.push(reliability_type | unordered);
    out.extend_from_slice(&params.priority.to_be_bytes());
    out.extend_from_slice(&u32::from(parameter).to_be_bytes());
    out.extend_from_slice(&label_len.to_be_bytes());
    out.extend_from_slice(&protocol_len.to_be_bytes());
    out.extend_from_slice(params.label.as_bytes());
    out.extend_from_slice(params.protocol.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(ordered: bool, rexmit: Option<u16>, life: Option<u16>) -> ChannelParams {
        ChannelParams {
            label: "chat é".into(),
            protocol: "proto".into(),
            ordered,
            max_retransmits: rexmit,
            max_packet_life_time: life,
            negotiated: false,
            priority: 256,
        }
    }

    #[test]
    fn open_round_trips_every_channel_type() {
        for ordered in [true, false] {
            for (rexmit, life) in [(None, None), (Some(3), None), (None, Some(1500))] {
                let p = params(ordered, rexmit, life);
                let wire = DcepMessage::Open(p.clone()).encode().unwrap();
                assert_eq!(DcepMessage::parse(&wire).unwrap(), DcepMessage::Open(p));
            }
        }
    }

    #[test]
    fn open_matches_rfc_8832_layout() {
        let wire = DcepMessage::Open(params(false, Some(7), None))
            .encode()
            .unwrap();
        // type, channel type 0x81 (unordered rexmit), priority 256, parameter 7, lengths 7 and 5.
        assert_eq!(&wire[..12], &[3, 0x81, 1, 0, 0, 0, 0, 7, 0, 7, 0, 5]);
        assert_eq!(&wire[12..], "chat éproto".as_bytes());
    }

    #[test]
    fn ack_is_one_byte() {
        assert_eq!(DcepMessage::Ack.encode().unwrap(), vec![2]);
        assert_eq!(DcepMessage::parse(&[2]).unwrap(), DcepMessage::Ack);
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert_eq!(DcepMessage::parse(&[]), Err(DcepError::Empty));
        assert_eq!(DcepMessage::parse(&[9]), Err(DcepError::UnknownType(9)));
        assert_eq!(DcepMessage::parse(&[3, 0, 0]), Err(DcepError::Truncated));
        let mut wire = DcepMessage::Open(params(true, None, None))
            .encode()
            .unwrap();
        wire.truncate(wire.len() - 1);
        assert_eq!(DcepMessage::parse(&wire), Err(DcepError::Truncated));
        let bad_type = [3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            DcepMessage::parse(&bad_type),
            Err(DcepError::UnknownChannelType(5))
        );
        let bad_utf8 = [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff];
        assert_eq!(DcepMessage::parse(&bad_utf8), Err(DcepError::NotUtf8));
    }
}

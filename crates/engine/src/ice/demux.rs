//! RFC 7983 §7: telling STUN, DTLS and RTP/RTCP apart on one 5-tuple by the first byte.

/// What a datagram received on the ICE transport carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// 0..=3: STUN (ICE checks, consent, TURN).
    Stun,
    /// 20..=63: DTLS records.
    Dtls,
    /// 128..=191: RTP and RTCP (SRTP/SRTCP).
    Rtp,
    /// Everything else (ZRTP 16..=19, TURN ChannelData 64..=79, reserved ranges) is not ours
    /// at this layer: ChannelData is unwrapped by the TURN client before it reaches ICE.
    Unknown,
}

/// Classify a datagram by its first byte (RFC 7983 §7 ranges).
pub fn classify(first_byte: u8) -> PacketKind {
    match first_byte {
        0..=3 => PacketKind::Stun,
        20..=63 => PacketKind::Dtls,
        128..=191 => PacketKind::Rtp,
        _ => PacketKind::Unknown,
    }
}

/// Classify a whole datagram; an empty one is `Unknown`.
pub fn classify_datagram(data: &[u8]) -> PacketKind {
    data.first().map_or(PacketKind::Unknown, |b| classify(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7983_ranges() {
        for (b, k) in [
            (0, PacketKind::Stun),
            (3, PacketKind::Stun),
            (4, PacketKind::Unknown),
            (19, PacketKind::Unknown),
            (20, PacketKind::Dtls),
            (63, PacketKind::Dtls),
            (64, PacketKind::Unknown),
            (127, PacketKind::Unknown),
            (128, PacketKind::Rtp),
            (191, PacketKind::Rtp),
            (192, PacketKind::Unknown),
            (255, PacketKind::Unknown),
        ] {
            assert_eq!(classify(b), k, "byte {b}");
        }
        assert_eq!(classify_datagram(&[]), PacketKind::Unknown);
        assert_eq!(classify_datagram(&[22, 254, 253]), PacketKind::Dtls);
    }
}

// POLYRTC: the PAD chunk (RFC 4820), sent only to fill path MTU probes (association/pmtu.rs).
use super::{chunk_header::*, chunk_type::*, *};

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// A PAD chunk: `padding` zero bytes that the receiver discards. Its type (0x84) has the high
/// bit set, so a receiver that does not know it skips it and goes on with the packet
/// (RFC 9260 §3.2): a HEARTBEAT bundled before it is answered, with a small HEARTBEAT ACK.
#[derive(Default, Debug)]
pub(crate) struct ChunkPadding {
    pub(crate) padding: usize,
}

impl fmt::Display for ChunkPadding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.header(), self.padding)
    }
}

impl Chunk for ChunkPadding {
    fn header(&self) -> ChunkHeader {
        ChunkHeader {
            typ: CT_PAD,
            flags: 0,
            value_length: self.padding as u16,
        }
    }

    fn unmarshal(raw: &Bytes) -> Result<Self> {
        let header = ChunkHeader::unmarshal(raw)?;
        if header.typ != CT_PAD {
            return Err(Error::ErrChunkTypeUnhandled);
        }
        Ok(ChunkPadding {
            padding: header.value_length(),
        })
    }

    fn marshal_to(&self, buf: &mut BytesMut) -> Result<usize> {
        self.header().marshal_to(buf)?;
        buf.put_bytes(0, self.padding);
        Ok(buf.len())
    }

    fn check(&self) -> Result<()> {
        if self.padding > u16::MAX as usize - CHUNK_HEADER_SIZE {
            return Err(Error::ErrChunkHeaderInvalidLength);
        }
        Ok(())
    }

    fn value_length(&self) -> usize {
        self.padding
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

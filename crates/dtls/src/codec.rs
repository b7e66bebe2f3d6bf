//! Bounds-checked reading and big-endian writing of the TLS presentation language
//! (RFC 5246 §4): fixed-width integers and vectors with 1-, 2- or 3-byte length prefixes.
//!
//! Every read returns `DecodeError` on short input: network bytes never cause a panic.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated input")]
    Truncated,
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("trailing bytes after {0}")]
    Trailing(&'static str),
}

/// A cursor over received bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The unread bytes, consuming them.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.uint(1)? as u8)
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(self.uint(2)? as u16)
    }

    pub fn u24(&mut self) -> Result<u32, DecodeError> {
        Ok(self.uint(3)? as u32)
    }

    pub fn u48(&mut self) -> Result<u64, DecodeError> {
        self.uint(6)
    }

    /// `opaque x<0..2^8-1>`
    pub fn vec8(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// `opaque x<0..2^16-1>`
    pub fn vec16(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    /// `opaque x<0..2^24-1>`
    pub fn vec24(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u24()? as usize;
        self.take(n)
    }

    /// A vector of u16 values with a 2-byte length prefix (cipher suites, groups, schemes).
    pub fn u16_list(&mut self) -> Result<Vec<u16>, DecodeError> {
        let body = self.vec16()?;
        if body.len() % 2 != 0 {
            return Err(DecodeError::Invalid("u16 list length"));
        }
        Ok(body
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect())
    }

    /// Fails unless everything was consumed.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(what))
        }
    }
}

pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

pub fn put_u48(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes()[2..]);
}

/// Writes a `len_bytes`-byte length prefix, then whatever `body` appends. Callers keep bodies
/// within the prefix's range (all our vectors are small and bounded).
pub fn put_prefixed(out: &mut Vec<u8>, len_bytes: usize, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.resize(at + len_bytes, 0);
    body(out);
    let len = (out.len() - at - len_bytes) as u64;
    let be = len.to_be_bytes();
    out[at..at + len_bytes].copy_from_slice(&be[8 - len_bytes..]);
}

pub fn put_vec8(out: &mut Vec<u8>, v: &[u8]) {
    put_prefixed(out, 1, |o| o.extend_from_slice(v));
}

pub fn put_vec16(out: &mut Vec<u8>, v: &[u8]) {
    put_prefixed(out, 2, |o| o.extend_from_slice(v));
}

pub fn put_vec24(out: &mut Vec<u8>, v: &[u8]) {
    put_prefixed(out, 3, |o| o.extend_from_slice(v));
}

pub fn put_u16_list(out: &mut Vec<u8>, v: &[u16]) {
    put_prefixed(out, 2, |o| v.iter().for_each(|x| put_u16(o, *x)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        let mut out = Vec::new();
        put_u8(&mut out, 7);
        put_u16(&mut out, 0xfefd);
        put_u24(&mut out, 0x0a0b0c);
        put_u48(&mut out, 0x0102_0304_0506);
        put_vec16(&mut out, b"abc");
        put_u16_list(&mut out, &[1, 2]);
        let mut r = Reader::new(&out);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0xfefd));
        assert_eq!(r.u24(), Ok(0x0a0b0c));
        assert_eq!(r.u48(), Ok(0x0102_0304_0506));
        assert_eq!(r.vec16(), Ok(&b"abc"[..]));
        assert_eq!(r.u16_list(), Ok(vec![1, 2]));
        assert!(r.finish("test").is_ok());
    }

    #[test]
    fn short_input_is_an_error() {
        assert_eq!(Reader::new(&[1]).u16(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0, 5, 1]).vec16(), Err(DecodeError::Truncated));
        assert_eq!(
            Reader::new(&[0, 3, 1, 2, 3]).u16_list(),
            Err(DecodeError::Invalid("u16 list length"))
        );
    }
}

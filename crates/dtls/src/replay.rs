//! Anti-replay sliding window (RFC 6347 §4.1.2.6, after RFC 4303 §3.4.3).

const WINDOW: u64 = 64;

#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// Highest sequence number accepted so far, if any.
    max: Option<u64>,
    /// Bit i set = `max - i` was received.
    bitmap: u64,
}

impl ReplayWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a record with `seq` may be new. Check before decrypting, `mark` after the
    /// record authenticates (so forged records cannot move the window).
    pub fn check(&self, seq: u64) -> bool {
        match self.max {
            None => true,
            Some(max) if seq > max => true,
            Some(max) => {
                let back = max - seq;
                back < WINDOW && self.bitmap & (1 << back) == 0
            }
        }
    }

    pub fn mark(&mut self, seq: u64) {
        match self.max {
            None => {
                self.max = Some(seq);
                self.bitmap = 1;
            }
            Some(max) if seq > max => {
                let shift = seq - max;
                self.bitmap = if shift >= WINDOW {
                    0
                } else {
                    self.bitmap << shift
                };
                self.bitmap |= 1;
                self.max = Some(seq);
            }
            Some(max) => {
                let back = max - seq;
                if back < WINDOW {
                    self.bitmap |= 1 << back;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_and_too_old() {
        let mut w = ReplayWindow::new();
        for s in [5, 3, 7, 100] {
            assert!(w.check(s));
            w.mark(s);
            assert!(!w.check(s));
        }
        assert!(!w.check(7), "still inside the window and seen");
        assert!(w.check(99));
        assert!(!w.check(100 - 64), "fell out of the window");
        assert!(w.check(100 - 63));
        w.mark(1000);
        assert!(!w.check(100));
        assert!(w.check(1001));
    }
}

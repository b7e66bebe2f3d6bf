//! The clock: turns the page's `performance.now()` milliseconds into `std::time::Instant`s for
//! the engine.
//!
//! On wasm32-unknown-unknown std's clock read panics and std offers no other constructor, so this
//! module holds the project's single audited `unsafe` conversion: the zero `Instant` made from a
//! zero `Duration`. Every other `Instant` is that zero plus a `Duration`, with std's own checked
//! arithmetic. The conversion is sound only while std represents `Instant` on this target as a
//! `Duration` since an arbitrary origin (library/std/src/sys/pal/unsupported/time.rs); the size
//! assertion below fails the build if that layout ever changes, and `tests/clock.rs` checks the
//! arithmetic inside real browsers.

use std::time::{Duration, Instant};

#[cfg(target_arch = "wasm32")]
const _: () = assert!(std::mem::size_of::<Instant>() == std::mem::size_of::<Duration>());

/// The `Instant` that stands for `performance.now() == 0` (the page's time origin).
#[cfg(target_arch = "wasm32")]
fn origin() -> Instant {
    // SAFETY: on wasm32-unknown-unknown `Instant` is `struct Instant(Duration)` (checked by the
    // size assertion above); an all-zero `Duration` is a valid value of it.
    unsafe { std::mem::transmute::<Duration, Instant>(Duration::ZERO) }
}

/// Natively (unit tests of this crate) the origin is the first time anyone asks.
#[cfg(not(target_arch = "wasm32"))]
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// The `Instant` for a `performance.now()` reading in milliseconds. Negative, NaN and infinite
/// readings (never produced by a browser, but this is an API edge) clamp to the origin or to the
/// largest representable offset instead of panicking.
pub fn instant_from_ms(ms: f64) -> Instant {
    let ms = if ms.is_finite() {
        ms.max(0.0)
    } else if ms > 0.0 {
        MAX_MS
    } else {
        0.0
    };
    let ms = ms.min(MAX_MS);
    // `from_secs_f64` cannot panic here: the input is finite, non-negative and bounded.
    origin() + Duration::from_secs_f64(ms / 1000.0)
}

/// The `performance.now()` milliseconds for an engine `Instant` (for the next timer).
pub fn ms_from_instant(instant: Instant) -> f64 {
    instant.saturating_duration_since(origin()).as_secs_f64() * 1000.0
}

/// About 285 years: far beyond any page's lifetime, far below `Duration`'s limits.
const MAX_MS: f64 = 9.0e12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_milliseconds() {
        for ms in [0.0, 0.001, 1.0, 16.6, 1234.5678, 86_400_000.0] {
            let back = ms_from_instant(instant_from_ms(ms));
            assert!((back - ms).abs() < 1e-6, "{ms} -> {back}");
        }
    }

    #[test]
    fn differences_are_exact_durations() {
        let a = instant_from_ms(1000.0);
        let b = instant_from_ms(1500.25);
        assert_eq!(b - a, Duration::from_micros(500_250));
        assert!(b > a);
    }

    #[test]
    fn bad_readings_clamp() {
        assert_eq!(instant_from_ms(-5.0), instant_from_ms(0.0));
        assert_eq!(instant_from_ms(f64::NAN), instant_from_ms(0.0));
        assert_eq!(instant_from_ms(f64::INFINITY), instant_from_ms(MAX_MS));
    }
}

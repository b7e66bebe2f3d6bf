//! Length-prefixed datagrams into a server endpoint (see `polyrtc_dtls::fuzz::server_handshake`).
#![no_main]

// Test-only: cargo-fuzz (scripts/fuzz.sh) is the one builder of this target and sets
// `--cfg fuzzing`; it builds natively with sanitizers, never for wasm32, so the base time below
// can come from the real clock. Anything else building it is refused at compile time.
#[cfg(not(fuzzing))]
compile_error!("a cargo-fuzz target: build it with `cargo +nightly fuzz` (scripts/fuzz.sh)");

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use polyrtc_dtls::{Certificate, Config, KeyAlgorithm};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Key generation would dominate every run: make the certificate once.
fn certificate() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        Certificate::generate(KeyAlgorithm::EcdsaP256, &mut rng, 1_795_564_800_000, 86_400_000)
            .unwrap()
    })
}

/// The time every input starts at: read once per fuzzing process; the endpoint only ever sees
/// it (and the offsets the input adds) as a parameter.
fn base_time() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    polyrtc_dtls::fuzz::server_handshake(
        Config::new(certificate().clone()),
        ChaCha20Rng::seed_from_u64(2),
        base_time(),
        data,
    );
});

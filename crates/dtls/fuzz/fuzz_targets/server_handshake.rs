//! Length-prefixed datagrams into a server endpoint (see `polyrtc_dtls::fuzz::server_handshake`).
#![no_main]

// A native measuring/fuzzing tool: it reads the real clock, which panics on wasm32. Refuse to
// build there rather than trap at run time.
#[cfg(target_arch = "wasm32")]
compile_error!("native only: this harness reads the system clock");

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

fuzz_target!(|data: &[u8]| {
    // Only the harness reads the clock; the endpoint sees it as an input.
    polyrtc_dtls::fuzz::server_handshake(
        Config::new(certificate().clone()),
        ChaCha20Rng::seed_from_u64(2),
        Instant::now(),
        data,
    );
});

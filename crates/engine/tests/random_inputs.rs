//! Random and mutated SDP / candidate strings never panic (a panic would trap the wasm
//! instance). A small deterministic generator stands in for proptest.

mod common;
use common::*;
use polyrtc_engine::*;
use std::time::Instant;

/// xorshift64*: deterministic, no dependencies.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "\r\n",
    "\n",
    " ",
    ":",
    "/",
    "=",
    "a=",
    "m=",
    "0",
    "65536",
    "-1",
    "99999999999999999999",
    "\u{0}",
    "é",
    "🙂",
    "a=mid:",
    "a=rtpmap:",
    "a=fmtp:",
    "a=candidate:",
    "a=setup:",
    "a=group:BUNDLE ",
    "a=extmap:",
    "typ",
    "host",
];

fn mutate(g: &mut Gen, base: &str) -> String {
    let mut s: Vec<char> = base.chars().collect();
    for _ in 0..=g.below(8) {
        match g.below(4) {
            0 if !s.is_empty() => {
                let i = g.below(s.len());
                let len = g.below(20).min(s.len() - i);
                s.drain(i..i + len);
            }
            1 => {
                let i = g.below(s.len() + 1);
                let piece = PIECES[g.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    s.insert(i + k, c);
                }
            }
            2 if !s.is_empty() => {
                let i = g.below(s.len());
                s[i] = char::from(g.below(128) as u8);
            }
            _ if s.len() > 2 => {
                // Duplicate a slice (repeats lines and sections).
                let i = g.below(s.len());
                let j = (i + g.below(200)).min(s.len());
                let chunk: Vec<char> = s[i..j].to_vec();
                let at = g.below(s.len());
                s.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    s.into_iter().collect()
}

fn seeds() -> Vec<String> {
    let (mut a, mut b) = (pc(1), pc(2));
    add_track(&mut a, "t", MediaKind::Video, &["s"]);
    add_track(&mut a, "u", MediaKind::Audio, &[]);
    channel(&mut a, "c", dc_init()).unwrap();
    let o = offer(&mut a);
    sld(&mut a, &o).unwrap();
    srd(&mut b, &o).unwrap();
    let ans = answer(&mut b);
    vec![
        o.sdp,
        ans.sdp,
        include_str!("fixtures/chromium_offer.sdp").to_string(),
        include_str!("fixtures/firefox_offer.sdp").to_string(),
    ]
}

#[test]
fn mutated_sdp_never_panics() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let seeds = seeds();
    let now = Instant::now();
    // POLYRTC_RANDOM_ITERS=100000 for a longer local run.
    let iters = std::env::var("POLYRTC_RANDOM_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    for i in 0..iters {
        let text = mutate(&mut g, &seeds[i % seeds.len()]);
        fuzz_entry::sdp_parse(text.as_bytes());
        let mut b = pc(3);
        fuzz_entry::remote_offer(text.as_bytes(), &mut b, now);
        // As an answer to a real offer too.
        let mut a = pc(4);
        add_track(&mut a, "t", MediaKind::Audio, &[]);
        channel(&mut a, "c", dc_init()).unwrap();
        let o = offer(&mut a);
        sld(&mut a, &o).unwrap();
        let _ = srd(&mut a, &desc(SdpType::Answer, &text));
        let _ = call(
            &mut a,
            ApiCall::AddIceCandidate {
                candidate: Some(IceCandidateInit {
                    candidate: mutate(&mut g, "candidate:1 1 udp 1 1.2.3.4 5 typ host"),
                    sdp_mid: Some("0".into()),
                    ..Default::default()
                }),
            },
        );
        a.snapshot();
    }
}

#[test]
fn random_candidates_never_panic() {
    let mut g = Gen(42);
    let base = "candidate:842163049 1 udp 1677729535 192.0.2.3 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0 ufrag EsAw";
    for _ in 0..5000 {
        let text = mutate(&mut g, base);
        fuzz_entry::candidate_parse(text.as_bytes());
    }
    let mut bytes = vec![0u8; 64];
    for _ in 0..2000 {
        for b in bytes.iter_mut() {
            *b = g.next() as u8;
        }
        fuzz_entry::candidate_parse(&bytes);
        fuzz_entry::sdp_parse(&bytes);
    }
}

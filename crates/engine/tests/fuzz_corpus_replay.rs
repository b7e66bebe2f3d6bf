//! Runs every file of the cargo-fuzz seed corpus (and any crash reproducers added there)
//! through the same entry points as the fuzz targets, on stable.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let path = entry.expect("readable entry").path();
        if path.is_file() {
            f(&std::fs::read(&path).expect("readable corpus file"));
            n += 1;
        }
    }
    n
}

#[test]
fn sdp_parse_corpus() {
    assert!(replay("sdp_parse", polyrtc_engine::fuzz_entry::sdp_parse) > 0);
}

#[test]
fn candidate_parse_corpus() {
    assert!(
        replay(
            "candidate_parse",
            polyrtc_engine::fuzz_entry::candidate_parse
        ) > 0
    );
}

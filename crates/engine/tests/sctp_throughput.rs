//! Wall-clock cost of the SCTP stack: 50 MB through two transports in memory, no loss.
//! `cargo test --release -p polyrtc-engine sctp_throughput -- --ignored --nocapture`

mod sctp_common;

use sctp_common::Net;
use std::time::{Duration, Instant};

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn sctp_throughput() {
    let mut net = Net::with_bulk_channel(Duration::from_millis(1), 1);
    const MESSAGE: usize = 64 * 1024;
    const TOTAL_BYTES: usize = 50 * 1000 * 1000;
    let message = vec![0x5a; MESSAGE];
    let mut sent = 0;
    let mut received = 0;
    let wall = Instant::now();
    let start = net.now;
    let ok = net.run_until(Duration::from_secs(3600), |n| {
        while sent < TOTAL_BYTES && n.a.buffered_amount(0) < 4 * 1024 * 1024 {
            let now = n.now;
            n.a.send(now, 0, &message, true).unwrap();
            sent += MESSAGE;
        }
        received += n
            .take_messages(true)
            .iter()
            .map(|(_, d, _)| d.len())
            .sum::<usize>();
        received >= TOTAL_BYTES
    });
    assert!(ok);
    let secs = wall.elapsed().as_secs_f64();
    let simulated = (net.now - start).as_secs_f64();
    println!(
        "sctp_throughput: {} MB in {secs:.2} s wall = {:.1} MB/s (simulated {simulated:.2} s = {:.1} MB/s at 2 ms RTT), {} packets",
        received / 1_000_000,
        received as f64 / 1e6 / secs,
        received as f64 / 1e6 / simulated,
        net.packets_sent
    );
}

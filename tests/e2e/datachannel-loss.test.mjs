// 10 MB each way at once on an ordered reliable data channel through a polyrtc-relay that drops
// 5%, holds back 5% and duplicates 1% of relayed datagrams (`--test-impair`), polyfill↔polyfill
// and polyfill↔native Chromium in one page (tests/pages/datachannel-robust.js): complete, in
// order, every 16 KiB chunk checked by sequence number and content, flow-controlled by
// bufferedamountlow; the time is printed. Slow by nature (SCTP congestion control under 5% loss):
// a file of its own. Loopback only: run inside scripts/netns.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useRobustPage } from "./robust-page.mjs";

const IMPAIRMENT = "loss=0.05,reorder=0.05,duplicate=0.01,seed=7";
const TEN_MB = 10 * 1024 * 1024;

const robust = useRobustPage(["--test-impair", IMPAIRMENT]);
const { run, iceServer, healthy } = robust;

// polyfill↔polyfill (both ends in this page, rtc-sctp on both) used to take 132–165 s for 10 MB
// each way on the 2-core box, against 39–61 s polyfill↔native: after a T3-rtx timeout rtc-sctp's
// congestion window dropped to one packet and a lost SACK or retransmission waited for the next,
// doubled timeout (RTO min 1 s, max 60 s). The vendored rtc-sctp (vendor/rtc-sctp/POLYRTC.md)
// uses Chromium's timer values and fast-retransmits retransmitted chunks again; three runs on the
// loaded 2-core box (2026-11-26): polyfill↔polyfill 36–51 s (both directions at once),
// polyfill→native 12.5–13.7 s, native→polyfill 17–68 s; the whole file 78–126 s.

for (const kindB of ["polyfill", "native"]) {
  const name = `10 MB each way through 5% loss, reordering and duplication: polyfill ↔ ${kindB}`;
  test(name, async () => {
    const serial = await healthy();
    const dropped0 = await robust.relay.metric("turn_test_impaired_dropped_total");
    const r = await run("bulk", "polyfill", kindB, iceServer(), TEN_MB);
    assert.equal(r.failed, undefined, JSON.stringify(r));
    for (const [dir, s] of [
      ["polyfill → " + kindB, r.aToB],
      [kindB + " → polyfill", r.bToA],
    ]) {
      assert.deepEqual(s.errors, [], `${dir}: every chunk in order and intact`);
      assert.equal(s.bytes, TEN_MB, `${dir}: every byte`);
      assert.ok(s.maxBuffered <= 2 * 1024 * 1024, `${dir}: flow control held ${s.maxBuffered}`);
      console.log(`# ${dir}: 10 MB in ${(s.ms / 1000).toFixed(1)} s under ${IMPAIRMENT}`);
    }
    const dropped = (await robust.relay.metric("turn_test_impaired_dropped_total")) - dropped0;
    const reordered = await robust.relay.metric("turn_test_impaired_reordered_total");
    const duplicated = await robust.relay.metric("turn_test_impaired_duplicated_total");
    console.log(
      `# relay dropped ${dropped} datagrams in this run (${reordered} held back, ${duplicated} duplicated so far)`,
    );
    // 20 MB is over 14,000 datagrams: 5% of them is hundreds.
    assert.ok(dropped > 300, `the relay really dropped datagrams: ${dropped}`);
    await healthy(serial);
  });
}

// The demo page works as a person would use it: it loads, reports the polyfill installed, and
// negotiating two peers in the page shows both reaching "stable", with the offer's SDP on screen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser } from "./harness.mjs";

test("demo page: polyfill installed, two peers negotiate to stable", async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/`); // redirects to /www/
    await page.waitForFunction(
      () => !/loading/.test(document.getElementById("status").textContent),
    );
    assert.match(await page.textContent("#status"), /polyrtc installed/);
    await page.click("#negotiate");
    await page.waitForFunction(() =>
      /negotiated:/.test(document.getElementById("log").textContent),
    );
    const log = await page.textContent("#log");
    assert.match(log, /negotiated: A stable, B stable/);
    assert.match(log, /A: signalingstatechange have-local-offer/);
    assert.match(log, /B: signalingstatechange have-remote-offer/);
    assert.match(
      await page.textContent("#sdp"),
      /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/,
    );
    assert.equal(await page.textContent("#state-a td"), "stable");
    if (process.env.POLYRTC_SCREENSHOT)
      await page.screenshot({
        path: process.env.POLYRTC_SCREENSHOT,
        fullPage: true,
      });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

// `import "polyrtc/auto"`: load the engine and install on import (top-level await, so the
// classes are usable by the next line of the importing module). The mode comes from
// `<meta name="polyrtc-mode" content="missing|force|probe">` (default "missing"); the relay from
// `<meta name="polyrtc-relay" content="wss://...">` or the connections' iceServers.

import { install, ready } from "./index.js";

const doc = /** @type {any} */ (globalThis).document;
const metaMode = doc?.querySelector?.('meta[name="polyrtc-mode"]')?.getAttribute("content")?.trim();
const mode = metaMode === "force" || metaMode === "probe" ? metaMode : "missing";

/** @type {{ installed: boolean, mode: "missing" | "force" | "probe", error?: unknown }} */
let result;
try {
  await ready;
  result = await install({ mode });
} catch (error) {
  // A page whose native WebRTC works must not break because the wasm could not load.
  console.error("polyrtc: not installed:", error);
  result = { installed: false, mode, error };
}

/** What the automatic install did. */
export const installation = result;
export * from "./index.js";

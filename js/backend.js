// Loads the wasm engine and contains traps. A Rust panic aborts as a WebAssembly trap
// (`WebAssembly.RuntimeError`) and leaves that instance's memory untrustworthy, so: one shared
// live instance plus a warm spare, each a separate copy of the wasm-bindgen glue (imported with
// its own query string, hence its own module record and `wasm` variable) initialised from one
// compiled module. On a trap only the connections living in the trapped instance fail.

import { toError } from "./errors.js";

const GLUE_URL = new URL("../dist/wasm/polyrtc.js", import.meta.url);
const WASM_URL = new URL("../dist/wasm/polyrtc_bg.wasm", import.meta.url);

/**
 * Something that lives in one instance and must hear when that instance traps.
 * @typedef {{ onBackendTrap(error: unknown): void }} BackendClient
 */

export class BackendInstance {
  /** @param {any} glue @param {number} serial @param {any} exports */
  constructor(glue, serial, exports) {
    /** The glue module namespace (PeerConnectionHandle, generateCertificate, ...). */
    this.glue = glue;
    /** The raw wasm exports (`memory`, for the memory benchmark). */
    this.exports = exports;
    this.serial = serial;
    this.dead = false;
    /** @type {Set<BackendClient>} */
    this.clients = new Set();
  }
}

let serial = 0;
/** @type {Promise<WebAssembly.Module> | null} */
let compiled = null;
/** @type {BackendInstance | null} */
let live = null;
/** @type {BackendInstance | null} */
let spare = null;
/** @type {Promise<BackendInstance> | null} */
let warming = null;

const isNode = typeof (/** @type {any} */ (globalThis).process?.versions?.node) === "string";

/** @param {URL} url */
async function compileModule(url) {
  if (url.protocol === "file:" && isNode) {
    // @ts-ignore: Node only (no @types/node needed for the browser build).
    const fs = await import("node:fs/promises");
    return WebAssembly.compile(await fs.readFile(url));
  }
  if (typeof WebAssembly.compileStreaming === "function") {
    try {
      return await WebAssembly.compileStreaming(fetch(url));
    } catch {
      // Served without `application/wasm`: fall back to compiling the bytes.
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`polyrtc: cannot load ${url} (HTTP ${response.status})`);
  return WebAssembly.compile(await response.arrayBuffer());
}

async function createInstance() {
  const n = ++serial;
  compiled ??= compileModule(WASM_URL);
  const url = new URL(GLUE_URL);
  url.searchParams.set("instance", String(n));
  const [glue, module] = await Promise.all([import(url.href), compiled]);
  const exports = glue.initSync({ module });
  return new BackendInstance(glue, n, exports);
}

function warmSpare() {
  if (spare || warming) return;
  warming = createInstance();
  warming.then(
    (instance) => {
      spare = instance;
      warming = null;
    },
    (e) => {
      warming = null;
      console.warn("polyrtc: could not prepare a spare WebAssembly instance", e);
    },
  );
}

/** Resolves when the first instance is loaded (rejects if the wasm cannot be loaded). */
export const ready = createInstance().then((instance) => {
  live = instance;
  warmSpare();
  return undefined;
});
// The page may never await `ready` (e.g. native WebRTC is used): no unhandled rejection then.
ready.catch(() => {});

/** The instance new connections use; throws while none is loaded. */
export function liveInstance() {
  if (live && !live.dead) return live;
  throw new DOMException(
    live
      ? "polyrtc: the WebAssembly engine is restarting after a crash; try again shortly"
      : "polyrtc: the WebAssembly engine is not loaded yet (await ready)",
    "InvalidStateError",
  );
}

/** Whether an instance is loaded (the classes can be constructed). */
export function isReady() {
  return live !== null;
}

/**
 * Run `fn(glue)` against `instance`, turning engine errors into JS exceptions and a trap into
 * the failure of every client of that instance plus an OperationError for this caller.
 * @template T
 * @param {BackendInstance} instance
 * @param {(glue: any) => T} fn
 * @returns {T}
 */
export function invoke(instance, fn) {
  if (instance.dead) {
    throw new DOMException("polyrtc: the WebAssembly engine instance crashed", "OperationError");
  }
  try {
    return fn(instance.glue);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      handleTrap(instance, e);
      throw new DOMException(
        `polyrtc: the WebAssembly engine crashed (${e.message})`,
        "OperationError",
      );
    }
    throw toError(e);
  }
}

/**
 * @param {BackendInstance} instance
 * @param {unknown} error
 */
function handleTrap(instance, error) {
  if (instance.dead) return;
  instance.dead = true;
  console.error(
    `polyrtc: WebAssembly instance #${instance.serial} trapped; failing its ${instance.clients.size} connection(s)`,
    error,
  );
  if (live === instance) {
    live = spare;
    spare = null;
    if (!live) {
      // No spare was ready: new connections wait for the next instance.
      const next = warming ?? createInstance();
      warming = null;
      next.then(
        (i) => {
          live ??= i;
          warmSpare();
        },
        (e) => console.error("polyrtc: could not restart the WebAssembly engine", e),
      );
    } else {
      warmSpare();
    }
  } else if (spare === instance) {
    spare = null;
    warmSpare();
  }
  const clients = [...instance.clients];
  instance.clients.clear();
  for (const client of clients) {
    try {
      client.onBackendTrap(error);
    } catch (e) {
      console.error(e);
    }
  }
}

/** @type {WeakMap<BackendInstance, any>} */
const scratchHandles = new WeakMap();

/**
 * Parse a candidate line (engine IceCandidateInfo) for the RTCIceCandidate constructor: the
 * glue's `parseCandidate` where it has one, else the `parseCandidate` op on a scratch handle.
 * @param {{ candidate: string, sdpMid: string | null, sdpMLineIndex: number | null,
 *   usernameFragment: string | null }} init
 */
export function parseCandidate(init) {
  const instance = liveInstance();
  return invoke(instance, (glue) => {
    if (typeof glue.parseCandidate === "function") return glue.parseCandidate(init);
    let handle = scratchHandles.get(instance);
    if (!handle) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      handle = new glue.PeerConnectionHandle({}, seed, performance.now(), Date.now());
      scratchHandles.set(instance, handle);
    }
    return handle.call({ op: "parseCandidate", candidate: init }, performance.now(), Date.now())
      .candidate;
  });
}

/** Test hooks: not part of the public API. */
export const testing = {
  /** Panic inside the live instance (the call throws an OperationError). */
  trap() {
    const instance = liveInstance();
    invoke(instance, (glue) => glue.__trap());
  },
  /** Serial number of the live instance (changes after a trap). */
  get liveSerial() {
    return live?.serial ?? 0;
  },
  get spareReady() {
    return spare !== null;
  },
  /** The live instance's glue module (`__TestTransport`, `__TestTimer`, `__wakeAfterInput`). */
  get glue() {
    return liveInstance().glue;
  },
  /** Bytes of the live instance's WebAssembly.Memory (bench/datachannel.mjs). */
  get memoryBytes() {
    return liveInstance().exports?.memory?.buffer?.byteLength ?? null;
  },
};

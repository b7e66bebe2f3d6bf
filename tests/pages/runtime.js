// In-page runtime for the comparison tests: builds the two environments (native, polyfill), runs
// a scenario against one of them and returns its trace. A trace is a list of JSON values the
// scenario recorded through `t`; only `trace` and `streams` are compared, `debug` (messages,
// stacks) is there for humans reading a failure.

export const CLASS_NAMES = [
  "RTCPeerConnection",
  "RTCSessionDescription",
  "RTCIceCandidate",
  "RTCDataChannel",
  "RTCRtpSender",
  "RTCRtpReceiver",
  "RTCRtpTransceiver",
  "RTCCertificate",
  "RTCPeerConnectionIceEvent",
  "RTCPeerConnectionIceErrorEvent",
  "RTCDataChannelEvent",
  "RTCTrackEvent",
  "RTCSctpTransport",
  "RTCDtlsTransport",
  "RTCIceTransport",
  "RTCError",
  "RTCErrorEvent",
  "RTCStatsReport",
  "RTCDTMFSender",
  "RTCDTMFToneChangeEvent",
];

export function nativeEnv(g = globalThis) {
  const env = { name: "native" };
  for (const n of CLASS_NAMES) env[n] = g[n];
  env.MediaStream = g.MediaStream;
  env.MediaStreamTrack = g.MediaStreamTrack;
  return env;
}

export function polyfillEnv(P, g = globalThis) {
  const env = { name: "polyfill" };
  for (const n of CLASS_NAMES) env[n] = P[n];
  // The polyfill may bring its own MediaStream where the platform lacks one; here the platform
  // has it, and fake-device tracks are native MediaStreamTracks either way.
  env.MediaStream = P.MediaStream ?? g.MediaStream;
  env.MediaStreamTrack = P.MediaStreamTrack ?? g.MediaStreamTrack;
  env.P = P;
  return env;
}

/** Error descriptor that both implementations must agree on (no messages). */
export function describeError(e) {
  if (e === undefined || e === null) return { thrown: String(e) };
  const d = { name: e?.name };
  if (typeof DOMException !== "undefined" && e instanceof DOMException) d.kind = "DOMException";
  else if (e instanceof TypeError) d.kind = "TypeError";
  else if (e instanceof RangeError) d.kind = "RangeError";
  else if (e instanceof SyntaxError) d.kind = "SyntaxError(js)";
  else if (e instanceof Error) d.kind = "Error";
  else d.kind = typeof e;
  return d;
}

const DEFAULT_DETAIL = {
  signalingstatechange: (e, tg) => tg.signalingState,
  negotiationneeded: (e, tg) => tg.signalingState,
  icegatheringstatechange: (e, tg) => tg.iceGatheringState,
  iceconnectionstatechange: (e, tg) => tg.iceConnectionState,
  connectionstatechange: (e, tg) => tg.connectionState,
  icecandidate: (e) =>
    e.candidate === null ? null : e.candidate.candidate === "" ? "" : "candidate",
  icecandidateerror: (e) => ({ errorCode: e.errorCode }),
  track: (e) => ({
    kind: e.track?.kind,
    streams: e.streams?.length,
    mid: e.transceiver?.mid ?? null,
    receiverIsTransceivers: e.receiver === e.transceiver?.receiver,
  }),
  datachannel: (e) => ({
    label: e.channel?.label,
    readyState: e.channel?.readyState,
  }),
  open: (e, tg) => tg.readyState,
  close: (e, tg) => tg.readyState,
  closing: (e, tg) => tg.readyState,
  error: (e, tg) => tg.readyState,
  message: (e) => (typeof e.data === "string" ? e.data : "<binary>"),
  statechange: (e, tg) => tg.state,
  bufferedamountlow: (e, tg) => tg.bufferedAmount,
};

export function makeT(env, { timeoutMs = 15000 } = {}) {
  const trace = [];
  const streams = {};
  const debug = [];
  const pcs = [];
  const tracks = [];
  let done = false;

  const sink = (stream) => {
    if (!stream) return trace;
    streams[stream] ??= [];
    return streams[stream];
  };

  const t = {
    env,
    trace,
    streams,
    debug,
    timeoutMs,
    get done() {
      return done;
    },
    /** Record one fact. */
    log(...items) {
      if (done) return;
      trace.push(items.length === 1 ? items[0] : items);
    },
    /** Record into a named stream (ordering only compared within the stream). */
    logTo(stream, ...items) {
      if (done) return;
      sink(stream).push(items.length === 1 ? items[0] : items);
    },
    note(...x) {
      debug.push(x.map((v) => (typeof v === "string" ? v : safeJson(v))).join(" "));
    },
    err: describeError,
    /**
     * Record every listed event on `target` as it fires: [label.event, detail-at-dispatch].
     * opts.stream: record into a separate stream; opts.detail: {event: (e, target) => value}.
     */
    events(target, names, { label = "pc", stream, detail = {}, handler = false } = {}) {
      for (const name of names) {
        const fn = (e) => {
          if (done) return;
          const d = (detail[name] ?? DEFAULT_DETAIL[name])?.(e, target);
          sink(stream).push(d === undefined ? `${label}.${name}` : [`${label}.${name}`, d]);
        };
        if (handler) target["on" + name] = fn;
        else target.addEventListener(name, fn);
      }
      return target;
    },
    /**
     * Call fn (sync or async) and record [label, "ok", map(result)] or [label, how, error]
     * where how is "throw" (synchronous) or "reject". Returns the result (undefined on error).
     */
    async attempt(label, fn, map) {
      let r;
      try {
        r = fn();
      } catch (e) {
        t.note(label, "threw", String(e?.message ?? e));
        t.log([label, "throw", describeError(e)]);
        return undefined;
      }
      if (r && typeof r.then === "function") {
        try {
          const v = await r;
          t.log(map ? [label, "ok", map(v)] : [label, "ok"]);
          return v;
        } catch (e) {
          t.note(label, "rejected", String(e?.message ?? e));
          t.log([label, "reject", describeError(e)]);
          return undefined;
        }
      }
      t.log(map ? [label, "ok", map(r)] : [label, "ok"]);
      return r;
    },
    /** Let queued tasks (events) run. */
    flush(ms = 40) {
      return new Promise((r) => setTimeout(r, ms));
    },
    /** Wait until pred() is true (polling), recording a timeout fact if it never is. */
    async until(label, pred, ms = 8000) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        if (pred()) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      t.log([label, "timeout"]);
      return false;
    },
    /** Resolve when `target` fires `name` (or reject after ms). */
    once(target, name, ms = 8000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timeout waiting for ${name}`)), ms);
        target.addEventListener(
          name,
          (e) => {
            clearTimeout(timer);
            resolve(e);
          },
          { once: true },
        );
      });
    },
    /** A peer connection of this env, closed when the scenario ends. */
    pc(config) {
      const pc =
        config === undefined ? new env.RTCPeerConnection() : new env.RTCPeerConnection(config);
      pcs.push(pc);
      return pc;
    },
    /** Register a peer connection made elsewhere, to be closed when the scenario ends. */
    own(pc) {
      pcs.push(pc);
      return pc;
    },
    /** Fake-device media (needs --use-fake-device-for-media-stream). */
    async media(constraints = { audio: true, video: true }) {
      const s = await navigator.mediaDevices.getUserMedia(constraints);
      for (const tr of s.getTracks()) tracks.push(tr);
      return s;
    },
    async track(kind) {
      const s = await t.media({ [kind]: true });
      return s.getTracks()[0];
    },
    /** Full offer/answer between a (offerer) and b; returns nothing, records nothing. */
    async negotiate(a, b, offerOptions) {
      const offer = await a.createOffer(offerOptions);
      await a.setLocalDescription(offer);
      await b.setRemoteDescription(a.localDescription);
      const answer = await b.createAnswer();
      await b.setLocalDescription(answer);
      await a.setRemoteDescription(b.localDescription);
    },
    async finish() {
      done = true;
      for (const pc of pcs) {
        try {
          pc.close();
        } catch {
          /* ignore */
        }
      }
      for (const tr of tracks) tr.stop();
    },
  };
  return t;
}

export function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** m-line kinds of an SDP, e.g. ["audio","video","application"]. */
export function mlineKinds(sdp) {
  return (sdp ?? "")
    .split(/\r?\n/)
    .filter((l) => l.startsWith("m="))
    .map((l) => l.slice(2).split(" ")[0]);
}

/** Directions per m-section (a=sendrecv etc.). */
export function mlineDirections(sdp) {
  const out = [];
  for (const sec of (sdp ?? "").split(/\r?\nm=/).slice(1)) {
    const m = sec.match(/\r?\na=(sendrecv|sendonly|recvonly|inactive)/);
    out.push(m ? m[1] : null);
  }
  return out;
}

/** a=mid values in m-line order. */
export function mids(sdp) {
  return (sdp ?? "")
    .split(/\r?\nm=/)
    .slice(1)
    .map((sec) => sec.match(/\r?\na=mid:(\S+)/)?.[1] ?? null);
}

/** Run scenario `fn` against `env` with a timeout; never throws. */
export async function runScenario(fn, env, timeoutMs = 15000) {
  const t = makeT(env, { timeoutMs });
  let timer;
  try {
    await Promise.race([
      Promise.resolve().then(() => fn(env, t)),
      new Promise((_, rej) => {
        timer = setTimeout(
          () =>
            rej(
              Object.assign(new Error("scenario timeout"), {
                name: "ScenarioTimeout",
              }),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (e) {
    t.log({ uncaught: describeError(e) });
    t.note("uncaught", String(e?.stack ?? e));
  } finally {
    clearTimeout(timer);
    await t.finish();
  }
  // Let close()-triggered tasks drain before the next scenario starts.
  await new Promise((r) => setTimeout(r, 10));
  return { trace: t.trace, streams: t.streams, debug: t.debug };
}

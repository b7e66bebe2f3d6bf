// The per-connection machinery behind RTCPeerConnection: the engine handle, its snapshot and the
// attribute mirrors, the operations chain, the negotiation-needed flag, event dispatch in the
// spec's tasks, the engine timer, the JS objects kept per engine id, and trap handling.
// JS owns events and promises; the engine owns state.

import { invoke } from "./backend.js";
import { closedError, domError } from "./errors.js";
import { fireEngineEvent, flushAddStream } from "./engine-events.js";
import { RTCDataChannel, channelInternals } from "./data-channel.js";
import { RTCRtpSender, RTCRtpReceiver, RTCRtpTransceiver } from "./rtp.js";
import { RTCIceTransport, RTCDtlsTransport, RTCSctpTransport } from "./transports.js";
import { statsReportFromEngine } from "./stats.js";
import { createRemoteTrack, setRemoteTrackMuted } from "./tracks.js";
import { INTERNAL, queueTask } from "./webidl.js";

/** Events an operation produces that fire in the operation's own task, before it resolves. */
const IN_OPERATION_TASK = new Set(["signalingstatechange", "track", "trackremoved"]);

/** Poll interval used only while the wasm shell offers no wake-up callback (see `wake`). */
const FALLBACK_POLL_MS = 20;

const nextTask = () => new Promise((resolve) => queueTask(() => resolve(undefined)));
const never = () => new Promise(() => {});

/**
 * @typedef {{ run: () => any, resolve: (v: any) => void, reject: (e: any) => void,
 *   stateless: boolean }} Operation
 */

export class ConnectionCore {
  /**
   * @param {EventTarget} pc the RTCPeerConnection
   * @param {import("./backend.js").BackendInstance} instance
   * @param {any} handle PeerConnectionHandle
   * @param {any} configuration the converted configuration (certificate objects, no relay)
   * @param {any} injectedRelay the iceServers entry this shim added for the relay, or null
   */
  constructor(pc, instance, handle, configuration, injectedRelay) {
    this.pc = pc;
    this.instance = instance;
    this.handle = handle;
    this.configuration = configuration;
    this.injectedRelay = injectedRelay;
    /** [[IsClosed]] */
    this.closed = false;
    /** The wasm instance trapped: the connection failed. */
    this.dead = false;
    /** [[Operations]] @type {Operation[]} */
    this.operations = [];
    this.updateNegotiationNeededOnEmptyChain = false;
    /** [[NegotiationNeeded]] */
    this.negotiationNeeded = false;
    /** Returned to stable with the flag set: fire again if negotiation is still needed. */
    this.refireNegotiationNeeded = false;
    this.dataChannelCreated = false;
    /** setRemoteDescription calls on the operations chain that have not finished. */
    this.queuedRemoteDescriptions = 0;
    /** @type {any} */
    this.snapshot = this.#engine((h) => h.snapshot());
    const s = this.snapshot;
    this.mirror = {
      signalingState: s.signalingState,
      iceGatheringState: s.iceGatheringState,
      iceConnectionState: s.iceConnectionState,
      connectionState: s.connectionState,
      iceTransportState: s.iceConnectionState,
      dtlsState: s.dtlsState,
      sctpState: s.sctp?.state ?? "connecting",
    };
    /** @type {RTCIceRole} */
    this.iceRole = "unknown";
    /** RTCIceTransport.getSelectedCandidatePair(), set by `selectedcandidatepairchange`. */
    /** @type {{ local: any, remote: any } | null} */
    this.selectedCandidatePair = null;
    /** @type {any[]} */
    this.remoteCertificates = [];
    /** @type {Map<number, RTCRtpTransceiver>} */
    this.transceivers = new Map();
    /** Last snapshot of each transceiver, kept after the engine drops a stopped one. */
    this.transceiverSnapshots = new Map();
    /** Ids of transceivers that ever had a mid (they keep their transport after close()). */
    this.associated = new Set();
    /** @type {Map<number, RTCDataChannel>} */
    this.channels = new Map();
    /** sendEncodings per transceiver id (no engine op for RTP parameters yet). */
    this.sendEncodings = new Map();
    /** Remote streams created by the events being fired: `addstream` waits for all their tracks. */
    /** @type {MediaStream[]} */
    this.pendingAddStream = [];
    /** close() is running: its final snapshot must not end receiver tracks (Chromium). */
    this.closing = false;
    /** @type {Map<string, MediaStreamTrack>} */
    this.localTracks = new Map();
    /** Streams given to addTrack/addStream, for getLocalStreams. @type {Map<string, MediaStream>} */
    this.localStreams = new Map();
    /** @type {Map<string, MediaStream>} */
    this.remoteStreams = new Map();
    /** Engine events waiting for their own task. @type {any[]} */
    this.deferred = [];
    this.deferredScheduled = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.timerAt = NaN;
    /** @type {RTCIceTransport | null} */
    this.iceTransport = null;
    /** @type {RTCDtlsTransport | null} */
    this.dtlsTransport = null;
    /** @type {RTCSctpTransport | null} */
    this.sctpTransport = null;
    // The shell may tell us when datagrams produced events (optional until it exists).
    this.hasWaker = typeof handle.setWaker === "function";
    if (this.hasWaker) handle.setWaker(() => this.wake());
    instance.clients.add(this);
    this.#syncObjects();
    this.#schedule();
  }

  // --- engine access ---------------------------------------------------------------------------

  /** @template T @param {(handle: any) => T} fn @returns {T} */
  #engine(fn) {
    if (this.dead)
      throw domError(
        "OperationError",
        "polyrtc: the WebAssembly engine of this connection crashed",
      );
    return invoke(this.instance, () => fn(this.handle));
  }

  /**
   * One engine call; afterwards the snapshot is refreshed and new events are routed.
   * @param {any} apiCall
   * @param {"operation" | "sync"} mode "operation": events of the operation's task fire now;
   *   "sync" (a synchronous method): every event waits for its own task.
   */
  call(apiCall, mode = "sync", beforeEvents = (/** @type {any} */ _previous) => {}) {
    return this.#callEngine(
      (h) => h.call(apiCall, performance.now(), Date.now()),
      mode,
      beforeEvents,
    );
  }

  /**
   * `call()` for any handle method.
   * @template T
   * @param {(handle: any) => T} fn
   * @param {"operation" | "sync"} mode
   * @param {(previous: any) => void} beforeEvents
   * @returns {T}
   */
  #callEngine(fn, mode, beforeEvents) {
    const previous = this.snapshot;
    let ok = false;
    try {
      const reply = this.#engine(fn);
      ok = true;
      return reply;
    } finally {
      if (!this.dead && !this.closed) {
        this.#afterEngine(mode, ok ? () => beforeEvents(previous) : () => {});
      }
    }
  }

  /**
   * @param {"operation" | "sync" | "timer"} mode
   * @param {() => void} [beforeEvents] runs after the snapshot refresh, before any event fires
   */
  #afterEngine(mode, beforeEvents = () => {}) {
    let events;
    try {
      const snapshot = this.#engine((h) => h.snapshot());
      // The handle returns the same object when nothing changed (most wake-ups of a transfer).
      if (snapshot !== this.snapshot) {
        this.snapshot = snapshot;
        this.#syncObjects();
      }
      events = /** @type {any[]} */ (this.#engine((h) => h.pollEvents()));
      // A bufferedamount event may fire tasks later, after more send()s: note how much the
      // channel had handed to the engine when its amount was taken.
      for (const ev of events) {
        const channel = ev.type === "bufferedamount" ? this.channels.get(ev.channel) : null;
        if (channel) ev.sentMark = channelInternals.sentTotal(channel);
      }
    } catch (e) {
      if (!this.dead) console.error("polyrtc: engine snapshot failed", e);
      return;
    }
    beforeEvents();
    for (const ev of events) {
      if (mode === "operation" && IN_OPERATION_TASK.has(ev.type)) this.#fire(ev);
      else if (mode === "timer" && this.deferred.length === 0) this.#fire(ev);
      else this.#defer(ev);
    }
    this.#flushAddStream();
    this.#schedule();
  }

  /** @param {any} ev */
  #defer(ev) {
    this.deferred.push(ev);
    if (this.deferredScheduled) return;
    this.deferredScheduled = true;
    const step = () => {
      // One event per task, like the spec's "queue a task to fire ...".
      const next = this.deferred.shift();
      if (next) this.#fire(next);
      if (next?.type !== "track" || this.deferred[0]?.type !== "track") this.#flushAddStream();
      if (this.deferred.length) queueTask(step);
      else this.deferredScheduled = false;
    };
    // Gathering events after setLocalDescription come in a later task, as in browsers.
    setTimeout(step, 0);
  }

  /** The wasm shell's wake-up: something arrived from the network. */
  wake() {
    // A microtask, not a task: it runs as soon as the relay message's handler (the wasm shell)
    // returns, so it never re-enters the engine from inside its own callback, and the events
    // still fire in the task that received them, as a browser's own networking task would fire
    // them. A task hop per direction cost polyfill↔polyfill ~0.2–0.3 ms of round trip
    // (bench/datachannel.sh). One pending wake-up drains everything that arrived before it.
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      if (this.closed || this.dead) return;
      this.#afterEngine("timer");
    });
  }

  /** A wake-up is queued and has not run yet. */
  #wakeQueued = false;

  #schedule() {
    if (this.closed || this.dead) return;
    /** @type {number | undefined} */
    let at;
    try {
      at = this.#engine((h) => h.pollTimeout()) ?? undefined;
    } catch {
      return;
    }
    const s = this.snapshot;
    if (!this.hasWaker && (s.pendingLocalDescription || s.currentLocalDescription)) {
      const poll = performance.now() + FALLBACK_POLL_MS;
      at = at === undefined ? poll : Math.min(at, poll);
    }
    if (at === undefined) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = NaN;
      return;
    }
    // A timer that fires no later than needed stays: the engine takes an early handleTimeout
    // as a no-op and the next #schedule re-arms. SCTP pushes its retransmission deadline later
    // on every acknowledgement, and re-arming the browser timer for each one cost a
    // clearTimeout + setTimeout per message in a transfer.
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.#onTimer(), Math.max(0, at - performance.now()));
  }

  #onTimer() {
    this.timer = null;
    this.timerAt = NaN;
    if (this.closed || this.dead) return;
    try {
      this.#engine((h) => h.handleTimeout(performance.now()));
    } catch (e) {
      if (!this.dead) console.error("polyrtc: handleTimeout failed", e);
      return;
    }
    this.#afterEngine("timer");
  }

  // --- JS objects per engine id ----------------------------------------------------------------

  #syncObjects() {
    for (const t of this.snapshot.transceivers) {
      this.transceiverSnapshots.set(t.id, t);
      if (t.mid != null) this.associated.add(t.id);
      const transceiver = this.transceivers.get(t.id) ?? this.#createTransceiver(t);
      // A stopped transceiver ends its receiver's track (no `ended` event: the UA ended it);
      // Chromium leaves them live when the whole connection closes.
      if (t.stopped && !this.closing && transceiver.receiver.track.readyState === "live") {
        transceiver.receiver.track.stop();
      }
    }
    for (const c of this.snapshot.dataChannels) {
      const channel = this.channels.get(c.handle);
      if (channel) channelInternals.update(channel, c);
    }
  }

  /** @param {any} t TransceiverSnapshot */
  #createTransceiver(t) {
    const sender = new RTCRtpSender(INTERNAL, this, t.id, t.kind);
    const track = createRemoteTrack(t.kind, t.receiverTrackId);
    // Remote tracks are muted until media arrives (the media milestone unmutes them).
    setRemoteTrackMuted(track, true);
    const receiver = new RTCRtpReceiver(INTERNAL, this, t.id, track);
    const transceiver = new RTCRtpTransceiver(INTERNAL, this, t.id, sender, receiver);
    this.transceivers.set(t.id, transceiver);
    return transceiver;
  }

  /** @param {number} id */
  transceiverById(id) {
    const t = this.transceivers.get(id);
    if (!t)
      throw domError("OperationError", `polyrtc: the engine named an unknown transceiver ${id}`);
    return t;
  }

  /** @param {number} id */
  transceiverSnapshot(id) {
    return this.transceiverSnapshots.get(id);
  }

  /** The transceivers the engine still lists, in its order. */
  transceiverList() {
    return this.snapshot.transceivers.map((/** @type {any} */ t) => this.transceiverById(t.id));
  }

  /** @param {string | null | undefined} trackId */
  localTrack(trackId) {
    return trackId == null ? null : (this.localTracks.get(trackId) ?? null);
  }

  /** @param {any} snapshot DataChannelSnapshot */
  channelFor(snapshot) {
    let channel = this.channels.get(snapshot.handle);
    if (!channel) {
      channel = new RTCDataChannel(INTERNAL, this, snapshot);
      this.channels.set(snapshot.handle, channel);
    }
    return channel;
  }

  ice() {
    this.iceTransport ??= new RTCIceTransport(INTERNAL, this);
    return this.iceTransport;
  }

  dtls() {
    this.dtlsTransport ??= new RTCDtlsTransport(INTERNAL, this, this.ice());
    return this.dtlsTransport;
  }

  sctp() {
    if (!this.snapshot.sctp) return null;
    this.sctpTransport ??= new RTCSctpTransport(INTERNAL, this, this.dtls());
    return this.sctpTransport;
  }

  /**
   * Bundled: every transceiver with a mid uses the one DTLS transport. After close() mids read
   * null (Chromium) but the transceivers keep their (closed) transport.
   * @param {number} id
   */
  transportFor(id) {
    const associated = this.transceiverSnapshot(id)?.mid != null;
    return associated || (this.closed && this.associated.has(id)) ? this.dtls() : null;
  }

  // --- operations chain and negotiation-needed -------------------------------------------------

  /**
   * Chain an operation (webrtc-pc §4.4.1.2). The promise stays pending forever if the connection
   * is closed before the operation completes, as the spec says.
   * @param {() => any} run
   * @param {boolean} [stateless] createOffer/createAnswer: changes no signaling state
   */
  chain(run, stateless = false) {
    if (this.closed) return Promise.reject(closedError());
    if (this.dead) return Promise.reject(this.#deadError());
    return new Promise((resolve, reject) => {
      this.operations.push({ run, resolve, reject, stateless });
      if (this.operations.length === 1) this.#runHead();
    });
  }

  #runHead() {
    const op = this.operations[0];
    /** @type {Promise<any>} */
    let p;
    try {
      p = Promise.resolve(op.run());
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (v) => this.#settle(op, true, v),
      (e) => this.#settle(op, false, e),
    );
  }

  /** @param {Operation} op @param {boolean} ok @param {any} value */
  #settle(op, ok, value) {
    if (this.closed || this.dead) return;
    if (ok) op.resolve(value);
    else op.reject(value);
    // "Upon fulfillment or rejection of p": after the page's own reactions to p.
    queueMicrotask(() => {
      if (this.closed || this.dead) return;
      this.operations.shift();
      if (this.operations.length) {
        this.#runHead();
        return;
      }
      if (!this.updateNegotiationNeededOnEmptyChain) return;
      this.updateNegotiationNeededOnEmptyChain = false;
      this.updateNegotiationNeeded();
    });
  }

  /**
   * An operation body: runs in a later task ("in parallel", then "queue a task"), calls the
   * engine, fires the events of that task, and returns the reply.
   * @param {any} apiCall
   */
  async operation(apiCall, beforeEvents = (/** @type {any} */ _previous) => {}) {
    await nextTask();
    if (this.closed) return never();
    return this.call(apiCall, "operation", beforeEvents);
  }

  /**
   * Chromium, on an explicit rollback to stable: negotiationneeded fires right away, before the
   * rollback's signalingstatechange (the spec queues it after), when negotiation is still needed
   * or when the rollback removed transceivers that the remote offer had created (Chromium's
   * check still sees them then). Returns whether it fired.
   * @param {any} previous the snapshot before the rollback
   */
  refireOnRollback(previous) {
    if (this.snapshot.signalingState !== "stable") return false;
    const removed = this.snapshot.transceivers.length < previous.transceivers.length;
    let needed = false;
    try {
      needed = this.call({ op: "checkNegotiationNeeded" }).value;
    } catch {
      return false;
    }
    if (!(removed || (needed && this.negotiationNeeded))) return false;
    this.negotiationNeeded = true;
    this.pc.dispatchEvent(new Event("negotiationneeded"));
    return true;
  }

  /** Update the negotiation-needed flag (webrtc-pc §4.7.3). */
  updateNegotiationNeeded() {
    if (this.operations.length !== 0) {
      this.updateNegotiationNeededOnEmptyChain = true;
      return;
    }
    queueTask(() => {
      if (this.closed || this.dead) return;
      // The spec defers to the end of a non-empty chain. Chromium (whose chain runs on another
      // thread, where createOffer/createAnswer finish at once) fires anyway when only those are
      // pending: `addTransceiver(); createOffer()` fires before createOffer resolves, while
      // `createDataChannel(); setLocalDescription()` fires nothing.
      if (this.operations.length !== 0 && !this.operations[0].stateless) {
        this.updateNegotiationNeededOnEmptyChain = true;
        return;
      }
      if (this.snapshot.signalingState !== "stable") return;
      let needed;
      try {
        needed = this.call({ op: "checkNegotiationNeeded" }).value;
      } catch {
        return;
      }
      if (!needed) {
        this.negotiationNeeded = false;
        this.refireNegotiationNeeded = false;
        return;
      }
      if (this.negotiationNeeded && !this.refireNegotiationNeeded) return;
      this.negotiationNeeded = true;
      this.refireNegotiationNeeded = false;
      this.pc.dispatchEvent(new Event("negotiationneeded"));
    });
  }

  /**
   * After SLD/SRD: back in stable, negotiation may be needed again (§4.4.1.6).
   * @param {boolean} alreadyFired negotiationneeded fired during a rollback
   */
  afterDescriptionApplied(alreadyFired = false) {
    if (this.snapshot.signalingState !== "stable") return;
    if (this.negotiationNeeded && !alreadyFired) this.refireNegotiationNeeded = true;
    this.updateNegotiationNeeded();
  }

  // --- event dispatch --------------------------------------------------------------------------

  /** @param {any} ev an engine Event */
  #fire(ev) {
    fireEngineEvent(this, ev);
  }

  #flushAddStream() {
    flushAddStream(this);
  }

  // --- what the RTP objects and channels call --------------------------------------------------

  /** @param {number} id @param {RTCRtpTransceiverDirection} direction */
  setDirection(id, direction) {
    if (this.closed) throw closedError();
    this.call({ op: "setDirection", transceiver: id, direction });
    this.updateNegotiationNeeded();
  }

  /** @param {number} id */
  stopTransceiver(id) {
    if (this.closed) throw closedError();
    this.call({ op: "stopTransceiver", transceiver: id });
    this.updateNegotiationNeeded();
  }

  /** @param {number} id @param {MediaStreamTrack | null} track */
  replaceTrack(id, track) {
    return this.chain(async () => {
      await nextTask();
      if (this.closed) return never();
      const kind = this.transceiverSnapshot(id).kind;
      if (track && track.kind !== kind) {
        throw new TypeError(
          "Failed to execute 'replaceTrack' on 'RTCRtpSender': The track kind does not match the sender's kind.",
        );
      }
      if (track) this.localTracks.set(track.id, track);
      this.call(
        {
          op: "replaceTrack",
          transceiver: id,
          track: track ? { id: track.id, kind: track.kind } : null,
        },
        "operation",
      );
      return undefined;
    });
  }

  /** @param {number} id @param {string[]} streamIds */
  setStreams(id, streamIds) {
    if (this.closed) throw closedError();
    this.call({ op: "setStreams", transceiver: id, streamIds });
    this.updateNegotiationNeeded();
  }

  /** @param {RTCDataChannel} channel @param {number} handle */
  closeDataChannel(channel, handle) {
    if (this.closed || this.dead) return;
    try {
      this.call({ op: "closeDataChannel", channel: handle });
    } catch (e) {
      console.error("polyrtc: closing the data channel failed", e);
    }
  }

  /**
   * Engine op `sendDataChannelMessage {channel, data, binary}` through the handle's `sendData`
   * (a string goes as its UTF-8 with binary false). The engine throws InvalidStateError when
   * the channel is not open and TypeError over the peer's max-message-size, as send() must.
   * @param {number} handle @param {Uint8Array} bytes @param {boolean} binary
   */
  sendDataChannel(handle, bytes, binary) {
    this.#callEngine(
      (h) => h.sendData(handle, bytes, binary, performance.now(), Date.now()),
      "sync",
      () => {},
    );
  }

  /** RTCSctpTransport.maxMessageSize (for send()'s size check before a Blob is read). */
  maxMessageSize() {
    return this.snapshot.sctp?.maxMessageSize ?? 65536;
  }

  /** @param {MediaStreamTrack | null} selector */
  async getStats(selector) {
    await nextTask();
    if (this.closed || this.dead) return statsReportFromEngine([]);
    const reply = this.call({
      op: "getStats",
      timestamp: performance.timeOrigin + performance.now(),
    });
    const stats = reply.stats ?? [];
    if (!selector) return statsReportFromEngine(stats);
    return statsReportFromEngine(stats, selectStats(stats, selector));
  }

  // --- close and trap --------------------------------------------------------------------------

  close() {
    if (this.closed) return;
    this.closing = true;
    const sctpWasConnected = this.mirror.sctpState === "connected";
    try {
      if (!this.dead) this.call({ op: "close" });
    } catch (e) {
      console.error("polyrtc: engine close failed", e);
    }
    this.closed = true;
    // Final snapshot (states "closed", transceivers stopped), then no more events.
    try {
      if (!this.dead) {
        this.snapshot = this.#engine((h) => h.snapshot());
        this.#syncObjects();
        this.#engine((h) => h.pollEvents());
      }
    } catch {
      // Keep the last snapshot.
    }
    const s = this.snapshot;
    this.mirror.signalingState = "closed";
    this.mirror.iceConnectionState = "closed";
    this.mirror.connectionState = "closed";
    this.mirror.iceTransportState = "closed";
    this.mirror.dtlsState = "closed";
    this.mirror.sctpState = "closed";
    this.mirror.iceGatheringState = s.iceGatheringState;
    // Chromium: channels keep their readyState until a later task, where each becomes "closed"
    // and fires `close` (the spec would set "closed" now, without events).
    const channels = [...this.channels.values()];
    queueTask(() => {
      // Chromium (measured by datachannel-features.test.mjs): a connected RTCSctpTransport
      // fires statechange "closed", and each open channel fires closing then close.
      if (sctpWasConnected) this.sctpTransport?.dispatchEvent(new Event("statechange"));
      for (const channel of channels) {
        if (channel.readyState === "closed") continue;
        if (channel.readyState === "open") {
          channelInternals.setReadyState(channel, "closing");
          channel.dispatchEvent(new Event("closing"));
        }
        channelInternals.setReadyState(channel, "closed");
        channel.dispatchEvent(new Event("close"));
      }
    });
    this.#release();
  }

  #release() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.deferred.length = 0;
    this.instance.clients.delete(this);
    if (!this.dead) {
      try {
        invoke(this.instance, () => this.handle.free());
      } catch {
        // Already gone.
      }
    }
  }

  #deadError() {
    return domError("OperationError", "polyrtc: the WebAssembly engine of this connection crashed");
  }

  /** Called by the backend when this connection's wasm instance trapped. @param {unknown} _error */
  onBackendTrap(_error) {
    if (this.closed || this.dead) return;
    this.dead = true;
    const ops = this.operations.splice(0);
    for (const op of ops) op.reject(this.#deadError());
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.deferred.length = 0;
    queueTask(() => {
      if (this.closed) return;
      this.mirror.iceTransportState = "failed";
      this.mirror.iceConnectionState = "failed";
      this.pc.dispatchEvent(new Event("iceconnectionstatechange"));
      this.iceTransport?.dispatchEvent(new Event("statechange"));
      this.mirror.dtlsState = "failed";
      this.dtlsTransport?.dispatchEvent(new Event("statechange"));
      this.mirror.connectionState = "failed";
      this.pc.dispatchEvent(new Event("connectionstatechange"));
      for (const channel of this.channels.values()) {
        if (channel.readyState === "closed") continue;
        channelInternals.setReadyState(channel, "closed");
        channel.dispatchEvent(new Event("close"));
      }
    });
  }
}

/**
 * The stats selection algorithm, approximately: stats naming the track, plus everything they
 * reference through `*Id` members, transitively.
 * @param {any[]} stats @param {MediaStreamTrack} track
 */
function selectStats(stats, track) {
  const byId = new Map(stats.map((s) => [s.id, s]));
  const keep = new Set();
  const visit = (/** @type {any} */ s) => {
    if (!s || keep.has(s.id)) return;
    keep.add(s.id);
    for (const [k, v] of Object.entries(s)) {
      if (k !== "id" && k.endsWith("Id") && typeof v === "string" && byId.has(v))
        visit(byId.get(v));
    }
  };
  for (const s of stats) if (s.trackIdentifier === track.id) visit(s);
  return (/** @type {any} */ s) => keep.has(s.id);
}

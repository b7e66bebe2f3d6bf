// RTCPeerConnection: WebIDL conversion, closed-state guards, and the glue between the page's
// calls and the connection core (operations chain, events, engine handle).

import { invoke, liveInstance } from "./backend.js";
import { ConnectionCore } from "./connection-core.js";
import {
  convertConfiguration,
  configurationToEngine,
  convertOfferOptions,
  convertLocalDescription,
  convertRemoteDescription,
  convertDataChannelInit,
  convertTransceiverInit,
} from "./configuration.js";
import { closedError, domError } from "./errors.js";
import { defineEventHandlers } from "./event-handlers.js";
import { generateCertificate, certificateFromEngine, certificateToEngine } from "./certificate.js";
import { RTCSessionDescription, convertIceCandidateInit } from "./session-description.js";
import { RTCRtpSender } from "./rtp.js";
import { isStream, isTrack } from "./tracks.js";
import {
  relayFromIceServers,
  defaultRelay,
  relayIceServer,
  resolveRelayEndpoint,
  webSocketFallback,
} from "./relay-config.js";
import { installLegacyApi, setLegacyStateAccessor } from "./legacy.js";
import { toUSVString, toDOMString, webidlInterface } from "./webidl.js";

/** @type {WeakMap<RTCPeerConnection, ConnectionCore>} */
const cores = new WeakMap();

/** @param {unknown} pc */
export function coreOf(pc) {
  const core = cores.get(/** @type {any} */ (pc));
  if (!core) throw new TypeError("Illegal invocation");
  return core;
}

/**
 * createOffer/createAnswer resolve with an RTCSessionDescriptionInit dictionary, as the spec says
 * and Chromium does (a plain object, members in dictionary order, no toJSON).
 * @param {any} d
 */
function descriptionInit(d) {
  return { sdp: d.sdp, type: d.type };
}

/** One RTCSessionDescription per engine description: the getters keep returning the same object
 * until the description changes. */
const descriptionCache = new WeakMap();

/** @param {ConnectionCore} core @param {any} d engine SessionDescription or null */
function description(core, d) {
  if (!d) return null;
  let cache = descriptionCache.get(core);
  if (!cache) {
    cache = new Map();
    descriptionCache.set(core, cache);
  }
  const key = `${d.type}\n${d.sdp}`;
  let obj = cache.get(key);
  if (!obj) {
    obj = new RTCSessionDescription({ type: d.type, sdp: d.sdp });
    // Only the descriptions of the latest snapshot stay cached.
    const s = core.snapshot;
    const live = new Set(
      [
        s.currentLocalDescription,
        s.pendingLocalDescription,
        s.currentRemoteDescription,
        s.pendingRemoteDescription,
      ]
        .filter(Boolean)
        .map((x) => `${x.type}\n${x.sdp}`),
    );
    for (const k of cache.keys()) if (!live.has(k)) cache.delete(k);
    cache.set(key, obj);
  }
  return obj;
}

/**
 * The engine configuration for `configuration`: the relay entry appended when the page's
 * iceServers name none (then `getConfiguration()` hides it again).
 * @param {ReturnType<typeof convertConfiguration>} config
 */
function withRelay(config) {
  const engine = configurationToEngine(config);
  if (relayFromIceServers(config.iceServers)) return { engine, injected: null };
  const relay = defaultRelay();
  if (!relay) return { engine, injected: null };
  const injected = relayIceServer(relay);
  return { engine: { ...engine, iceServers: [...engine.iceServers, injected] }, injected };
}

/**
 * WebTransport relays (`https:` URLs) need their certificate hashes before gathering opens a
 * session: resolved now (explicit, or fetched from the relay's `/webtransport` document) and
 * handed to the shell, which holds sessions to the relay back until then (`pending`, at most
 * 3 s). If the session still cannot start, the shell falls back to the relay's WebSocket URL
 * when it is known (src/relays.rs); without one, gathering reports an icecandidateerror.
 * @param {ConnectionCore} core
 * @param {Array<{ urls: string | string[] }>} iceServers
 */
function resolveWebTransportRelays(core, iceServers) {
  for (const server of iceServers) {
    for (const url of typeof server.urls === "string" ? [server.urls] : server.urls) {
      if (!url.toLowerCase().startsWith("https:")) continue;
      const webSocketUrl = webSocketFallback({ url }) ?? undefined;
      // Without WebTransport in this page there are no hashes to wait for: the shell falls back.
      const hasWebTransport = typeof (/** @type {any} */ (globalThis).WebTransport) === "function";
      /** @param {object} options */
      const give = (options) => {
        if (core.dead) return;
        invoke(core.instance, () =>
          core.handle.setRelayOptions(url, { ...options, webSocketUrl }, performance.now()),
        );
      };
      give({ pending: hasWebTransport });
      if (!hasWebTransport) continue;
      resolveRelayEndpoint({ url })
        .then((endpoint) => give(endpoint))
        .catch((e) => {
          console.warn(`polyrtc: no certificate hashes for ${url}:`, e);
          give({});
        });
    }
  }
}

export class RTCPeerConnection extends EventTarget {
  /** @param {RTCConfiguration} [configuration] */
  constructor(configuration = undefined) {
    const context = "Failed to construct 'RTCPeerConnection'";
    const config = convertConfiguration(configuration, context);
    super();
    const { engine, injected } = withRelay(config);
    const instance = liveInstance();
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const handle = invoke(
      instance,
      (glue) => new glue.PeerConnectionHandle(engine, seed, performance.now(), Date.now()),
    );
    const core = new ConnectionCore(this, instance, handle, config, injected);
    cores.set(this, core);
    resolveWebTransportRelays(core, engine.iceServers);
  }

  // --- attributes ------------------------------------------------------------------------------

  get localDescription() {
    const core = coreOf(this);
    const s = core.snapshot;
    return description(core, s.pendingLocalDescription ?? s.currentLocalDescription);
  }
  get currentLocalDescription() {
    const core = coreOf(this);
    return description(core, core.snapshot.currentLocalDescription);
  }
  get pendingLocalDescription() {
    const core = coreOf(this);
    return description(core, core.snapshot.pendingLocalDescription);
  }
  get remoteDescription() {
    const core = coreOf(this);
    const s = core.snapshot;
    return description(core, s.pendingRemoteDescription ?? s.currentRemoteDescription);
  }
  get currentRemoteDescription() {
    const core = coreOf(this);
    return description(core, core.snapshot.currentRemoteDescription);
  }
  get pendingRemoteDescription() {
    const core = coreOf(this);
    return description(core, core.snapshot.pendingRemoteDescription);
  }
  get signalingState() {
    return coreOf(this).mirror.signalingState;
  }
  get iceGatheringState() {
    return coreOf(this).mirror.iceGatheringState;
  }
  get iceConnectionState() {
    return coreOf(this).mirror.iceConnectionState;
  }
  get connectionState() {
    return coreOf(this).mirror.connectionState;
  }
  get canTrickleIceCandidates() {
    const core = coreOf(this);
    // Chromium: null once closed.
    if (core.closed) return null;
    return core.snapshot.canTrickleIceCandidates ?? null;
  }
  get sctp() {
    return coreOf(this).sctp();
  }

  // --- JSEP (operations chain) -----------------------------------------------------------------

  /** @param {RTCOfferOptions} [options] */
  createOffer(options = undefined) {
    const core = coreOf(this);
    let converted;
    try {
      converted = convertOfferOptions(
        options,
        "Failed to execute 'createOffer' on 'RTCPeerConnection'",
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return core.chain(async () => {
      if (converted.tooMany) {
        await Promise.resolve();
        throw domError(
          "InvalidAccessError",
          "offerToReceiveAudio/offerToReceiveVideo above 1 is not supported.",
        );
      }
      const reply = await core.operation({ op: "createOffer", options: converted.options });
      return descriptionInit(reply.description);
    }, true);
  }

  /** @param {RTCAnswerOptions} [options] */
  createAnswer(options = undefined) {
    const core = coreOf(this);
    void options;
    // Chromium checks the signaling state when createAnswer is called, before the operations
    // chain: behind a queued setLocalDescription it rejects at once (docs/chromium-differences.md).
    // Only a queued setRemoteDescription can bring the state to have-remote-offer, so with one
    // queued the check waits for the chain (`setRemoteDescription(o); createAnswer()` works).
    const state = core.snapshot.signalingState;
    if (
      !core.closed &&
      core.queuedRemoteDescriptions === 0 &&
      state !== "have-remote-offer" &&
      state !== "have-local-pranswer"
    ) {
      return Promise.reject(
        domError(
          "InvalidStateError",
          `Failed to execute 'createAnswer' on 'RTCPeerConnection': PeerConnection cannot create an answer in a state other than have-remote-offer or have-local-pranswer.`,
        ),
      );
    }
    return core.chain(async () => {
      const reply = await core.operation({ op: "createAnswer" });
      return descriptionInit(reply.description);
    }, true);
  }

  /** @param {RTCLocalSessionDescriptionInit} [description] */
  setLocalDescription(description = undefined) {
    const core = coreOf(this);
    let converted;
    try {
      converted = convertLocalDescription(
        description,
        "Failed to execute 'setLocalDescription' on 'RTCPeerConnection'",
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return core.chain(async () => {
      let fired = false;
      await core.operation({ op: "setLocalDescription", description: converted }, (prev) => {
        if (converted.type === "rollback") fired = core.refireOnRollback(prev);
      });
      core.afterDescriptionApplied(fired);
      return undefined;
    });
  }

  /** @param {RTCSessionDescriptionInit} description */
  setRemoteDescription(description) {
    const core = coreOf(this);
    let converted;
    try {
      if (arguments.length < 1) {
        throw new TypeError(
          "Failed to execute 'setRemoteDescription' on 'RTCPeerConnection': 1 argument required, but only 0 present.",
        );
      }
      converted = convertRemoteDescription(
        description,
        "Failed to execute 'setRemoteDescription' on 'RTCPeerConnection'",
      );
    } catch (e) {
      return Promise.reject(e);
    }
    if (!core.closed) core.queuedRemoteDescriptions++;
    return core.chain(async () => {
      try {
        if (converted.type === null) {
          await Promise.resolve();
          throw domError("OperationError", "The remote description has no type.");
        }
        let fired = false;
        await core.operation({ op: "setRemoteDescription", description: converted }, (prev) => {
          if (converted.type === "rollback") fired = core.refireOnRollback(prev);
        });
        core.afterDescriptionApplied(fired);
        return undefined;
      } finally {
        core.queuedRemoteDescriptions--;
      }
    });
  }

  /** @param {RTCIceCandidateInit | null} [candidate] */
  addIceCandidate(candidate = undefined) {
    const core = coreOf(this);
    const context = "Failed to execute 'addIceCandidate' on 'RTCPeerConnection'";
    /** @type {any} */
    let init = null;
    try {
      if (candidate !== undefined && candidate !== null) {
        init = convertIceCandidateInit(candidate, context);
        if (init.candidate !== "" && init.sdpMid === null && init.sdpMLineIndex === null) {
          throw new TypeError(
            `${context}: Candidate missing values for both sdpMid and sdpMLineIndex`,
          );
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return core.chain(async () => {
      await core.operation({ op: "addIceCandidate", candidate: init });
      return undefined;
    });
  }

  restartIce() {
    const core = coreOf(this);
    if (core.closed) return;
    core.call({ op: "restartIce" });
    core.updateNegotiationNeeded();
  }

  // --- configuration ---------------------------------------------------------------------------

  getConfiguration() {
    const core = coreOf(this);
    const c = core.configuration;
    // Chromium's shape: every server has credential/username ("" when absent) and urls as a
    // list; certificates are new RTCCertificate objects for the same certificates.
    return {
      iceServers: c.iceServers.map((/** @type {any} */ s) => ({
        credential: s.credential ?? "",
        urls: Array.isArray(s.urls) ? [...s.urls] : [s.urls],
        username: s.username ?? "",
      })),
      iceTransportPolicy: c.iceTransportPolicy,
      bundlePolicy: c.bundlePolicy,
      rtcpMuxPolicy: c.rtcpMuxPolicy,
      iceCandidatePoolSize: c.iceCandidatePoolSize,
      certificates: c.certificates.map((/** @type {any} */ cert) =>
        certificateFromEngine(certificateToEngine(cert)),
      ),
      ...(c.peerIdentity !== undefined ? { peerIdentity: c.peerIdentity } : {}),
    };
  }

  /** @param {RTCConfiguration} [configuration] */
  setConfiguration(configuration = undefined) {
    const core = coreOf(this);
    const config = convertConfiguration(
      configuration,
      "Failed to execute 'setConfiguration' on 'RTCPeerConnection'",
    );
    if (core.closed) throw closedError();
    // Certificates are passed as given: the engine rejects any change, their removal included
    // (InvalidModificationError, as Chromium). The target peer identity (webrtc-identity) stays
    // when the new configuration names none.
    if (config.peerIdentity === undefined && core.configuration.peerIdentity !== undefined) {
      config.peerIdentity = core.configuration.peerIdentity;
    }
    const { engine, injected } = withRelay(config);
    core.call({ op: "setConfiguration", configuration: engine });
    core.configuration = config;
    core.injectedRelay = injected;
  }

  /**
   * @param {AlgorithmIdentifier} keygenAlgorithm
   * @returns {Promise<RTCCertificate>}
   */
  static generateCertificate(keygenAlgorithm) {
    if (arguments.length < 1) {
      return Promise.reject(
        new TypeError(
          "Failed to execute 'generateCertificate' on 'RTCPeerConnection': 1 argument required, but only 0 present.",
        ),
      );
    }
    return generateCertificate(keygenAlgorithm);
  }

  /** Chromium's non-standard static; no default servers. */
  static getDefaultIceServers() {
    return [];
  }

  // --- media -----------------------------------------------------------------------------------

  getSenders() {
    return coreOf(this)
      .transceiverList()
      .map((t) => t.sender);
  }
  getReceivers() {
    return coreOf(this)
      .transceiverList()
      .map((t) => t.receiver);
  }
  getTransceivers() {
    return coreOf(this).transceiverList();
  }

  /** @param {MediaStreamTrack} track @param {...MediaStream} streams */
  addTrack(track, ...streams) {
    const core = coreOf(this);
    const context = "Failed to execute 'addTrack' on 'RTCPeerConnection'";
    if (arguments.length < 1)
      throw new TypeError(`${context}: 1 argument required, but only 0 present.`);
    if (!isTrack(track))
      throw new TypeError(`${context}: parameter 1 is not of type 'MediaStreamTrack'.`);
    for (const s of streams) {
      if (!isStream(s)) throw new TypeError(`${context}: parameter is not of type 'MediaStream'.`);
    }
    if (core.closed) throw closedError();
    const reply = core.call({
      op: "addTrack",
      track: { id: track.id, kind: track.kind },
      streamIds: streams.map((s) => s.id),
    });
    core.localTracks.set(track.id, track);
    for (const s of streams) core.localStreams.set(s.id, s);
    core.updateNegotiationNeeded();
    return core.transceiverById(reply.transceiver).sender;
  }

  /** @param {RTCRtpSender} sender */
  removeTrack(sender) {
    const core = coreOf(this);
    const context = "Failed to execute 'removeTrack' on 'RTCPeerConnection'";
    if (!(sender instanceof RTCRtpSender)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'RTCRtpSender'.`);
    }
    if (core.closed) throw closedError();
    const transceiver = [...core.transceivers.values()].find((t) => t.sender === sender);
    if (!transceiver)
      throw domError(
        "InvalidAccessError",
        `${context}: The sender was not created by this peer connection.`,
      );
    const id = [...core.transceivers].find(([, t]) => t === transceiver)?.[0];
    core.call({ op: "removeTrack", transceiver: id });
    core.updateNegotiationNeeded();
  }

  /**
   * @param {MediaStreamTrack | string} trackOrKind
   * @param {RTCRtpTransceiverInit} [init]
   */
  addTransceiver(trackOrKind, init = undefined) {
    const core = coreOf(this);
    const context = "Failed to execute 'addTransceiver' on 'RTCPeerConnection'";
    if (arguments.length < 1)
      throw new TypeError(`${context}: 1 argument required, but only 0 present.`);
    let kind;
    /** @type {MediaStreamTrack | null} */
    let track = null;
    if (isTrack(trackOrKind)) {
      track = /** @type {MediaStreamTrack} */ (trackOrKind);
      kind = track.kind;
    } else {
      kind = toDOMString(trackOrKind);
      if (kind !== "audio" && kind !== "video") {
        throw new TypeError(
          `${context}: The argument provided as parameter 1 is not a valid MediaStreamTrack kind.`,
        );
      }
    }
    const converted = convertTransceiverInit(init, context, isStream);
    if (core.closed) throw closedError();
    /** @type {any} */
    const engineInit = { streamIds: converted.streamIds, sendEncodings: converted.sendEncodings };
    if (converted.direction !== null) engineInit.direction = converted.direction;
    const reply = core.call({
      op: "addTransceiver",
      kind,
      track: track ? { id: track.id, kind: track.kind } : null,
      init: engineInit,
    });
    if (track) core.localTracks.set(track.id, track);
    core.sendEncodings.set(reply.transceiver, converted.sendEncodings);
    for (const s of converted.streams)
      core.localStreams.set(/** @type {any} */ (s).id, /** @type {any} */ (s));
    core.updateNegotiationNeeded();
    return core.transceiverById(reply.transceiver);
  }

  // --- data channels ---------------------------------------------------------------------------

  /** @param {string} label @param {RTCDataChannelInit} [dataChannelDict] */
  createDataChannel(label, dataChannelDict = undefined) {
    const core = coreOf(this);
    const context = "Failed to execute 'createDataChannel' on 'RTCPeerConnection'";
    if (arguments.length < 1)
      throw new TypeError(`${context}: 1 argument required, but only 0 present.`);
    const l = toUSVString(label);
    const init = convertDataChannelInit(dataChannelDict, context);
    if (core.closed) throw closedError();
    const reply = core.call({ op: "createDataChannel", label: l, init });
    const channel = core.channelFor(reply.channel);
    if (!core.dataChannelCreated) {
      core.dataChannelCreated = true;
      core.updateNegotiationNeeded();
    }
    return channel;
  }

  // --- stats and close -------------------------------------------------------------------------

  /** @param {MediaStreamTrack | null} [selector] */
  getStats(selector = null) {
    const core = coreOf(this);
    if (selector !== null && selector !== undefined) {
      if (!isTrack(selector)) {
        return Promise.reject(
          new TypeError(
            "Failed to execute 'getStats' on 'RTCPeerConnection': parameter 1 is not of type 'MediaStreamTrack'.",
          ),
        );
      }
      const senders = [...core.transceivers.values()].filter((t) => t.sender.track === selector);
      const receivers = [...core.transceivers.values()].filter(
        (t) => t.receiver.track === selector,
      );
      if (senders.length + receivers.length !== 1) {
        return Promise.reject(
          domError(
            "InvalidAccessError",
            "Failed to execute 'getStats' on 'RTCPeerConnection': There is no sender or receiver for the track.",
          ),
        );
      }
    }
    return core.getStats(selector ?? null);
  }

  close() {
    const core = coreOf(this);
    core.close();
  }

  // --- identity (webrtc-identity) --------------------------------------------------------------
  // No identity provider can be loaded by this implementation: IdP-related calls fail the way
  // the spec fails an IdP that cannot be loaded (RTCError "idp-load-failure" is not in
  // RTCErrorDetailType any more, so an OperationError DOMException with that message).

  /** @returns {Promise<any>} */
  get peerIdentity() {
    const core = coreOf(this);
    // @ts-ignore: a lazily created, forever-pending promise (no identity is ever asserted).
    core.peerIdentityPromise ??= new Promise(() => {});
    // @ts-ignore
    return core.peerIdentityPromise;
  }
  get idpLoginUrl() {
    coreOf(this);
    return null;
  }
  get idpErrorInfo() {
    coreOf(this);
    return null;
  }
  /** @param {string} provider @param {any} [options] */
  setIdentityProvider(provider, options = undefined) {
    const core = coreOf(this);
    if (arguments.length < 1) {
      throw new TypeError(
        "Failed to execute 'setIdentityProvider' on 'RTCPeerConnection': 1 argument required, but only 0 present.",
      );
    }
    if (core.closed) throw closedError();
    // @ts-ignore
    core.identityProvider = { provider: toDOMString(provider), options };
  }
  getIdentityAssertion() {
    const core = coreOf(this);
    if (core.closed) return Promise.reject(closedError());
    // @ts-ignore
    const configured = Boolean(core.identityProvider);
    return Promise.reject(
      domError(
        "OperationError",
        configured
          ? "idp-load-failure: this implementation cannot load identity providers"
          : "idp-missing: no identity provider is configured (setIdentityProvider)",
      ),
    );
  }
}

defineEventHandlers(RTCPeerConnection.prototype, [
  "negotiationneeded",
  "icecandidate",
  "icecandidateerror",
  "signalingstatechange",
  "iceconnectionstatechange",
  "icegatheringstatechange",
  "connectionstatechange",
  "track",
  "datachannel",
  // webrtc-identity
  "identityresult",
  "idpassertionerror",
  "idpvalidationerror",
  "peeridentity",
]);
// WebIDL: a promise-returning operation reports every exception (wrong `this`, conversion) as a
// rejected promise.
for (const name of [
  "createOffer",
  "createAnswer",
  "setLocalDescription",
  "setRemoteDescription",
  "addIceCandidate",
  "getStats",
  "getIdentityAssertion",
]) {
  const proto = /** @type {any} */ (RTCPeerConnection.prototype);
  const method = proto[name];
  const wrapped = {
    /** @param {...any} args */
    [name](...args) {
      try {
        return method.apply(this, args);
      } catch (e) {
        return Promise.reject(e);
      }
    },
  }[name];
  Object.defineProperty(wrapped, "length", { value: method.length });
  Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true });
}
installLegacyApi(RTCPeerConnection);
setLegacyStateAccessor(coreOf);
webidlInterface(RTCPeerConnection, "RTCPeerConnection");

// Type declarations for polyrtc (js/index.js). The classes are declared here, in the module, so
// they type-check where lib.dom lacks an interface; dictionaries and enums reuse lib.dom's names
// (RTCConfiguration, RTCSdpType, ...), and the classes are structurally compatible with lib.dom's
// interfaces of the same names.

/// <reference lib="dom" />

/** Resolves when the WebAssembly engine is loaded (rejects if it cannot be). */
export declare const ready: Promise<void>;

export type InstallMode = "missing" | "force" | "probe";

export interface RelayOptions {
  /** `wss:`/`ws:` (WebSocket) or `https:` (WebTransport) URL of polyrtc-relay. */
  url: string;
  username?: string;
  credential?: string;
  /** TURN URLs for `mode: "probe"`; default: derived from the relay's host. */
  turnUrls?: string[];
  /** WebTransport: hashes of the relay's self-signed certificate (hex or base64 SHA-256). */
  serverCertificateHashes?: (string | { algorithm: string; value: string | BufferSource })[];
  /** WebTransport: where the relay publishes its URL and certificate hashes (`GET /webtransport`). */
  certificateHashesUrl?: string;
  /**
   * WebTransport: the same relay's `wss:`/`ws:` URL, used when WebTransport is unavailable or its
   * session cannot start; default: `/turn` on the origin of `certificateHashesUrl`.
   */
  webSocketUrl?: string;
}

export interface InstallOptions<M extends InstallMode = InstallMode> {
  /** "missing" (default): only where RTCPeerConnection is absent; "force": always; "probe":
   * only if native WebRTC cannot reach the relay's TURN service (returns a promise). */
  mode?: M;
  /** The relay used by connections whose iceServers name none. */
  relay?: string | RelayOptions;
  /** Gathering timeout of `mode: "probe"`, default 3000 ms. */
  probeTimeoutMs?: number;
}

export interface InstallInfo {
  installed: boolean;
  mode: InstallMode;
}

export declare function install(
  options: InstallOptions<"probe"> & { mode: "probe" },
): Promise<InstallInfo>;
export declare function install(options?: InstallOptions<"missing" | "force">): InstallInfo;
/** Restore the globals install() replaced (including their absence). */
export declare function uninstall(): void;
/** What install() did, or null before install() / after uninstall(). */
export declare function installation(): InstallInfo | null;

/** Defaults for new data channels: binaryType "arraybuffer" as in Chromium (the spec: "blob"). */
export declare const dataChannelDefaults: { binaryType: BinaryType };

// ---------------------------------------------------------------------------------------------

export interface RTCPeerConnectionEventMap {
  connectionstatechange: Event;
  datachannel: RTCDataChannelEvent;
  icecandidate: RTCPeerConnectionIceEvent;
  icecandidateerror: RTCPeerConnectionIceErrorEvent;
  iceconnectionstatechange: Event;
  icegatheringstatechange: Event;
  negotiationneeded: Event;
  signalingstatechange: Event;
  track: RTCTrackEvent;
  addstream: Event & { readonly stream: MediaStream };
  removestream: Event & { readonly stream: MediaStream };
  identityresult: Event;
  idpassertionerror: Event;
  idpvalidationerror: Event;
  peeridentity: Event;
}

// `this` is loose and the event bivariant so these classes stay assignable to lib.dom's
// interfaces of the same names
// (method syntax makes the event parameter bivariant, like lib.dom's own handler types).
type Handler<T, E> = { bivariant(this: any, ev: E): any }["bivariant"] | null;

export interface PolyrtcIdentityAssertion {
  idp: string;
  name: string;
}

export declare class RTCPeerConnection extends EventTarget {
  constructor(configuration?: RTCConfiguration);
  static generateCertificate(keygenAlgorithm: AlgorithmIdentifier): Promise<RTCCertificate>;
  /** Chromium's non-standard static: always []. */
  static getDefaultIceServers(): RTCIceServer[];

  readonly canTrickleIceCandidates: boolean | null;
  readonly connectionState: RTCPeerConnectionState;
  readonly currentLocalDescription: RTCSessionDescription | null;
  readonly currentRemoteDescription: RTCSessionDescription | null;
  readonly iceConnectionState: RTCIceConnectionState;
  readonly iceGatheringState: RTCIceGatheringState;
  readonly localDescription: RTCSessionDescription | null;
  readonly pendingLocalDescription: RTCSessionDescription | null;
  readonly pendingRemoteDescription: RTCSessionDescription | null;
  readonly remoteDescription: RTCSessionDescription | null;
  readonly sctp: RTCSctpTransport | null;
  readonly signalingState: RTCSignalingState;
  /** webrtc-identity: pending forever (no identity provider can be loaded). */
  readonly peerIdentity: Promise<PolyrtcIdentityAssertion>;
  readonly idpLoginUrl: string | null;
  readonly idpErrorInfo: string | null;

  onconnectionstatechange: Handler<RTCPeerConnection, Event>;
  ondatachannel: Handler<RTCPeerConnection, RTCDataChannelEvent>;
  onicecandidate: Handler<RTCPeerConnection, RTCPeerConnectionIceEvent>;
  onicecandidateerror: Handler<RTCPeerConnection, RTCPeerConnectionIceErrorEvent>;
  oniceconnectionstatechange: Handler<RTCPeerConnection, Event>;
  onicegatheringstatechange: Handler<RTCPeerConnection, Event>;
  onnegotiationneeded: Handler<RTCPeerConnection, Event>;
  onsignalingstatechange: Handler<RTCPeerConnection, Event>;
  ontrack: Handler<RTCPeerConnection, RTCTrackEvent>;
  onaddstream: Handler<RTCPeerConnection, RTCPeerConnectionEventMap["addstream"]>;
  onremovestream: Handler<RTCPeerConnection, RTCPeerConnectionEventMap["removestream"]>;
  onidentityresult: Handler<RTCPeerConnection, Event>;
  onidpassertionerror: Handler<RTCPeerConnection, Event>;
  onidpvalidationerror: Handler<RTCPeerConnection, Event>;
  onpeeridentity: Handler<RTCPeerConnection, Event>;

  createOffer(options?: RTCOfferOptions): Promise<RTCSessionDescriptionInit>;
  /** @deprecated legacy callback form */
  createOffer(
    successCallback: (description: RTCSessionDescriptionInit) => void,
    failureCallback: (error: DOMException) => void,
    options?: RTCOfferOptions,
  ): Promise<void>;
  createAnswer(options?: RTCAnswerOptions): Promise<RTCSessionDescriptionInit>;
  /** @deprecated legacy callback form */
  createAnswer(
    successCallback: (description: RTCSessionDescriptionInit) => void,
    failureCallback: (error: DOMException) => void,
  ): Promise<void>;
  setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void>;
  /** @deprecated legacy callback form */
  setLocalDescription(
    description: RTCLocalSessionDescriptionInit,
    successCallback: () => void,
    failureCallback: (error: DOMException) => void,
  ): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  /** @deprecated legacy callback form */
  setRemoteDescription(
    description: RTCSessionDescriptionInit,
    successCallback: () => void,
    failureCallback: (error: DOMException) => void,
  ): Promise<void>;
  addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void>;
  /** @deprecated legacy callback form */
  addIceCandidate(
    candidate: RTCIceCandidateInit,
    successCallback: () => void,
    failureCallback: (error: DOMException) => void,
  ): Promise<void>;
  restartIce(): void;
  getConfiguration(): RTCConfiguration;
  setConfiguration(configuration?: RTCConfiguration): void;
  close(): void;

  createDataChannel(label: string, dataChannelDict?: RTCDataChannelInit): RTCDataChannel;
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender;
  removeTrack(sender: RTCRtpSender): void;
  addTransceiver(
    trackOrKind: MediaStreamTrack | string,
    init?: RTCRtpTransceiverInit,
  ): RTCRtpTransceiver;
  getSenders(): RTCRtpSender[];
  getReceivers(): RTCRtpReceiver[];
  getTransceivers(): RTCRtpTransceiver[];
  getStats(selector?: MediaStreamTrack | null): Promise<RTCStatsReport>;

  setIdentityProvider(
    provider: string,
    options?: { protocol?: string; usernameHint?: string; peerIdentity?: string },
  ): void;
  /** Rejects with an OperationError: no identity provider can be loaded. */
  getIdentityAssertion(): Promise<string>;

  /** @deprecated legacy */
  addStream(stream: MediaStream): void;
  /** @deprecated legacy */
  removeStream(stream: MediaStream): void;
  /** @deprecated legacy */
  getLocalStreams(): MediaStream[];
  /** @deprecated legacy */
  getRemoteStreams(): MediaStream[];
  /** @deprecated legacy */
  getStreamById(id: string): MediaStream | null;
  /** @deprecated legacy */
  createDTMFSender(track: MediaStreamTrack): RTCDTMFSender;

  addEventListener<K extends keyof RTCPeerConnectionEventMap>(
    type: K,
    listener: (this: any, ev: RTCPeerConnectionEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof RTCPeerConnectionEventMap>(
    type: K,
    listener: (this: any, ev: RTCPeerConnectionEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

export declare class RTCSessionDescription {
  /** Chromium: the init dictionary and its `type` are optional (type is then null). */
  constructor(descriptionInitDict?: RTCSessionDescriptionInit);
  /** Writable in Chromium (legacy); the spec makes it readonly. */
  type: RTCSdpType;
  sdp: string;
  toJSON(): RTCSessionDescriptionInit;
}

export declare class RTCIceCandidate {
  constructor(candidateInitDict?: RTCIceCandidateInit);
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment: string | null;
  readonly foundation: string | null;
  readonly component: RTCIceComponent | null;
  readonly priority: number | null;
  readonly address: string | null;
  readonly protocol: RTCIceProtocol | null;
  readonly port: number | null;
  readonly type: RTCIceCandidateType | null;
  readonly tcpType: RTCIceTcpCandidateType | null;
  readonly relatedAddress: string | null;
  readonly relatedPort: number | null;
  // Also present at runtime (spec members lib.dom lacks): relayProtocol ("udp" | "tcp" | "tls"
  // | null) and url (string | null).
  toJSON(): RTCIceCandidateInit;
}

export interface RTCDataChannelEventMap {
  bufferedamountlow: Event;
  close: Event;
  closing: Event;
  error: RTCErrorEvent;
  message: MessageEvent;
  open: Event;
}

/** Not constructible from script (TypeError "Illegal constructor"). */
export declare class RTCDataChannel extends EventTarget {
  private constructor();
  readonly label: string;
  readonly ordered: boolean;
  readonly maxPacketLifeTime: number | null;
  readonly maxRetransmits: number | null;
  readonly protocol: string;
  readonly negotiated: boolean;
  readonly id: number | null;
  // Also present at runtime, left out of the type so it stays assignable to lib.dom's
  // RTCDataChannel: `priority` (Chromium's non-standard "very-low" | "low" | "medium" | "high").
  readonly readyState: RTCDataChannelState;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: BinaryType;
  onopen: Handler<RTCDataChannel, Event>;
  onbufferedamountlow: Handler<RTCDataChannel, Event>;
  onerror: Handler<RTCDataChannel, RTCErrorEvent>;
  onclosing: Handler<RTCDataChannel, Event>;
  onclose: Handler<RTCDataChannel, Event>;
  onmessage: Handler<RTCDataChannel, MessageEvent>;
  close(): void;
  send(data: string): void;
  send(data: Blob): void;
  send(data: ArrayBuffer): void;
  send(data: ArrayBufferView): void;
  addEventListener<K extends keyof RTCDataChannelEventMap>(
    type: K,
    listener: (this: any, ev: RTCDataChannelEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof RTCDataChannelEventMap>(
    type: K,
    listener: (this: any, ev: RTCDataChannelEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

// --- events ----------------------------------------------------------------------------------

export declare class RTCPeerConnectionIceEvent extends Event {
  constructor(type: string, eventInitDict?: RTCPeerConnectionIceEventInit);
  readonly candidate: RTCIceCandidate | null;
  // Also present at runtime (deprecated, Chromium still has it): url: string | null.
}

export declare class RTCPeerConnectionIceErrorEvent extends Event {
  constructor(type: string, eventInitDict: RTCPeerConnectionIceErrorEventInit);
  readonly address: string | null;
  readonly port: number | null;
  readonly url: string;
  readonly errorCode: number;
  readonly errorText: string;
}

export declare class RTCDataChannelEvent extends Event {
  constructor(type: string, eventInitDict: { channel: RTCDataChannel } & EventInit);
  readonly channel: RTCDataChannel;
}

export declare class RTCTrackEvent extends Event {
  constructor(
    type: string,
    eventInitDict: {
      receiver: RTCRtpReceiver;
      track: MediaStreamTrack;
      streams?: MediaStream[];
      transceiver: RTCRtpTransceiver;
    } & EventInit,
  );
  readonly receiver: RTCRtpReceiver;
  readonly track: MediaStreamTrack;
  readonly streams: ReadonlyArray<MediaStream>;
  readonly transceiver: RTCRtpTransceiver;
}

export declare class RTCErrorEvent extends Event {
  constructor(type: string, eventInitDict: { error: RTCError } & EventInit);
  readonly error: RTCError;
}

export declare class RTCDTMFToneChangeEvent extends Event {
  constructor(type: string, eventInitDict?: RTCDTMFToneChangeEventInit);
  readonly tone: string;
}

export declare class RTCError extends DOMException {
  constructor(init: RTCErrorInit, message?: string);
  readonly errorDetail: RTCErrorDetailType;
  readonly sdpLineNumber: number | null;
  readonly sctpCauseCode: number | null;
  readonly receivedAlert: number | null;
  readonly sentAlert: number | null;
  // Also present at runtime (spec member lib.dom lacks): httpRequestStatusCode: number | null.
}

// --- certificates, stats ---------------------------------------------------------------------

/** Not constructible from script; use RTCPeerConnection.generateCertificate(). */
export declare class RTCCertificate {
  private constructor();
  readonly expires: number;
  getFingerprints(): RTCDtlsFingerprint[];
}

/** Read-only maplike of stats dictionaries. Not constructible from script. */
export declare class RTCStatsReport {
  private constructor();
  readonly size: number;
  get(key: string): any;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<any>;
  entries(): IterableIterator<[string, any]>;
  forEach(
    callbackfn: (value: any, key: string, parent: RTCStatsReport) => void,
    thisArg?: any,
  ): void;
  [Symbol.iterator](): IterableIterator<[string, any]>;
}

// --- RTP -------------------------------------------------------------------------------------

export declare class RTCRtpSender {
  private constructor();
  static getCapabilities(kind: string): RTCRtpCapabilities | null;
  readonly track: MediaStreamTrack | null;
  readonly transport: RTCDtlsTransport | null;
  readonly dtmf: RTCDTMFSender | null;
  /** Encoded transforms are not supported: setting a non-null value throws NotSupportedError. */
  transform: RTCRtpTransform | null;
  getParameters(): RTCRtpSendParameters;
  setParameters(parameters: RTCRtpSendParameters, setParameterOptions?: object): Promise<void>;
  replaceTrack(withTrack: MediaStreamTrack | null): Promise<void>;
  setStreams(...streams: MediaStream[]): void;
  getStats(): Promise<RTCStatsReport>;
}

export declare class RTCRtpReceiver {
  private constructor();
  static getCapabilities(kind: string): RTCRtpCapabilities | null;
  readonly track: MediaStreamTrack;
  readonly transport: RTCDtlsTransport | null;
  jitterBufferTarget: number | null;
  /** Encoded transforms are not supported: setting a non-null value throws NotSupportedError. */
  transform: RTCRtpTransform | null;
  getParameters(): RTCRtpReceiveParameters;
  getContributingSources(): RTCRtpContributingSource[];
  getSynchronizationSources(): RTCRtpSynchronizationSource[];
  getStats(): Promise<RTCStatsReport>;
}

export declare class RTCRtpTransceiver {
  private constructor();
  readonly mid: string | null;
  readonly sender: RTCRtpSender;
  readonly receiver: RTCRtpReceiver;
  direction: RTCRtpTransceiverDirection;
  readonly currentDirection: RTCRtpTransceiverDirection | null;
  stop(): void;
  setCodecPreferences(codecs: Iterable<RTCRtpCodec>): void;
}

export declare class RTCDTMFSender extends EventTarget {
  private constructor();
  readonly canInsertDTMF: boolean;
  readonly toneBuffer: string;
  ontonechange: Handler<RTCDTMFSender, RTCDTMFToneChangeEvent>;
  insertDTMF(tones: string, duration?: number, interToneGap?: number): void;
  addEventListener(
    type: "tonechange",
    listener: (this: any, ev: RTCDTMFToneChangeEvent) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
}

// --- transports ------------------------------------------------------------------------------

export declare class RTCIceTransport extends EventTarget {
  private constructor();
  // Also present at runtime (lib.dom lacks them): role (null, as in Chromium 156; the agent's
  // role is getStats' `transport.iceRole`).
  readonly state: RTCIceTransportState;
  readonly gatheringState: RTCIceGathererState;
  /** The selected pair since the last `selectedcandidatepairchange`; null before and after close(). */
  getSelectedCandidatePair(): RTCIceCandidatePair | null;
  onstatechange: Handler<RTCIceTransport, Event>;
  ongatheringstatechange: Handler<RTCIceTransport, Event>;
  onselectedcandidatepairchange: Handler<RTCIceTransport, Event>;
}

export declare class RTCDtlsTransport extends EventTarget {
  private constructor();
  readonly iceTransport: RTCIceTransport;
  readonly state: RTCDtlsTransportState;
  getRemoteCertificates(): ArrayBuffer[];
  onstatechange: Handler<RTCDtlsTransport, Event>;
  onerror: Handler<RTCDtlsTransport, RTCErrorEvent>;
}

export declare class RTCSctpTransport extends EventTarget {
  private constructor();
  readonly transport: RTCDtlsTransport;
  readonly state: RTCSctpTransportState;
  readonly maxMessageSize: number;
  readonly maxChannels: number | null;
  onstatechange: Handler<RTCSctpTransport, Event>;
}

// --- media stand-ins -------------------------------------------------------------------------

/** The platform's MediaStream, or a MediaStream-shaped stand-in where there is none. */
export declare const MediaStream: {
  prototype: MediaStream;
  new (): MediaStream;
  new (stream: MediaStream): MediaStream;
  new (tracks: MediaStreamTrack[]): MediaStream;
};
export type MediaStream = globalThis.MediaStream;
/** The platform's MediaStreamTrack, or a stand-in (used for remote tracks where there is none). */
export declare const MediaStreamTrack: { prototype: MediaStreamTrack };
export type MediaStreamTrack = globalThis.MediaStreamTrack;

/** Every interface the polyfill defines, by global name. */
export declare const classes: Readonly<{
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCSessionDescription: typeof RTCSessionDescription;
  RTCIceCandidate: typeof RTCIceCandidate;
  RTCDataChannel: typeof RTCDataChannel;
  RTCPeerConnectionIceEvent: typeof RTCPeerConnectionIceEvent;
  RTCDataChannelEvent: typeof RTCDataChannelEvent;
  RTCTrackEvent: typeof RTCTrackEvent;
  RTCCertificate: typeof RTCCertificate;
  RTCRtpSender: typeof RTCRtpSender;
  RTCRtpReceiver: typeof RTCRtpReceiver;
  RTCRtpTransceiver: typeof RTCRtpTransceiver;
  RTCDtlsTransport: typeof RTCDtlsTransport;
  RTCIceTransport: typeof RTCIceTransport;
  RTCSctpTransport: typeof RTCSctpTransport;
  RTCError: typeof RTCError;
  RTCErrorEvent: typeof RTCErrorEvent;
  RTCPeerConnectionIceErrorEvent: typeof RTCPeerConnectionIceErrorEvent;
  RTCStatsReport: typeof RTCStatsReport;
  RTCDTMFSender: typeof RTCDTMFSender;
  RTCDTMFToneChangeEvent: typeof RTCDTMFToneChangeEvent;
}>;

/** Test hooks, not public API. */
export declare const __testing: {
  /** Panic inside the live wasm instance (throws OperationError; its connections fail). */
  trap(): void;
  readonly liveSerial: number;
  readonly spareReady: boolean;
};

// polyrtc: RTCPeerConnection and its family in Rust/WebAssembly, installed like adapter.js.
//
//   import { install, ready } from "polyrtc";
//   await ready;                       // the wasm engine is loaded
//   install({ mode: "missing" });      // or "force", or await install({ mode: "probe" })
//
// The classes are also usable without installing them: `new polyrtc.RTCPeerConnection()`.

export { ready } from "./backend.js";
export { install, uninstall, installation, classes } from "./install.js";
export { RTCPeerConnection } from "./peer-connection.js";
export { RTCSessionDescription, RTCIceCandidate } from "./session-description.js";
export { RTCDataChannel, dataChannelDefaults } from "./data-channel.js";
export {
  RTCPeerConnectionIceEvent,
  RTCPeerConnectionIceErrorEvent,
  RTCDataChannelEvent,
  RTCTrackEvent,
  RTCErrorEvent,
  RTCDTMFToneChangeEvent,
} from "./events.js";
export { RTCCertificate } from "./certificate.js";
export { RTCRtpSender, RTCRtpReceiver, RTCRtpTransceiver, RTCDTMFSender } from "./rtp.js";
export { RTCDtlsTransport, RTCIceTransport, RTCSctpTransport } from "./transports.js";
export { RTCError } from "./errors.js";
export { RTCStatsReport } from "./stats.js";
export { MediaStream, MediaStreamTrack } from "./tracks.js";
export { testing as __testing } from "./backend.js";

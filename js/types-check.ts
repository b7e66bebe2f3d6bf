// Compile-only check of index.d.ts: `tsc --noEmit -p js/tsconfig.json`.
import {
  ready,
  install,
  uninstall,
  RTCPeerConnection,
  RTCIceCandidate,
  RTCSessionDescription,
  RTCError,
  RTCErrorEvent,
  RTCStatsReport,
  RTCDataChannel,
  RTCTrackEvent,
  classes,
} from "./index.js";
import { installation } from "./auto.js";

export async function demo(): Promise<void> {
  await ready;
  const info = install({ mode: "missing", relay: "wss://relay.example/" });
  const probed: Promise<{ installed: boolean }> = install({ mode: "probe" });
  void probed;
  if (info.installed) uninstall();
  install({
    mode: "force",
    relay: {
      url: "https://relay.example:4433/turn",
      serverCertificateHashes: ["ABEiM0RVZneImaq7zN3u/wEjRWeJq83v/ty6mHZUMhA="],
      certificateHashesUrl: "https://relay.example/webtransport",
    },
  });
  uninstall();
  const auto: boolean = installation.installed;
  void auto;

  const pc = new RTCPeerConnection({ iceServers: [{ urls: "wss://relay.example/" }] });
  pc.onicecandidate = (e) => {
    if (e.candidate) console.log(e.candidate.address, e.candidate.toJSON());
  };
  pc.addEventListener("track", (e) => console.log(e.streams.length, e.transceiver.mid));
  pc.addEventListener("icecandidateerror", (e) => console.log(e.errorCode, e.url));
  const dc: RTCDataChannel = pc.createDataChannel("chat", { ordered: false });
  dc.onmessage = (e) => console.log(e.data);
  dc.binaryType = "arraybuffer";
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await pc.setLocalDescription();
  await pc.setRemoteDescription(new RTCSessionDescription({ type: "answer", sdp: "" }));
  await pc.addIceCandidate(new RTCIceCandidate({ candidate: "", sdpMid: "0" }));
  const report: RTCStatsReport = await pc.getStats();
  for (const [id, stat] of report) console.log(id, stat.type);
  report.forEach((v, k) => console.log(k, v));
  const cert = await RTCPeerConnection.generateCertificate({
    name: "ECDSA",
    namedCurve: "P-256",
  } as EcKeyGenParams);
  console.log(cert.expires, cert.getFingerprints()[0]?.value);
  const t = pc.addTransceiver("audio", { direction: "sendrecv" });
  t.direction = "recvonly";
  t.sender.dtmf?.insertDTMF("123");
  const err = new RTCError({ errorDetail: "dtls-failure" }, "x");
  const ev = new RTCErrorEvent("error", { error: err });
  console.log(ev.error.errorDetail, err.sdpLineNumber);
  void RTCTrackEvent;
  void classes.RTCPeerConnection;
  pc.createOffer(
    (d) => console.log(d.sdp),
    (e) => console.log(e.name),
  );
  // Structural compatibility with lib.dom's interfaces.
  const native: globalThis.RTCPeerConnection = pc;
  const nativeChannel: globalThis.RTCDataChannel = dc;
  const nativeTransceiver: globalThis.RTCRtpTransceiver = t;
  const nativeReport: globalThis.RTCStatsReport = report;
  const nativeCert: globalThis.RTCCertificate = cert;
  void native;
  void nativeChannel;
  void nativeTransceiver;
  void nativeReport;
  void nativeCert;
  pc.close();
}

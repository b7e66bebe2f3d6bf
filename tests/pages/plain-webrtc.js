// Unmodified WebRTC code: a classic script that only uses the standard global API (no imports,
// no knowledge of polyrtc). Pages run it after force-installing the polyfill, or on native.
/* global RTCPeerConnection */
window.plainWebRtc = async function plainWebRtc() {
  var log = [];
  var a = new RTCPeerConnection();
  var b = new RTCPeerConnection();
  a.onsignalingstatechange = function () {
    log.push("a:" + a.signalingState);
  };
  b.onsignalingstatechange = function () {
    log.push("b:" + b.signalingState);
  };
  a.onnegotiationneeded = function () {
    log.push("a:negotiationneeded");
  };
  b.ondatachannel = function (e) {
    log.push("b:datachannel " + e.channel.label);
  };
  b.ontrack = function (e) {
    log.push("b:track " + e.track.kind);
  };
  var dc = a.createDataChannel("chat", { ordered: true });
  a.addTransceiver("audio", { direction: "sendrecv" });
  await new Promise(function (r) {
    setTimeout(r, 50);
  });
  var offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(
    new RTCSessionDescription(
      a.localDescription.toJSON
        ? a.localDescription.toJSON()
        : { type: a.localDescription.type, sdp: a.localDescription.sdp },
    ),
  );
  var answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription({ type: "answer", sdp: b.localDescription.sdp });
  await b.addIceCandidate(null);
  var result = {
    log: log,
    a: a.signalingState,
    b: b.signalingState,
    dc: [dc.label, dc.readyState === "connecting" || dc.readyState === "open"],
    transceivers: [a.getTransceivers().length, b.getTransceivers().length],
    mids: a.getTransceivers()[0].mid === b.getTransceivers()[0].mid,
    ctor: a.constructor.name,
    isGlobalClass: a instanceof RTCPeerConnection,
  };
  a.close();
  b.close();
  return result;
};

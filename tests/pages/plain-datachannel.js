// Unmodified WebRTC code with data channels: a classic script that only uses the standard global
// API (no imports, no knowledge of polyrtc). Two connections in one page, candidates trickled
// between them, a channel with a protocol, strings and bytes both ways, then close().
/* global RTCPeerConnection */
window.plainDataChannel = async function plainDataChannel() {
  var a = new RTCPeerConnection();
  var b = new RTCPeerConnection();
  a.onicecandidate = function (e) {
    if (e.candidate) b.addIceCandidate(e.candidate);
  };
  b.onicecandidate = function (e) {
    if (e.candidate) a.addIceCandidate(e.candidate);
  };
  var dc = a.createDataChannel("chat", { protocol: "json" });
  var remote = new Promise(function (resolve) {
    b.ondatachannel = function (e) {
      var ch = e.channel;
      ch.binaryType = "arraybuffer";
      var seen = [];
      ch.onmessage = function (ev) {
        seen.push(
          typeof ev.data === "string" ? ev.data : "bytes:" + new Uint8Array(ev.data).join(","),
        );
        if (seen.length === 3) ch.send("echo " + seen.join(" | "));
      };
      ch.onclose = function () {
        resolve({ label: ch.label, protocol: ch.protocol, seen: seen, state: ch.readyState });
      };
    };
  });
  var opened = new Promise(function (resolve) {
    dc.onopen = function () {
      resolve(dc.readyState);
    };
  });
  var echo = new Promise(function (resolve) {
    dc.onmessage = function (e) {
      resolve(e.data);
    };
  });
  var offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(offer);
  var answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  var openState = await opened;
  dc.send("hello");
  dc.send(new Uint8Array([1, 2, 3]));
  dc.send(JSON.stringify({ n: 1 }));
  var reply = await echo;
  dc.close();
  var far = await remote;
  var result = {
    openState: openState,
    reply: reply,
    far: far,
    connection: [a.connectionState, b.connectionState],
    sctp: [a.sctp && a.sctp.state, b.sctp && b.sctp.state],
  };
  a.close();
  b.close();
  return result;
};

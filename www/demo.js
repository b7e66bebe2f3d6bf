// The demo: installs polyrtc, then drives two peer connections in this page with nothing but the
// standard WebRTC API, showing the SDP and every event live.
import { install, ready } from "/js/index.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const params = new URLSearchParams(location.search);
const mode = params.get("mode") ?? "force";
/** @type {HTMLSelectElement} */ ($("mode")).value = mode;
$("mode").addEventListener("change", (e) => {
  params.set("mode", /** @type {HTMLSelectElement} */ (e.target).value);
  location.search = params.toString();
});

/** @param {string} text @param {string} [cls] */
function log(text, cls) {
  const li = document.createElement("li");
  li.textContent = `${(performance.now() / 1000).toFixed(3)}s ${text}`;
  if (cls) li.className = cls;
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

try {
  await ready;
  const info = install({ mode: /** @type {"force" | "missing"} */ (mode) });
  const which = info.installed ? "polyrtc installed (WebAssembly)" : "native WebRTC kept";
  $("status").textContent = `${which} — mode "${mode}"`;
  $("status").className = "ok";
} catch (e) {
  $("status").textContent = `failed to load: ${e}`;
  $("status").className = "bad";
  throw e;
}

/** @type {RTCPeerConnection | null} */ let a = null;
/** @type {RTCPeerConnection | null} */ let b = null;

/** @param {RTCPeerConnection} pc @param {string} name */
function watch(pc, name) {
  const row = $(`state-${name.toLowerCase()}`);
  const show = () => {
    const cells = row.querySelectorAll("td");
    cells[0].textContent = pc.signalingState;
    cells[1].textContent = pc.iceGatheringState;
    cells[2].textContent = pc.iceConnectionState;
    cells[3].textContent = pc.connectionState;
  };
  show();
  for (const type of [
    "signalingstatechange",
    "icegatheringstatechange",
    "iceconnectionstatechange",
    "connectionstatechange",
    "negotiationneeded",
    "icecandidate",
    "icecandidateerror",
    "datachannel",
    "track",
  ]) {
    pc.addEventListener(type, (ev) => {
      const e = /** @type {any} */ (ev);
      let detail = "";
      if (type === "signalingstatechange") detail = pc.signalingState;
      else if (type === "icegatheringstatechange") detail = pc.iceGatheringState;
      else if (type === "iceconnectionstatechange") detail = pc.iceConnectionState;
      else if (type === "connectionstatechange") detail = pc.connectionState;
      else if (type === "icecandidate") detail = e.candidate ? e.candidate.candidate : "null";
      else if (type === "icecandidateerror") detail = `${e.errorCode} ${e.url}`;
      else if (type === "track") detail = e.track.kind;
      else if (type === "datachannel") detail = e.channel.label;
      log(`${name}: ${type} ${detail}`);
      show();
    });
  }
}

function fresh() {
  a?.close();
  b?.close();
  a = new RTCPeerConnection();
  b = new RTCPeerConnection();
  watch(a, "A");
  watch(b, "B");
  a.createDataChannel("chat");
  a.addTransceiver("audio");
  a.addTransceiver("video");
  return { a, b };
}

$("offer").addEventListener("click", async () => {
  const { a } = fresh();
  const offer = await a.createOffer();
  $("sdp").textContent = offer.sdp ?? "";
  log("A: createOffer resolved", "ok");
});

$("negotiate").addEventListener("click", async () => {
  try {
    const { a, b } = fresh();
    await a.setLocalDescription();
    $("sdp").textContent = a.localDescription?.sdp ?? "";
    await b.setRemoteDescription(/** @type {RTCSessionDescription} */ (a.localDescription));
    await b.setLocalDescription();
    await a.setRemoteDescription(/** @type {RTCSessionDescription} */ (b.localDescription));
    log(`negotiated: A ${a.signalingState}, B ${b.signalingState}`, "ok");
  } catch (e) {
    log(`error: ${e}`, "bad");
  }
});

$("close").addEventListener("click", () => {
  a?.close();
  b?.close();
  log("closed both");
});

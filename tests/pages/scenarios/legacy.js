// Legacy stream API that Chromium still ships (addStream, removeStream, getLocalStreams,
// getRemoteStreams) and webkitRTCPeerConnection-era members, compared against native.

export const legacy = {
  "legacy-stream-api-surface": async (env, t) => {
    const P = env.RTCPeerConnection.prototype;
    t.log(
      [
        "addStream",
        "removeStream",
        "getLocalStreams",
        "getRemoteStreams",
        "createDTMFSender",
        "onaddstream",
        "onremovestream",
      ].map((k) => [k, k in P]),
    );
  },

  "legacy-add-stream": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    const s = await t.media({ audio: true, video: true });
    await t.attempt(
      "addStream",
      () => a.addStream(s),
      (r) => r,
    );
    await t.flush();
    t.log(
      a
        .getSenders()
        .map((x) => x.track?.kind)
        .sort(),
      a.getLocalStreams().map((x) => x === s),
    );
    await t.attempt("addStream again", () => a.addStream(s));
    await t.attempt("addStream not a stream", () => a.addStream({}));
    await t.attempt("addStream no args", () => a.addStream());
    const added = [];
    b.addEventListener("addstream", (e) =>
      added.push([e.type, e.stream?.id === s.id, e.stream?.getTracks().length]),
    );
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await t.flush();
    t.log("addstream events", added);
    t.log(
      "remote streams",
      b.getRemoteStreams().map((x) => [x.id === s.id, x.getTracks().length]),
    );
    await t.attempt("removeStream", () => a.removeStream(s));
    await t.flush();
    t.log(
      a.getLocalStreams().length,
      a.getSenders().map((x) => x.track),
    );
    await t.attempt("removeStream unknown", () => a.removeStream(new env.MediaStream()));
    a.close();
    await t.attempt("addStream closed", () => a.addStream(s));
    await t.attempt(
      "getLocalStreams closed",
      () => a.getLocalStreams(),
      (r) => r.length,
    );
  },

  "legacy-get-local-streams-from-add-track": async (env, t) => {
    const pc = t.pc();
    const s = await t.media({ audio: true });
    pc.addTrack(s.getAudioTracks()[0], s);
    t.log(pc.getLocalStreams().map((x) => x === s));
    pc.addTransceiver("video");
    t.log(pc.getLocalStreams().length, pc.getRemoteStreams().length);
  },

  "legacy-dtmf-sender": async (env, t) => {
    const pc = t.pc();
    const at = await t.track("audio");
    const vt = await t.track("video");
    pc.addTrack(at);
    pc.addTrack(vt);
    await t.attempt(
      "createDTMFSender audio",
      () => pc.createDTMFSender(at),
      (d) => [d instanceof env.RTCDTMFSender, d.toneBuffer, d.canInsertDTMF],
    );
    await t.attempt("createDTMFSender video", () => pc.createDTMFSender(vt));
    const other = await t.track("audio");
    await t.attempt("createDTMFSender foreign track", () => pc.createDTMFSender(other));
    const d = pc.getSenders()[0].dtmf;
    t.log(d.toneBuffer, d.canInsertDTMF);
    await t.attempt("insertDTMF before negotiation", () => d.insertDTMF("123"));
    t.log(d.toneBuffer);
  },
};

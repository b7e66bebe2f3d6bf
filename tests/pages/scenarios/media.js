// RTP media API (webrtc-pc §5): addTrack/removeTrack/addTransceiver, senders/receivers/
// transceivers, direction/currentDirection/mid, stop(), replaceTrack, track events.

import { transceiverShape, transceiverInfo, mlineKinds, mlineDirections } from "./util.js";

export const media = {
  "add-track-basics": async (env, t) => {
    const pc = t.pc();
    const s = await t.media({ audio: true, video: true });
    const [at] = s.getAudioTracks();
    const [vt] = s.getVideoTracks();
    const sa = await t.attempt(
      "addTrack audio",
      () => pc.addTrack(at, s),
      (x) => x instanceof env.RTCRtpSender,
    );
    const sv = await t.attempt(
      "addTrack video no stream",
      () => pc.addTrack(vt),
      (x) => x.track === vt,
    );
    t.log(
      sa.track === at,
      pc.getSenders().length,
      pc.getReceivers().length,
      pc.getTransceivers().length,
    );
    t.log(pc.getTransceivers().map(transceiverInfo));
    t.log(pc.getSenders()[0] === sa, pc.getTransceivers()[1].sender === sv);
    t.log(
      pc
        .getReceivers()
        .map((r) => [r.track.kind, r.track.readyState, r.track instanceof env.MediaStreamTrack]),
    );
    t.log("receiver track ids differ from sender", pc.getReceivers()[0].track.id !== at.id);
    await t.attempt("addTrack duplicate", () => pc.addTrack(at, s));
    await t.attempt("addTrack not a track", () => pc.addTrack({ kind: "audio" }));
    await t.attempt("addTrack no args", () => pc.addTrack());
  },

  "add-track-reuses-transceiver": async (env, t) => {
    const pc = t.pc();
    const tr = pc.addTransceiver("audio", { direction: "recvonly" });
    const track = await t.track("audio");
    const sender = pc.addTrack(track);
    // Only transceivers that were never used to send are reused; a fresh recvonly one was not.
    t.log(
      pc.getTransceivers().length,
      sender === tr.sender,
      transceiverInfo(pc.getTransceivers()[0]),
    );
  },

  "remove-track": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    const track = await t.track("audio");
    const sender = a.addTrack(track);
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    await t.attempt("removeTrack", () => a.removeTrack(sender));
    t.log(sender.track, transceiverShape(a.getTransceivers()[0]), a.getSenders().length);
    await t.flush();
    await t.attempt("removeTrack again", () => a.removeTrack(sender));
    await t.flush();
    await t.attempt("removeTrack foreign sender", () => a.removeTrack(b.getSenders()[0]));
    await t.attempt("removeTrack not a sender", () => a.removeTrack({}));
    a.close();
    await t.attempt("removeTrack closed", () => a.removeTrack(sender));
  },

  "add-track-closed": async (env, t) => {
    const pc = t.pc();
    const track = await t.track("audio");
    pc.close();
    await t.attempt("addTrack after close", () => pc.addTrack(track));
    await t.attempt("addTransceiver after close", () => pc.addTransceiver("audio"));
    await t.attempt("addTransceiver track after close", () => pc.addTransceiver(track));
  },

  "add-transceiver-variants": async (env, t) => {
    const pc = t.pc();
    const track = await t.track("video");
    const ms = new env.MediaStream();
    await t.attempt("audio", () => pc.addTransceiver("audio"), transceiverInfo);
    await t.attempt(
      "video recvonly",
      () => pc.addTransceiver("video", { direction: "recvonly" }),
      transceiverInfo,
    );
    await t.attempt(
      "track sendonly with stream",
      () => pc.addTransceiver(track, { direction: "sendonly", streams: [ms] }),
      transceiverInfo,
    );
    await t.attempt(
      "inactive",
      () => pc.addTransceiver("audio", { direction: "inactive" }),
      transceiverInfo,
    );
    await t.attempt("bad kind", () => pc.addTransceiver("data"));
    await t.attempt("no args", () => pc.addTransceiver());
    await t.attempt(
      "direction stopped",
      () => pc.addTransceiver("audio", { direction: "stopped" }),
      transceiverInfo,
    );
    await t.attempt("bad direction", () => pc.addTransceiver("audio", { direction: "up" }));
    await t.attempt("streams not a sequence", () => pc.addTransceiver("audio", { streams: 1 }));
    t.log(
      pc.getTransceivers().length,
      pc.getTransceivers().map((x) => x.receiver.track.kind),
    );
    t.log(
      pc.getTransceivers()[0] instanceof env.RTCRtpTransceiver,
      Object.prototype.toString.call(pc.getTransceivers()[0]),
    );
  },

  "add-transceiver-send-encodings": async (env, t) => {
    const pc = t.pc();
    const tr = await t.attempt("one encoding", () =>
      pc.addTransceiver("video", { sendEncodings: [{ maxBitrate: 100000 }] }),
    );
    if (tr) {
      const p = tr.sender.getParameters();
      t.log(p.encodings.length, p.encodings[0].maxBitrate, p.encodings[0].active);
    }
    await t.attempt(
      "simulcast rids",
      () =>
        pc.addTransceiver("video", {
          sendEncodings: [{ rid: "a" }, { rid: "b", scaleResolutionDownBy: 2 }],
        }),
      (x) => x.sender.getParameters().encodings.map((e) => e.rid),
    );
    await t.attempt("duplicate rids", () =>
      pc.addTransceiver("video", {
        sendEncodings: [{ rid: "a" }, { rid: "a" }],
      }),
    );
    await t.attempt("scaleResolutionDownBy 0.5", () =>
      pc.addTransceiver("video", {
        sendEncodings: [{ scaleResolutionDownBy: 0.5 }],
      }),
    );
    await t.attempt("audio scaleResolutionDownBy", () =>
      pc.addTransceiver("audio", {
        sendEncodings: [{ scaleResolutionDownBy: 2 }],
      }),
    );
  },

  "transceiver-direction": async (env, t) => {
    const pc = t.pc();
    t.events(pc, ["negotiationneeded"]);
    const tr = pc.addTransceiver("audio");
    await t.flush();
    await t.attempt("set sendonly", () => {
      tr.direction = "sendonly";
    });
    t.log(tr.direction);
    await t.attempt("set bogus", () => {
      tr.direction = "bogus";
    });
    t.log(tr.direction);
    await t.attempt("set stopped", () => {
      tr.direction = "stopped";
    });
    t.log(tr.direction);
    await t.attempt("setDirection method", () =>
      typeof tr.setDirection === "function" ? tr.setDirection("recvonly") : "absent",
    );
    await t.flush();
  },

  "transceiver-current-direction-after-negotiation": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    const track = await t.track("audio");
    a.addTrack(track);
    a.addTransceiver("video", { direction: "recvonly" });
    a.addTransceiver("audio", { direction: "sendonly" });
    a.addTransceiver("video", { direction: "inactive" });
    t.log("a before", a.getTransceivers().map(transceiverShape));
    await a.setLocalDescription();
    t.log(
      "a after SLD",
      a.getTransceivers().map(transceiverShape),
      mlineDirections(a.localDescription.sdp),
    );
    await b.setRemoteDescription(a.localDescription);
    t.log("b after SRD", b.getTransceivers().map(transceiverShape));
    await b.setLocalDescription();
    t.log(
      "b answer",
      mlineDirections(b.localDescription.sdp),
      b.getTransceivers().map(transceiverShape),
    );
    await a.setRemoteDescription(b.localDescription);
    t.log("a final", a.getTransceivers().map(transceiverShape));
    const midsA = a.getTransceivers().map((x) => x.mid);
    const midsB = b.getTransceivers().map((x) => x.mid);
    t.log("mids agree", JSON.stringify(midsA) === JSON.stringify(midsB), new Set(midsA).size);
  },

  "transceiver-stop": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["negotiationneeded"], { label: "a" });
    const track = await t.track("audio");
    a.addTrack(track);
    a.addTransceiver("video");
    await t.flush();
    await t.negotiate(a, b);
    await t.flush();
    const [tr] = a.getTransceivers();
    await t.attempt("stop", () => tr.stop());
    t.log(
      tr.direction,
      tr.currentDirection,
      tr.mid !== null,
      tr.sender.track === null,
      tr.receiver.track.readyState,
    );
    await t.flush();
    await t.attempt("set direction on stopping", () => {
      tr.direction = "sendrecv";
    });
    await t.attempt("replaceTrack on stopping", () => tr.sender.replaceTrack(null));
    await t.attempt("stop again", () => tr.stop());
    const offer = await a.createOffer();
    t.log(
      "offer ports",
      offer.sdp
        .split("\r\n")
        .filter((l) => l.startsWith("m="))
        .map((l) => l.split(" ")[1] === "0"),
    );
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(a.localDescription);
    t.log(
      "b sees stopped",
      b.getTransceivers().map((x) => [x.direction, x.currentDirection]),
    );
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.flush();
    t.log(
      "a after",
      a.getTransceivers().map((x) => [x.direction, x.currentDirection, x.mid === null]),
    );
  },

  "transceiver-stop-before-negotiation": async (env, t) => {
    const a = t.pc();
    const tr = a.addTransceiver("audio");
    tr.stop();
    t.log(tr.direction, tr.currentDirection, tr.mid, a.getTransceivers().length);
    const o = await a.createOffer();
    t.log(mlineKinds(o.sdp));
  },

  "replace-track": async (env, t) => {
    const pc = t.pc();
    const at = await t.track("audio");
    const at2 = await t.track("audio");
    const vt = await t.track("video");
    const sender = pc.addTrack(at);
    await t.attempt("kind mismatch", () => sender.replaceTrack(vt));
    t.log(sender.track === at);
    await t.attempt(
      "same kind",
      () => sender.replaceTrack(at2),
      (r) => r,
    );
    t.log(sender.track === at2);
    await t.attempt("null", () => sender.replaceTrack(null));
    t.log(sender.track);
    await t.attempt("not a track", () => sender.replaceTrack({}));
    const rtr = pc.addTransceiver("video", { direction: "recvonly" });
    await t.attempt("audio on video sender", () => rtr.sender.replaceTrack(at));
    await t.attempt("video on recvonly video sender", () => rtr.sender.replaceTrack(vt));
    t.log(rtr.sender.track === vt, rtr.direction);
    pc.close();
    await t.attempt("after close", () => sender.replaceTrack(at));
  },

  "track-events-on-srd": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    const s = await t.media({ audio: true, video: true });
    a.addTrack(s.getAudioTracks()[0], s);
    a.addTrack(s.getVideoTracks()[0], s);
    const extra = await t.track("audio");
    a.addTrack(extra);
    const evs = [];
    b.addEventListener("track", (e) => evs.push(e));
    t.events(b, ["track"], { label: "b" });
    await a.setLocalDescription();
    await t.attempt("SRD", () => b.setRemoteDescription(a.localDescription));
    t.log("events before SRD resolved", evs.length);
    t.log(
      evs.map((e) => [
        e instanceof env.RTCTrackEvent,
        e.track.kind,
        e.streams.length,
        e.streams[0]?.id === s.id,
        e.track.readyState,
        e.track.muted,
        e.receiver === e.transceiver.receiver,
        e.track === e.receiver.track,
      ]),
    );
    t.log(
      "same stream object",
      evs[0].streams[0] === evs[1].streams[0],
      evs[0].streams[0] instanceof env.MediaStream,
    );
    t.log("stream has both tracks", evs[0].streams[0].getTracks().length);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    await t.flush();
    t.log("a got no tracks (b sends nothing)", a.getReceivers().length);
  },

  "track-events-renegotiation": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    t.events(a, ["track"], { label: "a" });
    t.events(b, ["track"], { label: "b" });
    const at = await t.track("audio");
    a.addTrack(at);
    await t.negotiate(a, b);
    await t.flush();
    t.log("renegotiate unchanged");
    await t.negotiate(a, b);
    await t.flush();
    t.log("b adds a track and answers");
    const bt = await t.track("video");
    b.addTrack(bt);
    await t.negotiate(b, a);
    await t.flush();
    t.log("a sets direction inactive");
    a.getTransceivers()[0].direction = "inactive";
    await t.negotiate(a, b);
    await t.flush();
    t.log(b.getTransceivers().map((x) => [x.receiver.track.kind, x.currentDirection]));
  },

  "track-event-ctor": async (env, t) => {
    await t.attempt("no init", () => new env.RTCTrackEvent("track"));
    const pc = t.pc();
    const tr = pc.addTransceiver("audio");
    await t.attempt(
      "full init",
      () =>
        new env.RTCTrackEvent("track", {
          receiver: tr.receiver,
          track: tr.receiver.track,
          transceiver: tr,
        }),
      (e) => [e.type, e.streams.length, e.track === tr.receiver.track, e.transceiver === tr],
    );
  },

  "legacy-offer-to-receive": async (env, t) => {
    const pc = t.pc();
    const o1 = await t.attempt(
      "offerToReceiveAudio",
      () => pc.createOffer({ offerToReceiveAudio: true }),
      (d) => mlineKinds(d.sdp),
    );
    await t.attempt(
      "audio+video",
      () =>
        pc.createOffer({
          offerToReceiveAudio: true,
          offerToReceiveVideo: true,
        }),
      (d) => [mlineKinds(d.sdp), mlineDirections(d.sdp)],
    );
    t.log(pc.getTransceivers().map(transceiverShape));
    await t.attempt(
      "numeric 2 video",
      () => pc.createOffer({ offerToReceiveVideo: 2 }),
      (d) => mlineKinds(d.sdp),
    );
    await t.attempt(
      "false",
      () =>
        pc.createOffer({
          offerToReceiveAudio: false,
          offerToReceiveVideo: false,
        }),
      (d) => [mlineKinds(d.sdp), mlineDirections(d.sdp)],
    );
    t.log(pc.getTransceivers().map(transceiverShape));
    void o1;
  },

  "legacy-offer-to-receive-with-senders": async (env, t) => {
    const pc = t.pc();
    const track = await t.track("audio");
    pc.addTrack(track);
    await t.attempt(
      "sendrecv audio + receive video",
      () => pc.createOffer({ offerToReceiveVideo: true }),
      (d) => [mlineKinds(d.sdp), mlineDirections(d.sdp)],
    );
    await t.attempt(
      "offerToReceiveAudio false on sender",
      () => pc.createOffer({ offerToReceiveAudio: false }),
      (d) => [mlineKinds(d.sdp), mlineDirections(d.sdp)],
    );
    t.log(pc.getTransceivers().map(transceiverShape));
  },

  "sender-receiver-misc": async (env, t) => {
    const pc = t.pc();
    const tr = pc.addTransceiver("audio");
    t.log(typeof env.RTCRtpSender.getCapabilities, typeof env.RTCRtpReceiver.getCapabilities);
    const caps = env.RTCRtpSender.getCapabilities("audio");
    t.log(
      caps && Array.isArray(caps.codecs),
      caps && caps.codecs.some((c) => /opus/i.test(c.mimeType)),
    );
    t.log(env.RTCRtpSender.getCapabilities("bogus"));
    const p = tr.sender.getParameters();
    t.log(
      Object.keys(p)
        .sort()
        .filter((k) =>
          ["transactionId", "encodings", "codecs", "headerExtensions", "rtcp"].includes(k),
        ),
    );
    t.log(tr.receiver.getContributingSources(), tr.receiver.getSynchronizationSources());
    t.log(tr.sender.dtmf instanceof env.RTCDTMFSender, pc.addTransceiver("video").sender.dtmf);
  },
};

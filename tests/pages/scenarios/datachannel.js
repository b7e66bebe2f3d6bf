// createDataChannel validation and RTCDataChannel attributes (webrtc-pc §6.1, §6.2).

const DC_ATTRS = [
  "label",
  "ordered",
  "maxPacketLifeTime",
  "maxRetransmits",
  "protocol",
  "negotiated",
  "id",
  "readyState",
  "bufferedAmount",
  "bufferedAmountLowThreshold",
  "binaryType",
];

export function dcAttrs(dc) {
  const o = {};
  for (const k of DC_ATTRS) o[k] = dc[k];
  if (typeof o.label === "string" && o.label.length > 40) o.label = `<${o.label.length} chars>`;
  return o;
}

function create(t, pc, label, args) {
  return t.attempt(
    label,
    () => pc.createDataChannel(...args),
    (dc) => dcAttrs(dc),
  );
}

export const datachannel = {
  "dc-defaults": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("chat");
    t.log(dcAttrs(dc));
    t.log(
      dc instanceof env.RTCDataChannel,
      dc instanceof EventTarget,
      Object.prototype.toString.call(dc),
    );
    t.log(
      ["onopen", "onclose", "onclosing", "onerror", "onmessage", "onbufferedamountlow"].map(
        (h) => dc[h],
      ),
    );
  },

  "dc-init-members": async (env, t) => {
    const pc = t.pc();
    await create(t, pc, "unordered maxRetransmits", ["a", { ordered: false, maxRetransmits: 3 }]);
    await create(t, pc, "maxPacketLifeTime", ["b", { maxPacketLifeTime: 1000 }]);
    await create(t, pc, "protocol", ["c", { protocol: "chat/1" }]);
    await create(t, pc, "negotiated id 5", ["d", { negotiated: true, id: 5 }]);
    await create(t, pc, "id without negotiated is ignored", ["e", { id: 7 }]);
    await create(t, pc, "maxRetransmits 0", ["f", { maxRetransmits: 0 }]);
    await create(t, pc, "label coerced", [123]);
    await create(t, pc, "empty label", [""]);
    await create(t, pc, "unicode label", ["\u00e9\u{1F600}"]);
    await create(t, pc, "null init", ["g", null]);
  },

  "dc-validation-errors": async (env, t) => {
    const pc = t.pc();
    await create(t, pc, "no args", []);
    await create(t, pc, "negotiated without id", ["a", { negotiated: true }]);
    await create(t, pc, "id 65535", ["b", { negotiated: true, id: 65535 }]);
    await create(t, pc, "id 65536", ["c", { negotiated: true, id: 65536 }]);
    await create(t, pc, "id -1", ["d", { negotiated: true, id: -1 }]);
    await create(t, pc, "both maxRetransmits and maxPacketLifeTime", [
      "e",
      { maxRetransmits: 1, maxPacketLifeTime: 1 },
    ]);
    await create(t, pc, "maxRetransmits 65536", ["f", { maxRetransmits: 65536 }]);
    await create(t, pc, "maxPacketLifeTime -1", ["g", { maxPacketLifeTime: -1 }]);
    await create(t, pc, "label 65535 bytes ok", ["x".repeat(65535)]).then(() => {});
    await create(t, pc, "label 65536 bytes", ["x".repeat(65536)]);
    await create(t, pc, "label 65535 bytes of multibyte", ["\u00e9".repeat(32768)]);
    await create(t, pc, "protocol 65536 bytes", ["h", { protocol: "p".repeat(65536) }]);
    await create(t, pc, "bad ordered type coerces", ["i", { ordered: 0 }]);
  },

  "dc-label-length-result": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x".repeat(65535));
    t.log(dc.label.length);
  },

  "dc-negotiated-id-range-and-duplicates": async (env, t) => {
    const pc = t.pc();
    await create(t, pc, "id 0", ["a", { negotiated: true, id: 0 }]);
    await create(t, pc, "duplicate id 0", ["b", { negotiated: true, id: 0 }]);
    await create(t, pc, "id 1023", ["c", { negotiated: true, id: 1023 }]);
    await create(t, pc, "id 1024", ["d", { negotiated: true, id: 1024 }]);
    await create(t, pc, "id 65534", ["e", { negotiated: true, id: 65534 }]);
    const dc = pc.createDataChannel("f", { negotiated: true, id: 9 });
    dc.close();
    await create(t, pc, "reuse id of closed channel", ["g", { negotiated: true, id: 9 }]);
  },

  "dc-closed-pc": async (env, t) => {
    const pc = t.pc();
    pc.close();
    await create(t, pc, "after close", ["x"]);
    await create(t, pc, "after close, invalid init", ["x", { negotiated: true }]);
  },

  "dc-binary-type": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x");
    t.log(dc.binaryType);
    await t.attempt("set blob", () => {
      dc.binaryType = "blob";
    });
    t.log(dc.binaryType);
    await t.attempt("set arraybuffer", () => {
      dc.binaryType = "arraybuffer";
    });
    await t.attempt("set bogus", () => {
      dc.binaryType = "bogus";
    });
    t.log(dc.binaryType);
  },

  "dc-send-and-close-before-open": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x");
    t.events(dc, ["open", "closing", "close", "error"], { label: "dc" });
    await t.attempt("send while connecting", () => dc.send("hi"));
    await t.attempt("send ArrayBuffer while connecting", () => dc.send(new ArrayBuffer(4)));
    await t.attempt("send no args", () => dc.send());
    t.log(dc.bufferedAmount);
    await t.attempt("close", () => dc.close());
    t.log(dc.readyState);
    await t.flush(100);
    t.log(dc.readyState);
    await t.attempt("send after close", () => dc.send("x"));
    await t.attempt("close again", () => dc.close());
  },

  "dc-buffered-amount-low-threshold": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x");
    dc.bufferedAmountLowThreshold = 1024;
    t.log(dc.bufferedAmountLowThreshold);
    await t.attempt("negative", () => {
      dc.bufferedAmountLowThreshold = -1;
    });
    t.log(dc.bufferedAmountLowThreshold);
    await t.attempt("readonly bufferedAmount", () => {
      dc.bufferedAmount = 5;
    });
    t.log(dc.bufferedAmount);
  },

  "dc-id-after-negotiation": async (env, t) => {
    const a = t.pc();
    const b = t.pc();
    const dc1 = a.createDataChannel("one");
    const dc2 = a.createDataChannel("two", { negotiated: true, id: 42 });
    t.log("before", dc1.id, dc2.id);
    await a.setLocalDescription();
    t.log("after SLD offer", dc1.id);
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    t.log(
      "after SRD answer (DTLS role known)",
      typeof dc1.id,
      dc1.id === null ? null : dc1.id % 2,
      dc2.id,
    );
    const dc3 = a.createDataChannel("three");
    t.log(
      "created after negotiation",
      typeof dc3.id,
      dc3.id === null ? null : dc3.id % 2,
      dc3.id === dc1.id,
    );
    t.log(dc1.readyState, dc3.readyState);
  },

  "dc-readystate-after-pc-close": async (env, t) => {
    const pc = t.pc();
    const dc = pc.createDataChannel("x");
    const neg = pc.createDataChannel("n", { negotiated: true, id: 3 });
    t.events(dc, ["open", "closing", "close", "error"], { label: "dc" });
    t.events(neg, ["open", "closing", "close", "error"], { label: "neg" });
    pc.close();
    t.log(dc.readyState, neg.readyState);
    await t.flush(100);
    t.log(dc.readyState, neg.readyState);
  },
};

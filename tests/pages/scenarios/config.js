// RTCPeerConnection constructor, RTCConfiguration validation, getConfiguration/setConfiguration
// and generateCertificate (W3C webrtc-pc §4.2, §4.4.1.6 "set a configuration", §4.10).

import { stdConfig, sleep } from "./util.js";

const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

/** sha-256 fingerprint: 32 colon-separated hex bytes; the spec says lowercase hex. */
function fpFormat(v) {
  return {
    lowercase: /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/.test(v),
    uppercase: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(v),
  };
}

async function ctor(t, label, config) {
  return t.attempt(
    label,
    () => t.pc(config),
    (pc) => pc.signalingState,
  );
}

export const config = {
  "ctor-arguments": async (env, t) => {
    await ctor(t, "no args", undefined);
    await ctor(t, "undefined", undefined);
    await ctor(t, "null", null);
    await ctor(t, "empty", {});
    await ctor(t, "number", 1);
    await ctor(t, "string", "x");
    await t.attempt("call without new", () => env.RTCPeerConnection());
    await ctor(t, "unknown member ignored", { foo: 1 });
  },

  "ctor-default-configuration": async (env, t) => {
    const pc = t.pc();
    t.log(stdConfig(pc.getConfiguration()));
    t.log(pc.getConfiguration() !== pc.getConfiguration());
  },

  "ctor-bad-url-scheme": async (env, t) => {
    for (const urls of [
      "http://127.0.0.1",
      "foo:127.0.0.1",
      "127.0.0.1",
      "",
      "stun:",
      ["stun:127.0.0.1", "bogus:1"],
      "turn:127.0.0.1?transport=sctp",
    ]) {
      await ctor(t, `urls ${JSON.stringify(urls)}`, {
        iceServers: [{ urls, username: "u", credential: "p" }],
      });
    }
    await ctor(t, "urls empty list", { iceServers: [{ urls: [] }] });
  },

  "ctor-valid-urls": async (env, t) => {
    for (const urls of [
      "stun:127.0.0.1",
      "stun:127.0.0.1:3478",
      "stun:[::1]:3478",
      "stun:example.invalid",
      "turn:127.0.0.1?transport=udp",
      "turn:127.0.0.1:3478?transport=tcp",
      "turns:127.0.0.1:5349",
      ["stun:127.0.0.1", "turn:127.0.0.1"],
    ]) {
      await ctor(t, `urls ${JSON.stringify(urls)}`, {
        iceServers: [{ urls, username: "u", credential: "p" }],
      });
    }
  },

  "ctor-turn-without-credentials": async (env, t) => {
    await ctor(t, "turn no username/credential", {
      iceServers: [{ urls: "turn:127.0.0.1" }],
    });
    await ctor(t, "turns no username/credential", {
      iceServers: [{ urls: "turns:127.0.0.1" }],
    });
    await ctor(t, "turn username only", {
      iceServers: [{ urls: "turn:127.0.0.1", username: "u" }],
    });
    await ctor(t, "turn credential only", {
      iceServers: [{ urls: "turn:127.0.0.1", credential: "p" }],
    });
    await ctor(t, "stun without credentials", {
      iceServers: [{ urls: "stun:127.0.0.1" }],
    });
    await ctor(t, "turn in list without credentials", {
      iceServers: [{ urls: ["stun:127.0.0.1", "turn:127.0.0.1"] }],
    });
  },

  "ctor-invalid-enums": async (env, t) => {
    await ctor(t, "iceTransportPolicy", { iceTransportPolicy: "none" });
    await ctor(t, "iceTransportPolicy public (legacy)", {
      iceTransportPolicy: "public",
    });
    await ctor(t, "bundlePolicy", { bundlePolicy: "max" });
    await ctor(t, "rtcpMuxPolicy", { rtcpMuxPolicy: "maybe" });
    await ctor(t, "valid relay", { iceTransportPolicy: "relay" });
    await ctor(t, "valid max-compat", { bundlePolicy: "max-compat" });
    await ctor(t, "valid max-bundle", { bundlePolicy: "max-bundle" });
  },

  "ctor-rtcpmux-negotiate": async (env, t) => {
    await ctor(t, "negotiate", { rtcpMuxPolicy: "negotiate" });
    await ctor(t, "require", { rtcpMuxPolicy: "require" });
  },

  "ctor-iceservers-not-a-sequence": async (env, t) => {
    await ctor(t, "object", { iceServers: {} });
    await ctor(t, "string", { iceServers: "stun:127.0.0.1" });
    await ctor(t, "number", { iceServers: 1 });
    await ctor(t, "null", { iceServers: null });
    await ctor(t, "server not an object", { iceServers: [1] });
    await ctor(t, "server without urls", { iceServers: [{}] });
    await ctor(t, "server urls null", { iceServers: [{ urls: null }] });
    await ctor(t, "iterable Set", {
      iceServers: new Set([{ urls: "stun:127.0.0.1" }]),
    });
  },

  "ctor-ice-candidate-pool-size": async (env, t) => {
    for (const n of [0, 1, 255, 256, -1, 1.5, "3", NaN]) {
      await t.attempt(
        `pool ${String(n)}`,
        () => t.pc({ iceCandidatePoolSize: n }),
        (pc) => pc.getConfiguration().iceCandidatePoolSize,
      );
    }
  },

  "ctor-expired-certificate": async (env, t) => {
    const cert = await env.RTCPeerConnection.generateCertificate({
      ...ECDSA,
      expires: 1,
    });
    await sleep(20);
    t.log(cert.expires <= Date.now());
    await ctor(t, "expired certificate", { certificates: [cert] });
    const good = await env.RTCPeerConnection.generateCertificate(ECDSA);
    await ctor(t, "valid certificate", { certificates: [good] });
    await ctor(t, "certificates not objects", { certificates: [1] });
  },

  "get-configuration-roundtrip": async (env, t) => {
    const cfg = {
      iceServers: [
        { urls: "stun:127.0.0.1:3478" },
        {
          urls: ["turn:127.0.0.1?transport=udp", "turn:127.0.0.1?transport=tcp"],
          username: "u",
          credential: "p",
        },
      ],
      iceTransportPolicy: "relay",
      bundlePolicy: "max-bundle",
      rtcpMuxPolicy: "require",
      iceCandidatePoolSize: 2,
    };
    const pc = t.pc(cfg);
    t.log(stdConfig(pc.getConfiguration()));
    const got = pc.getConfiguration();
    got.iceServers.push({ urls: "stun:x" });
    got.bundlePolicy = "balanced";
    t.log("mutation does not leak", stdConfig(pc.getConfiguration()));
  },

  "get-configuration-certificates": async (env, t) => {
    const cert = await env.RTCPeerConnection.generateCertificate(ECDSA);
    const pc = t.pc({ certificates: [cert] });
    const c = pc.getConfiguration();
    t.log(
      c.certificates.length,
      c.certificates[0] === cert,
      c.certificates[0] instanceof env.RTCCertificate,
    );
  },

  "set-configuration-invalid-modification": async (env, t) => {
    const cert = await env.RTCPeerConnection.generateCertificate(ECDSA);
    const cert2 = await env.RTCPeerConnection.generateCertificate(ECDSA);
    const pc = t.pc({ bundlePolicy: "max-bundle", certificates: [cert] });
    await t.attempt("same", () =>
      pc.setConfiguration({ bundlePolicy: "max-bundle", certificates: [cert] }),
    );
    await t.attempt("bundlePolicy change", () =>
      pc.setConfiguration({ bundlePolicy: "balanced", certificates: [cert] }),
    );
    await t.attempt("bundlePolicy default", () => pc.setConfiguration({ certificates: [cert] }));
    await t.attempt("rtcpMuxPolicy negotiate", () =>
      pc.setConfiguration({
        bundlePolicy: "max-bundle",
        rtcpMuxPolicy: "negotiate",
        certificates: [cert],
      }),
    );
    await t.attempt("certificates change", () =>
      pc.setConfiguration({
        bundlePolicy: "max-bundle",
        certificates: [cert2],
      }),
    );
    await t.attempt("certificates removed", () =>
      pc.setConfiguration({ bundlePolicy: "max-bundle" }),
    );
    t.log(stdConfig(pc.getConfiguration()));
  },

  "set-configuration-allowed-changes": async (env, t) => {
    const pc = t.pc();
    await t.attempt("iceServers", () =>
      pc.setConfiguration({
        iceServers: [{ urls: "turn:127.0.0.1", username: "a", credential: "b" }],
      }),
    );
    await t.attempt("iceTransportPolicy", () =>
      pc.setConfiguration({ iceTransportPolicy: "relay" }),
    );
    await t.attempt("pool size", () => pc.setConfiguration({ iceCandidatePoolSize: 1 }));
    t.log(stdConfig(pc.getConfiguration()));
    await t.attempt("bad url", () => pc.setConfiguration({ iceServers: [{ urls: "http://x" }] }));
    await t.attempt("turn no creds", () =>
      pc.setConfiguration({ iceServers: [{ urls: "turn:127.0.0.1" }] }),
    );
    await t.attempt("bad enum", () => pc.setConfiguration({ iceTransportPolicy: "x" }));
    await t.attempt("no argument", () => pc.setConfiguration());
    t.log(stdConfig(pc.getConfiguration()));
  },

  "set-configuration-closed": async (env, t) => {
    const pc = t.pc();
    pc.close();
    await t.attempt("setConfiguration after close", () => pc.setConfiguration({}));
    await t.attempt("getConfiguration after close", () => pc.getConfiguration(), stdConfig);
  },

  "generate-certificate-ecdsa": async (env, t) => {
    const before = Date.now();
    const cert = await t.attempt(
      "ECDSA P-256",
      () => env.RTCPeerConnection.generateCertificate(ECDSA),
      (c) => c instanceof env.RTCCertificate,
    );
    t.log(typeof cert.expires, cert.expires > before);
    // Chromium and the spec default to ~30 days.
    const days = (cert.expires - before) / 86400000;
    t.log("default expiry 29..31 days", days > 29 && days < 31);
    const fps = cert.getFingerprints();
    t.log(Array.isArray(fps), fps.length);
    t.log(Object.keys(fps[0]).sort(), fps[0].algorithm);
    t.log("value format", fpFormat(fps[0].value));
    t.log("fresh array", cert.getFingerprints() !== fps);
    const cert2 = await env.RTCPeerConnection.generateCertificate(ECDSA);
    t.log("unique", cert2.getFingerprints()[0].value !== fps[0].value);
  },

  "generate-certificate-rsa": async (env, t) => {
    const cert = await t.attempt(
      "RSA 2048",
      () =>
        env.RTCPeerConnection.generateCertificate({
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        }),
      (c) => c instanceof env.RTCCertificate,
    );
    if (cert) {
      const fp = cert.getFingerprints()[0];
      t.log(fp.algorithm, fpFormat(fp.value), typeof cert.expires);
    }
  },

  "generate-certificate-unsupported": async (env, t) => {
    const g = (label, alg) =>
      t.attempt(label, () => env.RTCPeerConnection.generateCertificate(alg));
    await g("ECDSA P-384", { name: "ECDSA", namedCurve: "P-384" });
    await g("AES-GCM", { name: "AES-GCM", length: 128 });
    await g("unknown name", { name: "nope" });
    await g("string ECDSA", "ECDSA");
    await g("RSA exponent 3", {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([3]),
      hash: "SHA-256",
    });
    await g("RSA SHA-1", {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-1",
    });
    await g("no argument", undefined);
  },

  "generate-certificate-expires": async (env, t) => {
    const now = Date.now();
    const c1 = await env.RTCPeerConnection.generateCertificate({
      ...ECDSA,
      expires: 3600 * 1000,
    });
    t.log("1h", Math.abs(c1.expires - (now + 3600 * 1000)) < 60000);
    const c2 = await env.RTCPeerConnection.generateCertificate({
      ...ECDSA,
      expires: 0,
    });
    t.log("0 ms expired", c2.expires <= Date.now() + 1000);
    const c3 = await t.attempt("10 years", () =>
      env.RTCPeerConnection.generateCertificate({
        ...ECDSA,
        expires: 10 * 365 * 86400000,
      }),
    );
    if (c3) t.log("capped to at most 366 days", c3.expires - now <= 366 * 86400000);
    await t.attempt("negative", () =>
      env.RTCPeerConnection.generateCertificate({ ...ECDSA, expires: -1 }),
    );
  },
};

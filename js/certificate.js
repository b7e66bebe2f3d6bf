// RTCCertificate: keeps the engine's CertificateData bytes in JS, so a certificate outlives the
// wasm instance that generated it (instances are replaced after a trap).

import { invoke, liveInstance, ready } from "./backend.js";
import { INTERNAL, checkToken, toDOMString, enforceRange, webidlInterface } from "./webidl.js";

/** Chromium caps a certificate's lifetime to one year. */
const MAX_LIFETIME_MS = 365 * 24 * 3600 * 1000;

/** @type {WeakMap<RTCCertificate, any>} */
const certificateData = new WeakMap();

export class RTCCertificate {
  /** @param {symbol} token @param {any} data engine CertificateData */
  constructor(token, data) {
    checkToken(token, "RTCCertificate");
    certificateData.set(this, data);
  }
  get expires() {
    return dataOf(this).expires;
  }
  /** Chromium reports the value in lower-case hex (SDP's a=fingerprint uses upper case). */
  getFingerprints() {
    return dataOf(this).fingerprints.map((/** @type {any} */ f) => ({
      algorithm: f.algorithm,
      value: `${f.value}`.toLowerCase(),
    }));
  }
}
webidlInterface(RTCCertificate, "RTCCertificate");

/** @param {unknown} cert */
function dataOf(cert) {
  const data = certificateData.get(/** @type {any} */ (cert));
  if (!data) throw new TypeError("Illegal invocation");
  return data;
}

/** @param {unknown} value */
export function isCertificate(value) {
  return certificateData.has(/** @type {any} */ (value));
}

/** The engine CertificateData of one of our RTCCertificate objects. @param {RTCCertificate} cert */
export function certificateToEngine(cert) {
  return dataOf(cert);
}

/** @param {any} data */
export function certificateFromEngine(data) {
  return new RTCCertificate(INTERNAL, {
    certificateDer: Array.from(data.certificateDer),
    privateKeyDer: Array.from(data.privateKeyDer),
    expires: data.expires,
    fingerprints: data.fingerprints.map((/** @type {any} */ f) => ({ ...f })),
  });
}

/**
 * WebCrypto-style normalisation of the AlgorithmIdentifier (names match case-insensitively;
 * unknown algorithms are NotSupportedError, missing members of a known algorithm TypeError).
 * @param {unknown} keygenAlgorithm
 */
function normalizeKeygen(keygenAlgorithm) {
  const context = "Failed to execute 'generateCertificate' on 'RTCPeerConnection'";
  /** @type {Record<string, any>} */
  const alg =
    typeof keygenAlgorithm === "object" && keygenAlgorithm !== null
      ? /** @type {any} */ (keygenAlgorithm)
      : { name: toDOMString(keygenAlgorithm) };
  if (alg.name === undefined) {
    throw new TypeError(`${context}: required member name is undefined.`);
  }
  const name = toDOMString(alg.name).toUpperCase();
  if (name === "ECDSA") {
    if (alg.namedCurve === undefined) {
      throw new TypeError(`${context}: required member namedCurve is undefined.`);
    }
    return { name: "ECDSA", namedCurve: toDOMString(alg.namedCurve) };
  }
  if (name === "RSASSA-PKCS1-V1_5") {
    for (const m of ["modulusLength", "publicExponent", "hash"]) {
      if (alg[m] === undefined)
        throw new TypeError(`${context}: required member ${m} is undefined.`);
    }
    const exp = alg.publicExponent;
    if (!(exp instanceof Uint8Array)) {
      throw new TypeError(`${context}: publicExponent is not a Uint8Array.`);
    }
    const hash =
      typeof alg.hash === "object" && alg.hash !== null
        ? toDOMString(alg.hash.name)
        : toDOMString(alg.hash);
    return {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: enforceRange(alg.modulusLength, 0, 0xffffffff, context),
      publicExponent: Array.from(exp),
      hash: hash.toUpperCase(),
    };
  }
  throw new DOMException(`The algorithm '${alg.name}' is not supported.`, "NotSupportedError");
}

/**
 * `RTCPeerConnection.generateCertificate(keygenAlgorithm)`. The `expires` member (Chromium's
 * extension, milliseconds from now) becomes the lifetime; Chromium's default is 30 days.
 * @param {AlgorithmIdentifier} keygenAlgorithm
 * @returns {Promise<RTCCertificate>}
 */
export async function generateCertificate(keygenAlgorithm) {
  const params = normalizeKeygen(keygenAlgorithm);
  /** @type {number | undefined} */
  let lifetime;
  const raw = /** @type {any} */ (keygenAlgorithm);
  if (typeof raw === "object" && raw !== null && raw.expires !== undefined) {
    // Chromium: [EnforceRange] unsigned long long (a negative value is a TypeError), capped to
    // one year.
    const n = enforceRange(
      raw.expires,
      0,
      Number.MAX_SAFE_INTEGER,
      "Failed to execute 'generateCertificate' on 'RTCPeerConnection': expires",
    );
    lifetime = Math.min(n, MAX_LIFETIME_MS);
  }
  await ready;
  // Key generation (RSA especially) is slow: let the caller's task finish first.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const data = invoke(liveInstance(), (glue) =>
    glue.generateCertificate(params, Date.now(), lifetime),
  );
  return certificateFromEngine(data);
}

// RTCStatsReport: a read-only maplike<DOMString, object> over the engine's stats dictionaries.

import { checkToken, INTERNAL, webidlInterface } from "./webidl.js";

/** @type {WeakMap<RTCStatsReport, Map<string, any>>} */
const maps = new WeakMap();

/** @param {unknown} report */
function mapOf(report) {
  const m = maps.get(/** @type {any} */ (report));
  if (!m) throw new TypeError("Illegal invocation");
  return m;
}

export class RTCStatsReport {
  /** @param {symbol} token @param {Map<string, any>} map */
  constructor(token, map) {
    checkToken(token, "RTCStatsReport");
    maps.set(this, map);
  }
  get size() {
    return mapOf(this).size;
  }
  /** @param {string} key */
  get(key) {
    return mapOf(this).get(`${key}`);
  }
  /** @param {string} key */
  has(key) {
    return mapOf(this).has(`${key}`);
  }
  keys() {
    return mapOf(this).keys();
  }
  values() {
    return mapOf(this).values();
  }
  entries() {
    return mapOf(this).entries();
  }
  /**
   * @param {(value: any, key: string, parent: RTCStatsReport) => void} callback
   * @param {any} [thisArg]
   */
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== "function") {
      throw new TypeError(
        "Failed to execute 'forEach' on 'RTCStatsReport': The callback provided as parameter 1 is not a function.",
      );
    }
    for (const [k, v] of mapOf(this)) callback.call(thisArg, v, k, this);
  }
}
// maplike: @@iterator is the same function object as entries.
Object.defineProperty(RTCStatsReport.prototype, Symbol.iterator, {
  value: RTCStatsReport.prototype.entries,
  writable: true,
  configurable: true,
});
webidlInterface(RTCStatsReport, "RTCStatsReport");

/** Engine values may come as Maps (serde maps) or objects; stats are plain objects. */
function plain(/** @type {any} */ v) {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/**
 * @param {any[]} stats engine RTCStats dictionaries
 * @param {(stat: any) => boolean} [keep]
 */
export function statsReportFromEngine(stats, keep = () => true) {
  const map = new Map();
  for (const raw of stats) {
    const s = plain(raw);
    if (s && typeof s.id === "string" && keep(s)) map.set(s.id, s);
  }
  return new RTCStatsReport(INTERNAL, map);
}

// WebIDL plumbing shared by every class: the module-private construction token, interface
// shaping (toStringTag, enumerable members), and the argument conversions the bindings of a
// browser would do before the algorithm runs. Semantic checks belong to the engine.

/** Passed by the shim to constructors the spec marks as not constructible from script. */
export const INTERNAL = Symbol("polyrtc.internal");

/** @param {unknown} token @param {string} name */
export function checkToken(token, name) {
  if (token !== INTERNAL) {
    throw new TypeError(`Failed to construct '${name}': Illegal constructor`);
  }
}

/**
 * Make a class look like a WebIDL interface: `Symbol.toStringTag`, enumerable attributes and
 * operations on the prototype (as WebIDL defines them), non-enumerable constructor.
 * @param {Function} cls
 * @param {string} name
 */
export function webidlInterface(cls, name) {
  const proto = cls.prototype;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === "constructor") continue;
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    if (desc && !desc.enumerable && typeof key === "string") {
      Object.defineProperty(proto, key, { ...desc, enumerable: true });
    }
  }
  Object.defineProperty(proto, Symbol.toStringTag, { value: name, configurable: true });
}

/** @param {string} iface @param {string} what @param {string} message */
export function typeError(iface, what, message) {
  return new TypeError(`Failed to ${what} '${iface}': ${message}`);
}

/** WebIDL DOMString (throws TypeError on symbols, like ToString). */
export function toDOMString(value) {
  return `${value}`;
}

/** WebIDL USVString: lone surrogates become U+FFFD. */
export function toUSVString(value) {
  const s = `${value}`;
  // @ts-ignore: toWellFormed is ES2024; Node 20 and current browsers have it.
  if (typeof s.toWellFormed === "function") return s.toWellFormed();
  return s.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}

/**
 * WebIDL integer conversion with [EnforceRange].
 * @param {unknown} value @param {number} min @param {number} max @param {string} context
 */
export function enforceRange(value, min, max, context) {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`${context}: value is not a finite number`);
  const t = Math.trunc(n);
  if (t < min || t > max) {
    throw new TypeError(`${context}: value ${t} is outside the range [${min}, ${max}]`);
  }
  return t === 0 ? 0 : t;
}

/**
 * WebIDL integer conversion without [EnforceRange] (modulo wrap, as for `unsigned short`).
 * @param {unknown} value @param {number} bits
 */
export function toUnsigned(value, bits) {
  const n = Number(value);
  if (!Number.isFinite(n)) return 0;
  const m = 2 ** bits;
  const t = Math.trunc(n) % m;
  return t < 0 ? t + m : t;
}

/**
 * @param {unknown} value @param {readonly string[]} values @param {string} context
 * @returns {string}
 */
export function toEnum(value, values, context) {
  const s = `${value}`;
  if (!values.includes(s)) {
    throw new TypeError(`${context}: The provided value '${s}' is not a valid enum value.`);
  }
  return s;
}

/**
 * A dictionary argument: undefined/null → {}, objects as they are, anything else a TypeError.
 * @param {unknown} value @param {string} context
 * @returns {Record<string, any>}
 */
export function toDictionary(value, context) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeError(`${context}: The provided value is not of type 'object'.`);
  }
  return /** @type {Record<string, any>} */ (value);
}

/**
 * A sequence<T> argument: any iterable object (not a string).
 * @param {unknown} value @param {string} context
 * @returns {unknown[]}
 */
export function toSequence(value, context) {
  if (
    value === null ||
    (typeof value !== "object" && typeof value !== "function") ||
    typeof (/** @type {any} */ (value)[Symbol.iterator]) !== "function"
  ) {
    throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
  }
  return Array.from(/** @type {Iterable<unknown>} */ (value));
}

/**
 * A nullable value: undefined and null → null, else converted.
 * @template T
 * @param {unknown} value @param {(v: unknown) => T} convert
 * @returns {T | null}
 */
export function nullable(value, convert) {
  return value === undefined || value === null ? null : convert(value);
}

/**
 * A macrotask ("queue a task"): one MessageChannel message per task where it exists (no 4 ms
 * timer clamp; microtasks run between tasks as in the HTML event loop), else setTimeout.
 */
export const queueTask = (() => {
  /** @type {Array<() => void>} */
  const tasks = [];
  if (typeof MessageChannel === "function") {
    const channel = new MessageChannel();
    /** @type {any} */
    const port = channel.port1;
    port.onmessage = () => {
      const task = tasks.shift();
      // Nothing pending: let Node exit (an active port would keep its event loop alive).
      if (tasks.length === 0 && typeof port.unref === "function") port.unref();
      if (!task) return;
      try {
        task();
      } catch (e) {
        reportError(e);
      }
    };
    if (typeof port.unref === "function") port.unref();
    return (/** @type {() => void} */ task) => {
      tasks.push(task);
      if (typeof port.ref === "function") port.ref();
      channel.port2.postMessage(null);
    };
  }
  return (/** @type {() => void} */ task) => {
    setTimeout(task, 0);
  };
})();

/** Report an exception thrown by page code (event handler, legacy callback) without stopping. */
export function reportError(e) {
  if (typeof globalThis.reportError === "function") {
    globalThis.reportError(e);
  } else {
    setTimeout(() => {
      throw e;
    }, 0);
  }
}

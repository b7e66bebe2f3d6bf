// `on<event>` IDL attributes as the HTML spec defines event handlers: the handler is one event
// listener, added when a non-null value is first set (so its position among listeners is the
// time it was first set), kept in place when the value changes, removed when set to null.
// Non-object values become null ([LegacyTreatNonObjectAsNull]).

/** @type {WeakMap<EventTarget, Map<string, { value: any, listener: (e: Event) => void }>>} */
const handlers = new WeakMap();

/**
 * @param {object} proto
 * @param {string} type event type, e.g. "icecandidate" for `onicecandidate`
 */
export function defineEventHandler(proto, type) {
  Object.defineProperty(proto, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      if (!(this instanceof EventTarget)) throw new TypeError("Illegal invocation");
      return handlers.get(this)?.get(type)?.value ?? null;
    },
    set(value) {
      if (!(this instanceof EventTarget)) throw new TypeError("Illegal invocation");
      const target = /** @type {EventTarget} */ (this);
      const v = typeof value === "object" || typeof value === "function" ? value : null;
      let map = handlers.get(target);
      if (!map) {
        map = new Map();
        handlers.set(target, map);
      }
      const entry = map.get(type);
      if (v === null) {
        if (entry) {
          target.removeEventListener(type, entry.listener);
          map.delete(type);
        }
        return;
      }
      if (entry) {
        entry.value = v;
        return;
      }
      const created = {
        value: v,
        /** @param {Event} event */
        listener(event) {
          const h = created.value;
          if (typeof h !== "function") return;
          const result = h.call(target, event);
          // HTML: a handler returning false cancels the event (except onerror on window).
          if (result === false) event.preventDefault();
        },
      };
      map.set(type, created);
      target.addEventListener(type, created.listener);
    },
  });
}

/** @param {object} proto @param {string[]} types */
export function defineEventHandlers(proto, types) {
  for (const t of types) defineEventHandler(proto, t);
}

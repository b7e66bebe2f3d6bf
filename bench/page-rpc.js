// Page side of bench/page-driver.mjs: when the page was opened with ?rpc=<ws url>&token=<t>,
// serves `api`'s functions over that WebSocket and sends `__benchSignal` messages through it.
// Returns false when the page is under Playwright instead (no rpc parameter).
export function serve(api) {
  const query = new URLSearchParams(location.search);
  const url = query.get("rpc");
  if (!url) return false;
  const ws = new WebSocket(url);
  const send = (m) => ws.send(JSON.stringify(m));
  globalThis.__benchSignal = (to, msg) => send({ signal: [to, msg] });
  addEventListener("error", (e) => send({ log: String(e.error?.stack ?? e.message) }));
  addEventListener("unhandledrejection", (e) => send({ log: String(e.reason?.stack ?? e.reason) }));
  ws.onopen = () => send({ hello: query.get("token") });
  ws.onmessage = async (e) => {
    const { id, fn, args } = JSON.parse(e.data);
    try {
      const value = await api[fn](...args);
      send({ id, value: value === undefined ? null : value });
    } catch (err) {
      send({ id, error: String(err?.stack ?? err) });
    }
  };
  return true;
}

// A small static file server for the demo and the tests: serves the repository root (so pages
// can import /js/ and /dist/wasm/) with the MIME types browsers insist on (application/wasm).
//   node scripts/serve.mjs [--host 127.0.0.1] [--port 8080]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/** Starts the server; resolves to `{ server, url }` once it listens. */
export function serve({ host = "127.0.0.1", port = 0, dir = root } = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/") {
      res.writeHead(302, { location: "/www/" });
      return res.end();
    }
    let file = path.join(dir, decodeURIComponent(url.pathname));
    // Refuse anything outside the served folder (".." tricks).
    if (!file.startsWith(dir + path.sep)) {
      res.writeHead(403);
      return res.end("forbidden");
    }
    if (file.endsWith(path.sep)) file = path.join(file, "index.html");
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { "content-type": "text/plain" });
        return res.end("not found");
      }
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: p } = /** @type {import("node:net").AddressInfo} */ (server.address());
      resolve({ server, url: `http://${host}:${p}` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const { url } = await serve({
    host: arg("--host", "127.0.0.1"),
    port: Number(arg("--port", 8080)),
  });
  console.log(`polyrtc demo: ${url}/www/`);
}

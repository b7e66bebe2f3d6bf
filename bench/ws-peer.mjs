// The bare-WebSocket baseline of bench/datachannel.mjs: a minimal WebSocket server
// (ws-server.mjs) that speaks the bench's sink/echo protocol: text "T:<n>" announces n binary
// bytes and is answered with "done" once they have all arrived; any other text frame is echoed.
import http from "node:http";
import { accept, frame, onMessages, TEXT, BINARY } from "./ws-server.mjs";

/** Starts the server on 127.0.0.1; resolves { url, close }. */
export function startWsPeer() {
  const server = http.createServer((_, res) => res.writeHead(426).end());
  server.on("upgrade", (req, socket) => {
    accept(req, socket);
    let expect = -1;
    let got = 0;
    onMessages(socket, (op, body) => {
      if (op === TEXT) {
        const text = body.toString("utf8");
        if (text.startsWith("T:")) {
          expect = Number(text.slice(2));
          got = 0;
        } else socket.write(frame(TEXT, body));
      } else if (op === BINARY) {
        got += body.length;
        if (got === expect) socket.write(frame(TEXT, Buffer.from("done")));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      resolve({
        url: `ws://127.0.0.1:${port}/`,
        close: () => {
          server.closeAllConnections?.();
          return new Promise((r) => server.close(r));
        },
      });
    });
  });
}

// The bare-WebSocket baseline of bench/datachannel.mjs: a minimal RFC 6455 server (no npm `ws`
// here) that speaks the bench's sink/echo protocol: text "T:<n>" announces n binary bytes and is
// answered with "done" once they have all arrived; any other text frame is echoed.
import http from "node:http";
import crypto from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Starts the server on 127.0.0.1; resolves { url, close }. */
export function startWsPeer() {
  const server = http.createServer((_, res) => res.writeHead(426).end());
  server.on("upgrade", (req, socket) => {
    const accept = crypto
      .createHash("sha1")
      .update(req.headers["sec-websocket-key"] + GUID)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.setNoDelay(true);
    serve(socket);
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

function frame(opcode, payload) {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 255])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), u64(n)]);
  return Buffer.concat([head, payload]);
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function serve(socket) {
  let buf = Buffer.alloc(0);
  let expect = -1;
  let got = 0;
  /** Fragmented message: opcode of the first frame and its parts. */
  let partial = null;
  socket.on("data", (data) => {
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (buf[1] & 0x80) !== 0;
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) {
        for (let i = 0; i < len; i++) payload[i] ^= buf[maskOff + (i & 3)];
      }
      buf = buf.subarray(off + len);
      if (opcode === 8) {
        socket.end(frame(8, Buffer.alloc(0)));
        return;
      }
      if (opcode === 9) {
        socket.write(frame(10, payload));
        continue;
      }
      if (opcode === 10) continue;
      let op = opcode;
      let body = payload;
      if (opcode === 0 && partial) {
        partial.parts.push(payload);
        if (!fin) continue;
        op = partial.opcode;
        body = Buffer.concat(partial.parts);
        partial = null;
      } else if (!fin) {
        partial = { opcode, parts: [payload] };
        continue;
      }
      if (op === 1) {
        const text = body.toString("utf8");
        if (text.startsWith("T:")) {
          expect = Number(text.slice(2));
          got = 0;
        } else socket.write(frame(1, body));
      } else if (op === 2) {
        got += body.length;
        if (got === expect) socket.write(frame(1, Buffer.from("done")));
      }
    }
  });
  socket.on("error", () => {});
}

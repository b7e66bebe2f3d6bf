// A minimal RFC 6455 server side (no npm `ws` here), shared by the bare-WebSocket baseline
// (ws-peer.mjs) and the page driver (page-driver.mjs): the upgrade handshake, frames out, and
// whole messages in (pings answered, fragments joined, close echoed).
import crypto from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
export const TEXT = 1;
export const BINARY = 2;

/** Answers an HTTP upgrade request on `socket`; call from the server's "upgrade" event. */
export function accept(req, socket) {
  const key = crypto
    .createHash("sha1")
    .update(req.headers["sec-websocket-key"] + GUID)
    .digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${key}\r\n\r\n`,
  );
  socket.setNoDelay(true);
  socket.on("error", () => {});
}

/** One unmasked, unfragmented server frame. */
export function frame(opcode, payload) {
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Calls `onMessage(opcode, body)` for each whole text or binary message from the client. */
export function onMessages(socket, onMessage) {
  let buf = Buffer.alloc(0);
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
      if (opcode === 0 && partial) {
        partial.parts.push(payload);
        if (!fin) continue;
        const { opcode: op, parts } = partial;
        partial = null;
        onMessage(op, Buffer.concat(parts));
      } else if (!fin) {
        partial = { opcode, parts: [payload] };
      } else onMessage(opcode, payload);
    }
  });
}

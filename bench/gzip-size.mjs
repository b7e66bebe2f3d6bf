// Shipped size of files as the benchmarks report it: raw bytes and gzip -9 bytes, summed.
import fs from "node:fs";
import zlib from "node:zlib";

/** @param {string[]} files */
export function gz(files) {
  let raw = 0;
  let packed = 0;
  for (const f of files) {
    const body = fs.readFileSync(f);
    raw += body.length;
    packed += zlib.gzipSync(body, { level: 9 }).length;
  }
  return { raw, packed };
}

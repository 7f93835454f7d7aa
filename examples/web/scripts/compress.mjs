// Writes a .gz and a .br copy next to every compressible file of the build, so jeco-server
// sends the smaller one to a browser that accepts it, and prints the compressed size of the
// JavaScript and CSS a first load fetches.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");
const compressible = /\.(js|css|html|svg|json|txt|map)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let gzipTotal = 0;
let rawTotal = 0;
for (const path of [...files(dist)]) {
  if (!compressible.test(path)) continue;
  const data = readFileSync(path);
  const gz = gzipSync(data, { level: 9 });
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${path}.gz`, gz);
  writeFileSync(`${path}.br`, br);
  if (/\.(js|css)$/.test(path)) {
    rawTotal += data.length;
    gzipTotal += gz.length;
    console.log(`${relative(dist, path)}: ${(data.length / 1024).toFixed(1)} KiB, gzip ${(gz.length / 1024).toFixed(1)} KiB`);
  }
}
console.log(`JavaScript and CSS: ${(rawTotal / 1024).toFixed(1)} KiB, gzip ${(gzipTotal / 1024).toFixed(1)} KiB`);

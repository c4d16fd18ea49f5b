// Precompressed copies for a static site (make site): beside every asset the page fetches — scripts,
// wasm, stylesheets, pages, JSON, SVG and the example's HDF5 files — of at least 1 KiB, a `.br`
// (brotli, quality 11) and a `.gz` (gzip -9) copy, each kept only when smaller than the file.
// Servers that serve precompressed files (www/tools/serve.mjs, nginx gzip_static/brotli_static,
// Caddy's file_server precompressed) send them with Content-Encoding; others ignore them.
//
//   node www/tools/compress.mjs <directory>...
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { brotliCompress, gzip, constants } from "node:zlib";

export const COMPRESSED_TYPES = new Set([".js", ".mjs", ".wasm", ".css", ".html", ".json", ".svg", ".h5"]);
const MIN_SIZE = 1024;
const TEXT = new Set([".js", ".mjs", ".css", ".html", ".json", ".svg"]);

/** Every file under `dir` (recursively). */
async function* filesUnder(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

/** Write the .br and .gz copies of one file; returns {path, size, br, gz} (null: not kept). */
export async function compressFile(path) {
  const data = await readFile(path);
  const brotli = promisify(brotliCompress)(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: TEXT.has(extname(path)) ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gzipped = promisify(gzip)(data, { level: constants.Z_BEST_COMPRESSION });
  const result = { path, size: data.length };
  for (const [suffix, copy] of [[".br", await brotli], [".gz", await gzipped]]) {
    const key = suffix.slice(1);
    if (copy.length < data.length) {
      await writeFile(path + suffix, copy);
      result[key] = copy.length;
    } else {
      await rm(path + suffix, { force: true });
      result[key] = null;
    }
  }
  return result;
}

/** Precompress every eligible file under `dirs` (zlib runs on the thread pool: files in parallel). */
export async function compressTree(...dirs) {
  const jobs = [];
  for (const dir of dirs) {
    for await (const path of filesUnder(dir)) {
      if (COMPRESSED_TYPES.has(extname(path)) && (await stat(path)).size >= MIN_SIZE) jobs.push(compressFile(path));
    }
  }
  return Promise.all(jobs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.slice(2);
  if (!dirs.length) throw new Error("usage: node www/tools/compress.mjs <directory>...");
  const results = await compressTree(...dirs);
  const sum = (key) => results.reduce((t, r) => t + (r[key] ?? r.size), 0);
  console.log(`precompressed ${results.length} files: ${sum("size")} bytes → ${sum("br")} brotli, ${sum("gz")} gzip`);
}

// The browser bundles in dist/ (make web): the page, the worker, the draw worker and the package's
// module (<synparam-panel> + the headless API), as ES modules split into shared chunks
// (dist/chunk-<hash>.js: code that several entry points use is fetched once, and what a dynamic
// import() names is fetched only when imported). Chunks sit beside the entry points, so every URL
// relative to import.meta.url (../pkg/, worker.js, draw_worker.js) resolves the same in any of them.
//
// h5wasm's ESM build inlines its 3.6 MB wasm as a string in hdf5_util.js (Emscripten SINGLE_FILE;
// esbuild writes it escaped, 5.6 MB). The bundle instead gets that wasm as a file beside it,
// dist/hdf5_util-<hash>.wasm, fetched and compiled with streaming — the loader Emscripten emits
// when the wasm is not inlined. The rewrite checks each piece it replaces (h5wasm is pinned) and
// the extracted bytes, and fails the build if anything differs.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const ENTRY_POINTS = ["www/browser/worker.js", "www/browser/draw_worker.js", "www/browser/page.js", "www/browser/synparam.js"];

/** Replace `from` by `to` in `text`, exactly once, or throw. */
function replaceOnce(text, from, to, what) {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`h5wasm's hdf5_util.js: ${what} not found exactly once (h5wasm changed? see www/tools/build.mjs)`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** The JS string literal that starts at `text[start]` (a quote), as written. */
function stringLiteralAt(text, start) {
  const quote = text[start];
  if (quote !== "'" && quote !== '"') throw new Error("h5wasm's hdf5_util.js: the inlined wasm is not a string literal");
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === quote) return text.slice(start, i + 1);
    else if (text[i] === "\n") break;
  }
  throw new Error("h5wasm's hdf5_util.js: unterminated string literal");
}

/** esbuild plugin: h5wasm's inlined wasm as a separate file in `outdir` (its name added to
 * `written`), instantiated with streaming. */
export function h5wasmSeparateWasm(outdir, written = new Set()) {
  return {
    name: "h5wasm-separate-wasm",
    setup(b) {
      b.onLoad({ filter: /[\\/]h5wasm[\\/]dist[\\/]esm[\\/]hdf5_util\.js$/ }, async (args) => {
        let source = await readFile(args.path, "utf8");
        const head = "function findWasmBinary(){return binaryDecode(";
        const at = source.indexOf(head);
        if (at < 0 || source.indexOf(head, at + 1) >= 0) throw new Error("h5wasm's hdf5_util.js: findWasmBinary not found exactly once (h5wasm changed? see www/tools/build.mjs)");
        const literal = stringLiteralAt(source, at + head.length);
        const whole = `${head}${literal})}`;
        // Emscripten's binaryDecode: one byte per character (c ≤ 0xff, or 0x100 + byte for the few
        // bytes it escapes).
        const text = runInNewContext(literal);
        const wasm = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          wasm[i] = ~c >> 8 & c;
        }
        if (wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d || !WebAssembly.validate(wasm)) {
          throw new Error("h5wasm's hdf5_util.js: the inlined string does not decode to a valid wasm module");
        }
        const name = `hdf5_util-${createHash("sha256").update(wasm).digest("hex").slice(0, 8)}.wasm`;
        // The name is its content's: an existing file is this one (left as it is, so a server
        // never reads it half written); a new one is written beside and renamed into place.
        await mkdir(outdir, { recursive: true });
        if ((await stat(join(outdir, name)).catch(() => null))?.size !== wasm.length) {
          await writeFile(join(outdir, `${name}.${process.pid}.tmp`), wasm);
          await rename(join(outdir, `${name}.${process.pid}.tmp`), join(outdir, name));
        }
        written.add(name);
        source = replaceOnce(source, whole, `function findWasmBinary(){return new URL(${JSON.stringify(name)},import.meta.url).href}`, "findWasmBinary");
        // Emscripten's loader for a wasm that is a file: fetched (readAsync), compiled as it
        // streams in, and from an ArrayBuffer when streaming fails (e.g. a server that does not
        // send application/wasm).
        source = replaceOnce(source, "async function getWasmBinary(binaryFile){return getBinarySync(binaryFile)}",
          "async function getWasmBinary(binaryFile){return new Uint8Array(await readAsync(binaryFile))}", "getWasmBinary");
        source = replaceOnce(source, "async function instantiateAsync(binary,binaryFile,imports){return instantiateArrayBuffer(binaryFile,imports)}",
          "async function instantiateAsync(binary,binaryFile,imports){if(!binary&&typeof WebAssembly.instantiateStreaming==\"function\"){try{var response=fetch(binaryFile,{credentials:\"same-origin\"});return await WebAssembly.instantiateStreaming(response,imports)}catch(reason){err(`wasm streaming compile failed: ${reason}`);err(\"falling back to ArrayBuffer instantiation\")}}return instantiateArrayBuffer(binaryFile,imports)}",
          "instantiateAsync");
        return { contents: source, loader: "js" };
      });
    },
  };
}

/** Build dist/. Chunk and wasm names change with their content: those of earlier builds are
 * removed afterwards (not before, so that a server keeps serving a whole build meanwhile). */
export async function buildWeb({ outdir = join(root, "dist") } = {}) {
  const written = new Set();
  const result = await build({
    entryPoints: ENTRY_POINTS.map((entry) => join(root, entry)),
    bundle: true, format: "esm", splitting: true, minify: true, outdir,
    entryNames: "[name]", chunkNames: "chunk-[hash]", logLevel: "warning", metafile: true,
    plugins: [h5wasmSeparateWasm(outdir, written)],
  });
  for (const output of Object.keys(result.metafile.outputs)) written.add(basename(output));
  for (const name of await readdir(outdir)) {
    if (/^(chunk-\w+\.js|hdf5_util-[0-9a-f]+\.wasm)$/.test(name) && !written.has(name)) await rm(join(outdir, name), { force: true });
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();

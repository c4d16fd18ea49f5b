// Static file server for the page: serves www/ at /, the bundles at /dist/ and the built wasm
// package at /pkg/ (or, with --root, one directory such as the static site/), each response with
// the page's Content-Security-Policy. A file with a precompressed copy beside it (`<file>.br`,
// `<file>.gz`, as `make site` writes them) is sent as that copy with Content-Encoding when the
// request's Accept-Encoding allows it and the copy is not older than the file.
// Binds 127.0.0.1 only. Usage: node www/tools/serve.mjs [--port 8080] [--root site]; --port 0
// picks a free port and prints it (tests use that).
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The project's mounts: the page and its sources at /, the bundles at /dist/, the wasm at /pkg/. */
export const PROJECT_MOUNTS = { "/pkg/": join(root, "pkg"), "/dist/": join(root, "dist"), "/": join(root, "www") };
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".h5": "application/x-hdf5",
  ".svg": "image/svg+xml", ".png": "image/png", ".map": "application/json",
};

/** Precompressed copies, in order of preference: the coding and the suffix of its file. */
const PRECOMPRESSED = [["br", ".br"], ["gzip", ".gz"]];

/** The content codings an Accept-Encoding header allows (q > 0; `*` allows any not named). */
export function acceptedEncodings(header) {
  const named = new Map();
  for (const item of String(header ?? "").split(",")) {
    const [coding, ...params] = item.trim().toLowerCase().split(";");
    if (!coding) continue;
    const q = params.map((p) => p.trim().match(/^q=([0-9.]+)$/)).find(Boolean);
    named.set(coding, q ? Number(q[1]) : 1);
  }
  return new Set(PRECOMPRESSED.map(([coding]) => coding).filter((coding) => (named.has(coding) ? named.get(coding) > 0 : (named.get("*") ?? 0) > 0)));
}

/** The precompressed copies of `file` (stat'ed as `info`) that are regular files and not older. */
async function precompressedCopies(file, info) {
  const copies = [];
  for (const [coding, suffix] of PRECOMPRESSED) {
    const copy = await stat(file + suffix).catch(() => null);
    if (copy?.isFile() && copy.mtimeMs >= info.mtimeMs) copies.push({ coding, path: file + suffix, size: copy.size });
  }
  return copies;
}

/**
 * The Content-Security-Policy the page needs and no more: scripts only from this origin (no inline
 * script, no eval), 'wasm-unsafe-eval' to compile the wasm modules, no inline styles, workers from
 * this origin, connections to this origin and to `extraOrigins` (a circuit elsewhere).
 */
export function contentSecurityPolicy(extraOrigins = []) {
  return [
    "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "img-src 'self' data: blob:",
    `connect-src ${["'self'", ...extraOrigins].join(" ")}`, "worker-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'none'", "frame-ancestors 'none'",
  ].join("; ");
}

/** The URL path of a request, decoded once and normalized, or null when it is malformed (a bad
 * escape, a NUL, a backslash). */
export function requestPath(url) {
  let path;
  try {
    // The request target as sent ("//x/y" is a path here, not a host), decoded once.
    path = decodeURIComponent(url.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  if (!path.startsWith("/")) return null;
  if (/[\0\\]/.test(path)) return null;
  const parts = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}${path.endsWith("/") && parts.length ? "/" : ""}`;
}

/** Map a normalized URL path to a file inside one of the mounts (whole path segments only). */
function resolvePath(path, mounts) {
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!path.startsWith(prefix)) continue;
    const root = resolve(dir); // a mount given with a trailing slash serves its index too
    const file = resolve(root, `.${sep}${path.slice(prefix.length)}`);
    return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
  }
  return null;
}

/**
 * Serve `mounts` ({urlPrefix: directory}, longest prefixes first) on 127.0.0.1. `protect`
 * ({prefix, header, value}) answers 401 to requests under `prefix` without that header value,
 * like a platform's authenticated file store; `requests` (an array) receives every
 * {url, headers} seen, completed when answered with `status` and, for a file, `size` (its bytes),
 * `bytes` (the body's bytes as sent: 0 for a 304) and `encoding` (the Content-Encoding, or null);
 * `csp` (default on) sends the Content-Security-Policy header (with the origin of a `?circuit=`
 * URL in connect-src), or the given string; `cors` adds Access-Control-Allow-Origin (for a second
 * server in tests). Files are sent with an ETag and `Cache-Control: no-cache`, and a matching
 * If-None-Match is answered 304.
 */
export function startServer(port = 8080, { mounts = PROJECT_MOUNTS, protect = null, requests = null, csp = true, cors = null } = {}) {
  const server = createServer(async (request, response) => {
    const record = { url: request.url, headers: request.headers };
    requests?.push(record);
    if (requests) response.on("finish", () => { record.status = response.statusCode; });
    const path = requestPath(request.url);
    const headers = {};
    if (cors) Object.assign(headers, { "access-control-allow-origin": cors, "access-control-allow-headers": "authorization" });
    if (csp) {
      let circuitOrigin = null;
      try {
        const circuit = new URL(request.url, "http://localhost").searchParams.get("circuit");
        if (circuit && /^https?:/.test(circuit)) circuitOrigin = new URL(circuit).origin;
      } catch { /* no circuit origin */ }
      headers["content-security-policy"] = typeof csp === "string" ? csp : contentSecurityPolicy(circuitOrigin ? [circuitOrigin] : []);
    }
    if (request.method === "OPTIONS") {
      response.writeHead(204, headers).end();
      return;
    }
    if (path === null) {
      response.writeHead(400, { ...headers, "content-type": "text/plain" }).end("bad request: malformed URL\n");
      return;
    }
    if (protect && (path === protect.prefix.replace(/\/$/, "") || path.startsWith(protect.prefix)) && request.headers[protect.header.toLowerCase()] !== protect.value) {
      response.writeHead(401, { ...headers, "content-type": "text/plain" }).end("missing or wrong credentials\n");
      return;
    }
    let file = resolvePath(path, mounts);
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, "index.html");
      const info = file && (await stat(file));
      if (!info?.isFile()) throw new Error("not found");
      // The type is the file's, whichever copy is sent (application/wasm stays so, as streaming
      // compilation requires).
      const copies = await precompressedCopies(file, info);
      const accepted = acceptedEncodings(request.headers["accept-encoding"]);
      const sent = copies.find(({ coding }) => accepted.has(coding)) ?? { coding: null, path: file, size: info.size };
      // Revalidated on every use (no-cache: a rebuilt bundle is seen at once), and not sent again
      // when unchanged: the page and its workers share chunks, which a second fetch then gets as 304.
      const etag = `"${info.size.toString(16)}-${Math.trunc(info.mtimeMs).toString(16)}${sent.coding ? `-${sent.coding}` : ""}"`;
      const cache = { etag, "cache-control": "no-cache", ...(copies.length ? { vary: "accept-encoding" } : {}) };
      Object.assign(record, { size: info.size, bytes: sent.size, encoding: sent.coding });
      if (String(request.headers["if-none-match"] ?? "").split(",").some((tag) => [etag, "*"].includes(tag.trim().replace(/^W\//, "")))) {
        record.bytes = 0;
        response.writeHead(304, { ...headers, ...cache }).end();
        return;
      }
      response.writeHead(200, {
        ...headers, ...cache, "content-type": types[extname(file)] ?? "application/octet-stream", "content-length": sent.size,
        ...(sent.coding ? { "content-encoding": sent.coding } : {}),
      });
      createReadStream(sent.path).pipe(response);
    } catch {
      response.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const option = (name) => { const index = process.argv.indexOf(name); return index > 0 ? process.argv[index + 1] : undefined; };
  const rootDir = option("--root");
  const server = await startServer(Number(option("--port") ?? 8080), rootDir ? { mounts: { "/": resolve(rootDir) } } : {});
  console.log(`synparam: serving on http://127.0.0.1:${server.address().port}/`);
}

// Static file server for the page: serves www/ at /, the bundles at /dist/ and the built wasm
// package at /pkg/, each response with the page's Content-Security-Policy.
// Binds 127.0.0.1 only. Usage: node www/tools/serve.mjs [--port 8080]; --port 0 picks a free port
// and prints it (tests use that).
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
    const file = resolve(dir, `.${sep}${path.slice(prefix.length)}`);
    return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? file : null;
  }
  return null;
}

/**
 * Serve `mounts` ({urlPrefix: directory}, longest prefixes first) on 127.0.0.1. `protect`
 * ({prefix, header, value}) answers 401 to requests under `prefix` without that header value,
 * like a platform's authenticated file store; `requests` (an array) receives every
 * {url, headers} seen; `csp` (default on) sends the Content-Security-Policy header (with the
 * origin of a `?circuit=` URL in connect-src), or the given string; `cors` adds
 * Access-Control-Allow-Origin (for a second server in tests).
 */
export function startServer(port = 8080, { mounts = PROJECT_MOUNTS, protect = null, requests = null, csp = true, cors = null } = {}) {
  const server = createServer(async (request, response) => {
    requests?.push({ url: request.url, headers: request.headers });
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
      response.writeHead(200, { ...headers, "content-type": types[extname(file)] ?? "application/octet-stream", "content-length": info.size });
      createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf("--port");
  const server = await startServer(index > 0 ? Number(process.argv[index + 1]) : 8080);
  console.log(`synparam: serving on http://127.0.0.1:${server.address().port}/`);
}

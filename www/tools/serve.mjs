// Static file server for the page: serves www/ at /, the bundles at /dist/ and the built wasm
// package at /pkg/.
// Binds 127.0.0.1 only. Usage: node www/tools/serve.mjs [--port 8080]; --port 0 picks a free port and
// prints it (tests use that).
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The project's mounts: the page and its sources at /, the bundles at /dist/, the wasm at /pkg/. */
export const PROJECT_MOUNTS = { "/pkg/": join(root, "pkg"), "/dist/": join(root, "dist"), "/": join(root, "www") };
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".h5": "application/x-hdf5",
  ".svg": "image/svg+xml", ".png": "image/png", ".map": "application/json",
};

/** Map a URL path to a file inside one of the mounts, refusing anything that escapes it. */
function resolvePath(urlPath, mounts) {
  const path = decodeURIComponent(urlPath.split("?")[0]);
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file.startsWith(dir) ? file : null;
  }
  return null;
}

/**
 * Serve `mounts` ({urlPrefix: directory}, longest prefixes first) on 127.0.0.1. `protect`
 * ({prefix, header, value}) answers 401 to requests under `prefix` without that header value,
 * like a platform's authenticated file store; `requests` (an array) receives every
 * {url, headers} seen.
 */
export function startServer(port = 8080, { mounts = PROJECT_MOUNTS, protect = null, requests = null } = {}) {
  const server = createServer(async (request, response) => {
    requests?.push({ url: request.url, headers: request.headers });
    if (protect && request.url.startsWith(protect.prefix) && request.headers[protect.header.toLowerCase()] !== protect.value) {
      response.writeHead(401, { "content-type": "text/plain" }).end("missing or wrong credentials\n");
      return;
    }
    let file = resolvePath(request.url, mounts);
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, "index.html");
      const info = file && (await stat(file));
      if (!info) throw new Error("not found");
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "content-length": info.size });
      createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${request.url}\n`);
    }
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf("--port");
  const server = await startServer(index > 0 ? Number(process.argv[index + 1]) : 8080);
  console.log(`synparam: serving on http://127.0.0.1:${server.address().port}/`);
}

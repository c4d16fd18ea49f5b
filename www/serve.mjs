// Static file server for the page: serves www/ at /, plus the built wasm package at /pkg/.
// Binds 127.0.0.1 only. Usage: node www/serve.mjs [--port 8080]; --port 0 picks a free port and
// prints it (tests use that).
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const mounts = { "/pkg/": join(root, "pkg"), "/": join(root, "www") };
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".h5": "application/x-hdf5",
  ".svg": "image/svg+xml", ".png": "image/png", ".map": "application/json",
};

/** Map a URL path to a file inside one of the mounts, refusing anything that escapes it. */
function resolvePath(urlPath) {
  const path = decodeURIComponent(urlPath.split("?")[0]);
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file.startsWith(dir) ? file : null;
  }
  return null;
}

export function startServer(port = 8080) {
  const server = createServer(async (request, response) => {
    let file = resolvePath(request.url);
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

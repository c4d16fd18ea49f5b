// The page's zip of a parameterized circuit (www/run/stored_zip.js): headers composed around the
// files' own Blobs. Read back by zip.js (CRC checked), by Python's zipfile (testzip) and by
// Info-ZIP's unzip -t, with and without Zip64 fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZipReader, BlobReader, Uint8ArrayWriter } from "@zip.js/zip.js";
import { initSync, FileDigest } from "../../pkg/synparam.js";
import { storedZip } from "../../www/run/stored_zip.js";

const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
initSync({ module: await readFile(join(root, "pkg/synparam_bg.wasm")) });

const crc32Of = (bytes) => {
  const digest = new FileDigest();
  try {
    digest.update(bytes);
    return digest.crc32();
  } finally {
    digest.free();
  }
};

/** Entries like a circuit's: a config, a "binary" file (every byte value), an empty file, a
 * non-ASCII name in a folder. */
function entries() {
  const binary = new Uint8Array(300_000).map((_, i) => (i * 7919) & 0xff);
  const files = [
    ["circuit_config.json", new TextEncoder().encode('{"version": 2}\n')],
    ["sonata/networks/edges/edges.h5", binary],
    ["empty.txt", new Uint8Array(0)],
    ["morphologies/café/α.swc", new TextEncoder().encode("1 1 0 0 0 1 -1\n")],
  ];
  return files.map(([name, bytes]) => ({ name, bytes, blob: new Blob([bytes]), crc32: crc32Of(bytes) }));
}

for (const zip64 of [false, true]) {
  test(`a composed zip reads back entry for entry, CRC-checked${zip64 ? ", with Zip64 fields" : ""}`, async () => {
    const files = entries();
    const date = new Date(2026, 10, 30, 18, 45, 12);
    const zip = storedZip(files, { date, zip64 });
    assert.equal(zip.type, "application/zip");
    // Headers around the files: nothing compressed, nothing copied into one buffer.
    const headers = files.reduce((sum, f) => sum + 30 + 46 + 2 * new TextEncoder().encode(f.name).length + (zip64 ? 48 : 0), 0) + 22 + (zip64 ? 76 : 0);
    assert.equal(zip.size, files.reduce((sum, f) => sum + f.bytes.length, 0) + headers);

    const reader = new ZipReader(new BlobReader(zip));
    const read = await reader.getEntries();
    assert.deepEqual(read.map((e) => e.filename), files.map((f) => f.name));
    for (const [k, entry] of read.entries()) {
      assert.equal(entry.compressionMethod, 0);
      assert.equal(entry.signature, files[k].crc32 >>> 0);
      assert.equal(entry.lastModDate.getTime(), new Date(2026, 10, 30, 18, 45, 12).getTime());
      const bytes = await entry.getData(new Uint8ArrayWriter(), { checkSignature: true });
      assert.deepEqual(bytes, files[k].bytes, entry.filename);
    }
    await reader.close();

    const dir = await mkdtemp(join(tmpdir(), "synparam-zip-"));
    try {
      const path = join(dir, "circuit.zip");
      await writeFile(path, new Uint8Array(await zip.arrayBuffer()));
      const python = existsSync(join(root, ".venv/bin/python")) ? join(root, ".venv/bin/python") : "python3";
      const { stdout } = await run(python, ["-c", "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.testzip())\nprint('\\n'.join(z.namelist()))", path]);
      assert.deepEqual(stdout.trim().split("\n"), ["None", ...files.map((f) => f.name)]);
      const tested = await run("unzip", ["-t", path]).catch((error) => error);
      assert.match(tested.stdout, /No errors detected/, tested.stdout + tested.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("a wrong CRC is caught by a reader (the zip carries the digests it is given)", async () => {
  const files = entries().map((f, k) => (k === 1 ? { ...f, crc32: (f.crc32 ^ 1) >>> 0 } : f));
  const reader = new ZipReader(new BlobReader(storedZip(files)));
  const [, edges] = await reader.getEntries();
  await assert.rejects(edges.getData(new Uint8ArrayWriter(), { checkSignature: true }));
  await reader.close();
});

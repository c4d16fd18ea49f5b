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
import { storedZip, zipHeaders } from "../../www/run/stored_zip.js";

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

test("Zip64 fields appear by themselves where a size or an offset reaches 4 GiB, and only there", () => {
  // Headers for a circuit of 5 GiB: a small config, a 4.5 GiB edges file, a file after it.
  const GiB = 2 ** 30;
  const entries = [
    { name: "circuit_config.json", size: 100, crc32: 1 },
    { name: "edges.h5", size: 4.5 * GiB, crc32: 2 },
    { name: "nodes.h5", size: 0.5 * GiB, crc32: 3 },
  ];
  const { locals, tail } = zipHeaders(entries);
  const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const zip64Extra = (bytes, at) => {
    const v = view(bytes);
    assert.equal(v.getUint16(at, true), 0x0001, "the Zip64 extra field's id");
    return Array.from({ length: v.getUint16(at + 2, true) / 8 }, (_, k) => Number(v.getBigUint64(at + 4 + 8 * k, true)));
  };
  // Local headers: the config plain; the big file's sizes in Zip64; the one after it (its offset
  // beyond 4 GiB) in Zip64 as well.
  const local = (k) => ({ version: view(locals[k]).getUint16(4, true), size: view(locals[k]).getUint32(22, true), extra: view(locals[k]).getUint16(28, true) });
  assert.deepEqual(local(0), { version: 10, size: 100, extra: 0 });
  assert.deepEqual(local(1), { version: 45, size: 0xffffffff, extra: 20 });
  assert.deepEqual(zip64Extra(locals[1], 30 + "edges.h5".length), [4.5 * GiB, 4.5 * GiB]);
  assert.deepEqual(local(2), { version: 45, size: 0xffffffff, extra: 20 });
  // Central headers: sizes and offsets as they are, or in the Zip64 field.
  const offsets = [0];
  for (const [k, entry] of entries.entries()) offsets.push(offsets[k] + locals[k].length + entry.size);
  const centrals = [];
  let at = 0;
  const directory = tail.slice(0, 3);
  for (const bytes of directory) {
    const v = view(bytes);
    assert.equal(v.getUint32(0, true), 0x02014b50);
    centrals.push({ size: v.getUint32(24, true), offset: v.getUint32(42, true), extra: v.getUint16(30, true), bytes, nameLength: v.getUint16(28, true) });
    at += bytes.length;
  }
  assert.deepEqual([centrals[0].size, centrals[0].offset, centrals[0].extra], [100, 0, 0]);
  assert.deepEqual(zip64Extra(centrals[1].bytes, 46 + centrals[1].nameLength), [4.5 * GiB, 4.5 * GiB, offsets[1]]);
  assert.deepEqual(zip64Extra(centrals[2].bytes, 46 + centrals[2].nameLength), [0.5 * GiB, 0.5 * GiB, offsets[2]]);
  // The end: a Zip64 end record and its locator before the classic one, which points to them.
  const [end64, locator, end] = tail.slice(3).map(view);
  assert.equal(end64.getUint32(0, true), 0x06064b50);
  assert.equal(Number(end64.getBigUint64(48, true)), offsets[3], "the central directory's offset");
  assert.equal(Number(end64.getBigUint64(40, true)), at, "its size");
  assert.equal(locator.getUint32(0, true), 0x07064b50);
  assert.equal(Number(locator.getBigUint64(8, true)), offsets[3] + at, "the Zip64 end record's offset");
  assert.equal(end.getUint32(0, true), 0x06054b50);
  assert.equal(end.getUint32(16, true), 0xffffffff);
  // Below 4 GiB nothing of Zip64 (the 37 M-synapse circuit's zip, 3.6 GB).
  const small = zipHeaders([{ name: "edges.h5", size: 3.6e9, crc32: 2 }]);
  assert.equal(view(small.locals[0]).getUint16(28, true), 0);
  assert.equal(small.tail.length, 2, "a central header and the classic end record");
});

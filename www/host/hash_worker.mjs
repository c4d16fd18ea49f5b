// SHA-256 of files in a worker thread, so that hashing the inputs and outputs of a run (the
// provenance sidecar's record) goes on beside the draws instead of after them.
// workerData: [path, …] → posts [sha256 hex, …] in the same order.
import { parentPort, workerData } from "node:worker_threads";
import { createHash } from "node:crypto";
import fs from "node:fs";

const buffer = Buffer.allocUnsafe(8 << 20);
const hashes = workerData.map((file) => {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    for (let read; (read = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
});
parentPort.postMessage(hashes);

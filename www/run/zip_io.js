// zip.js's readers and writers for the worker's zip of a parameterized circuit, in a module of
// their own: the worker loads it (and zip.js) only when a zip is asked for, never for a run.
import { ZipWriter, BlobWriter, BlobReader, TextReader, Reader, Writer, configure } from "@zip.js/zip.js";
import { FileDigest } from "../../pkg/synparam.js";
import { emscriptenFileAccess } from "../sonata/writer.js";

export { ZipWriter, BlobWriter, BlobReader, TextReader };

/** Bytes zip.js reads at a time: large reads of Blobs and files cost less per byte. */
const ZIP_CHUNK = 4 << 20;
configure({ chunkSize: ZIP_CHUNK });

/** zip.js reader of a file in Emscripten's file system, read in slices as the zip streams. */
export class EmscriptenFileReader extends Reader {
  constructor(FS, path) {
    super(path);
    this.FS = FS;
    this.path = path;
  }

  async init() {
    await super.init?.();
    this.size = this.FS.stat(this.path).size;
  }

  async readUint8Array(index, length) {
    const access = emscriptenFileAccess(this.FS, this.path);
    try {
      return access.read(index, Math.max(0, Math.min(length, this.size - index)));
    } finally {
      access.close();
    }
  }
}

/** A zip.js reader that hashes what the zip reads, so a file is read once for both. `hex()` is
 * its SHA-256 when the zip read it whole and in order, else null (then hash it apart). */
export class HashingReader extends Reader {
  constructor(inner) {
    super();
    this.inner = inner;
    this.hash = new FileDigest();
    this.next = 0;
  }

  async init() {
    await this.inner.init?.();
    this.size = this.inner.size;
    await super.init?.();
  }

  async readUint8Array(index, length) {
    const bytes = await this.inner.readUint8Array(index, length);
    if (index === this.next && this.hash) {
      this.hash.update(bytes);
      this.next += bytes.length;
    } else {
      this.abandon();
    }
    return bytes;
  }

  abandon() {
    this.hash?.free();
    this.hash = null;
  }

  hex() {
    if (!this.hash || this.next !== this.size) return null;
    const hex = this.hash.sha256();
    this.abandon();
    return hex;
  }
}

/** zip.js writer appending to an output of the run's store. */
export class AppenderWriter extends Writer {
  constructor(appender) {
    super();
    this.appender = appender;
  }

  async writeUint8Array(array) {
    this.appender.append(array);
    this.size = this.appender.size;
  }

  getData() {
    return null;
  }
}

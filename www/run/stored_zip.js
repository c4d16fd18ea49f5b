// A zip of stored (uncompressed) entries composed as a Blob of its parts — headers made here, each
// entry's bytes the entry's own Blob (a file on disk: the run's output in the private file system,
// a chosen input File) — so that zipping a gigabyte circuit copies nothing: the browser reads the
// parts when the zip is downloaded. zip.js, which streams every byte through its writer, remains
// for what needs reading (the tests read these zips with it). CRC-32s come from the core's
// FileDigest, computed with the SHA-256 the provenance sidecar needs anyway (design §6.4).
// Zip64 (APPNOTE 6.3.10, §4.3.14–4.5.3) where a size, an offset or the count needs it.

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const UTF8_NAMES = 0x0800;

/** MS-DOS time and date fields of `date` (local time, 2-second resolution, from 1980). */
function dosDateTime(date) {
  const year = Math.min(Math.max(date.getFullYear(), 1980), 2107);
  const time = (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1);
  const day = ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate();
  return { time, day };
}

/** Little-endian writer of a header's fields. */
function fields(length) {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const self = {
    bytes,
    u16(value) { view.setUint16(at, value, true); at += 2; return self; },
    u32(value) { view.setUint32(at, value, true); at += 4; return self; },
    u64(value) { view.setBigUint64(at, BigInt(value), true); at += 8; return self; },
    raw(array) { bytes.set(array, at); at += array.length; return self; },
  };
  return self;
}

/**
 * The zip of `entries` (`[{name, blob, crc32}]`, in order; names are relative paths with "/") as
 * one Blob whose parts are the headers and the entries' own Blobs. Every entry is stored, dated
 * `date`. `zip64: true` writes Zip64 fields for every entry (tested that way); otherwise only where
 * a size or an offset reaches 4 GiB, or the entries number 65,535 or more.
 */
export function storedZip(entries, options = {}) {
  const { locals, tail } = zipHeaders(entries.map(({ name, blob, crc32 }) => ({ name, size: blob.size, crc32 })), options);
  return new Blob([...entries.flatMap(({ blob }, k) => [locals[k], blob]), ...tail], { type: "application/zip" });
}

/**
 * The headers of a zip of stored entries (`[{name, size, crc32}]`): `locals[k]` goes before entry
 * k's bytes, `tail` (central directory, Zip64 end records when needed, end record) after the last.
 */
export function zipHeaders(entries, { date = new Date(), zip64: always = false } = {}) {
  const { time, day } = dosDateTime(date);
  const encoder = new TextEncoder();
  const locals = [];
  const central = [];
  let offset = 0;
  for (const { name, size, crc32 } of entries) {
    const nameBytes = encoder.encode(name);
    const large = always || size >= MAX32 || offset >= MAX32;
    // Local header: the sizes (in a Zip64 field when large), then the name; the bytes follow.
    const localExtra = large ? 20 : 0;
    const local = fields(30 + nameBytes.length + localExtra)
      .u32(LOCAL).u16(large ? 45 : 10).u16(UTF8_NAMES).u16(0).u16(time).u16(day).u32(crc32 >>> 0)
      .u32(large ? MAX32 : size).u32(large ? MAX32 : size).u16(nameBytes.length).u16(localExtra)
      .raw(nameBytes);
    if (large) local.u16(0x0001).u16(16).u64(size).u64(size);
    locals.push(local.bytes);
    // Central header: the local header's offset as well (each large field in the Zip64 field).
    const centralExtra = large ? 28 : 0;
    const header = fields(46 + nameBytes.length + centralExtra)
      .u32(CENTRAL).u16((3 << 8) | (large ? 45 : 20)).u16(large ? 45 : 10).u16(UTF8_NAMES).u16(0).u16(time).u16(day)
      .u32(crc32 >>> 0).u32(large ? MAX32 : size).u32(large ? MAX32 : size).u16(nameBytes.length).u16(centralExtra)
      .u16(0).u16(0).u16(0).u32(name.endsWith("/") ? 0o40755 << 16 : 0o100644 << 16).u32(large ? MAX32 : offset)
      .raw(nameBytes);
    if (large) header.u16(0x0001).u16(24).u64(size).u64(size).u64(offset);
    central.push(header.bytes);
    offset += local.bytes.length + size;
  }
  const centralSize = central.reduce((sum, bytes) => sum + bytes.length, 0);
  const centralOffset = offset;
  const tail = [...central];
  const count = entries.length;
  const large = always || count >= MAX16 || centralSize >= MAX32 || centralOffset >= MAX32;
  if (large) {
    const end64Offset = centralOffset + centralSize;
    tail.push(fields(56).u32(END64).u64(44).u16((3 << 8) | 45).u16(45).u32(0).u32(0)
      .u64(count).u64(count).u64(centralSize).u64(centralOffset).bytes);
    tail.push(fields(20).u32(LOCATOR64).u32(0).u64(end64Offset).u32(1).bytes);
  }
  tail.push(fields(22).u32(END).u16(0).u16(0).u16(large ? MAX16 : count).u16(large ? MAX16 : count)
    .u32(large ? MAX32 : centralSize).u32(large ? MAX32 : centralOffset).u16(0).bytes);
  return { locals, tail };
}

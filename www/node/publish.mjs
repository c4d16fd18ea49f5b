// Publishing a parameterized circuit on disk (Node), so that the user who keeps the only copy of a
// circuit can trust the result:
// - inputs are read-only to us: every output file is a new file we create (a real copy, a
//   copy-on-write clone where the file system can, or — only with `hardlink` — a link to an
//   unchanged input); nothing is ever written through a path that leads into the input circuit,
//   and every input is checked after the run to be exactly as before (SHA-256 and identity);
// - the output is complete or absent: it is assembled in `DIR.partial-<pid>` beside DIR and renamed
//   into place only after every written dataset was read back and compared with what the core
//   drew; DIR is claimed by a lock file (first run wins, a second one fails naming the first), stale
//   staging of dead runs is removed, signals clean up, and nothing we did not create is deleted.
import fs from "node:fs/promises";
import fsSync from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { CircuitError, inFileOf } from "../sonata/errors.js";
import { outputLayout, outputFiles } from "../sonata/circuit_output.js";
import { printable } from "../sonata/errors.js";
import { pinObjectTimestamps, verifyDatasets } from "../sonata/writer.js";
import { configSha256, recordedOutputHashes, nodeSetsFileOf, overridePointFiles } from "../../pkg/synparam.js";
import { provenanceFileName, provenanceDocument, changedInputs } from "../run/provenance.js";

/** Where an output DIR is assembled by this process, and the lock file claiming it. */
const stagingOf = (outDir) => `${outDir}.partial-${process.pid}`;
const lockOf = (outDir) => `${outDir}.synparam-lock`;

/** Staging folders and lock files of the runs in progress in this process (for signal cleanup). */
const activeRuns = new Set();

/** Remove what the runs in progress created (staging, locks), at once and synchronously: the
 * command's last resort when a stopped run does not wind down by itself in time. */
export function cleanUpActiveRuns() {
  for (const run of activeRuns) {
    try { fsSync.rmSync(run.staging, { recursive: true, force: true }); } catch { /* best effort */ }
    try { fsSync.rmSync(run.lock, { force: true }); } catch { /* best effort */ }
  }
  activeRuns.clear();
}

/** SHA-256 of files in a worker thread (hash_worker.mjs), beside whatever this thread does. */
function hashInBackground(files) {
  if (!files.length) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("../host/hash_worker.mjs", import.meta.url), { workerData: files });
    worker.once("message", resolve);
    worker.once("error", (error) => reject(new CircuitError(`cannot read to hash (${error.code ?? error.message})`, { file: error.path })));
  });
}

/** What identifies a file's content without reading it: device, inode, size, modification and
 * change times (any write changes both). */
async function identityOf(file) {
  const info = await fs.stat(file, { bigint: true });
  return { dev: info.dev, ino: info.ino, size: info.size, mtime: info.mtimeNs, ctime: info.ctimeNs };
}

/** Whether a file is as it was: the same inode, size and times. `ctime` also changes when a link
 * is added, so it is left out where --hardlink links the input. */
const sameIdentity = (a, b, { linked = false } = {}) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtime === b.mtime && (linked || a.ctime === b.ctime);

/** Whether process `pid` runs on this machine. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** The real path of `target`, which may not exist yet: its deepest existing ancestor resolved. */
async function realPathOf(target) {
  const rest = [];
  let current = path.resolve(target);
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(target);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

const within = (inner, outer) => inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);

/**
 * Claim DIR with a lock file beside it (created exclusively: of two runs, the first wins). A lock
 * of a dead process on this host is stale: its staging folder and the lock are removed and the
 * claim retried. Returns the lock's path.
 */
async function claim(outDir, warnings) {
  const lock = lockOf(outDir);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString(), staging: stagingOf(outDir) });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(lock, mine, { flag: "wx" });
      return lock;
    } catch (error) {
      if (error.code !== "EEXIST") throw new CircuitError(`cannot claim the output (${error.code ?? error.message})`, { file: lock });
    }
    let other = null;
    try {
      other = JSON.parse(await fs.readFile(lock, "utf8"));
    } catch { /* unreadable: treated as held */ }
    const stale = other && other.host === os.hostname() && Number.isInteger(other.pid) && !alive(other.pid);
    if (!stale) {
      throw new CircuitError(`another synparam run${other ? ` (pid ${other.pid} on ${printable(other.host)}, started ${printable(other.started)})` : ""} is writing ${printable(outDir)}; if it is not running any more, remove ${printable(lock)}`);
    }
    const staging = `${outDir}.partial-${other.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(lock, { force: true });
    warnings.push(`removed the unfinished output of an earlier run that was stopped (pid ${other.pid}): ${staging}`);
  }
  throw new CircuitError(`cannot claim ${printable(outDir)}`);
}

/** Unfinished outputs of older runs beside DIR that no lock accounts for: named, not touched. */
async function strayStagings(outDir) {
  const parent = path.dirname(outDir);
  const prefix = `${path.basename(outDir)}.partial-`;
  const names = await fs.readdir(parent).catch(() => []);
  return names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)) && !alive(Number(n.slice(prefix.length))))
    .map((n) => path.join(parent, n));
}

/** Every file below `dir` (following links, each real folder once), except below `excluded`
 * real paths: `[{relative, real}]`, sorted. */
async function filesBelow(dir, excluded) {
  const found = [];
  const visited = new Set();
  const walk = async (current, relative) => {
    const real = await fs.realpath(current);
    if (visited.has(real) || excluded.some((e) => within(real, e))) return;
    visited.add(real);
    const entries = await fs.readdir(current, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      const info = await fs.stat(full).catch(() => null);
      if (!info) continue; // a dangling link
      const childRelative = relative ? `${relative}/${entry.name}` : entry.name;
      if (info.isDirectory()) await walk(full, childRelative);
      else if (info.isFile() && !excluded.some((e) => within(full, e))) found.push({ relative: childRelative, real: full });
    }
  };
  await walk(dir, "");
  return found;
}

/**
 * The inputs of a layout on disk: for the config and each named file its real path and identity
 * (its SHA-256 comes from `hashed()`, computed in a worker thread meanwhile); for each named
 * folder its files (with identities); entries that do not exist are named. Output and staging
 * paths are excluded from folders (an output inside the circuit).
 */
async function inventory(layout, source, excluded) {
  const files = []; // {name, real, identity, hashed} of every input file read
  const notIncluded = [];
  const warnings = [];
  const addFile = async (name, real, hashed) => {
    const record = { name, real, identity: await identityOf(real), hashed };
    files.push(record);
    return record;
  };
  if (layout.config) await addFile(layout.config.input, source.real(layout.config.input), true);
  for (const entry of layout.entries) {
    const real = source.real(entry.input);
    const info = await fs.stat(real).catch(() => null);
    if (!info) {
      entry.present = false;
      notIncluded.push(entry.output || ".");
      warnings.push(`${printable(source.describe(entry.input))}: named by the circuit but does not exist; not included in the output`);
      continue;
    }
    entry.present = true;
    entry.kind = info.isDirectory() ? "dir" : "file";
    if (entry.kind === "file") {
      await addFile(entry.input, real, true);
    } else {
      entry.files = [];
      for (const file of await filesBelow(real, excluded)) entry.files.push({ ...file, record: await addFile(`${entry.input}/${file.relative}`, file.real, false) });
    }
  }
  const named = files.filter((f) => f.hashed);
  const hashing = hashInBackground(named.map((f) => f.real));
  /** name → SHA-256 of the config and every named file, in layout order (the sidecar's "inputs"). */
  const hashed = async () => Object.fromEntries((await hashing).map((hash, i) => [named[i].name, hash]));
  hashing.catch(() => {}); // awaited (and reported) where it is needed
  return { hashed, files, notIncluded, warnings };
}

/** Copy `from` to the new file `to`: a copy-on-write clone where the file system supports it,
 * else a real copy; never over an existing file. The copy is writable by its owner. */
async function copyNew(from, to) {
  await fs.mkdir(path.dirname(to), { recursive: true });
  await fs.copyFile(from, to, fsSync.constants.COPYFILE_EXCL | fsSync.constants.COPYFILE_FICLONE);
  const { mode } = await fs.stat(to);
  if (!(mode & 0o200)) await fs.chmod(to, mode | 0o200);
}

/** A hard link `to` → `from` (only with --hardlink, for unchanged files), else a copy (across
 * devices); true when linked. */
async function linkNew(from, to) {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.link(from, to);
    return true;
  } catch (error) {
    if (error.code === "EEXIST") throw error;
    await copyNew(from, to);
    return false;
  }
}

/** Write the ASCII `text` at each of `offsets` of `file` (over a text of the same length: the
 * values of string attributes a run wrote, found by pinObjectTimestamps — h5wasm keeps them in
 * HDF5's global heap, which has no checksum, so a copy takes another value in place). */
function replaceText(file, offsets, text) {
  const access = nodeFileAccess(file, true);
  try {
    for (const offset of offsets) access.write(offset, Buffer.from(text, "latin1"));
  } finally {
    access.close();
  }
}

/** Random access to a file on disk, for pinObjectTimestamps. */
export function nodeFileAccess(file, writable = false) {
  const fd = fsSync.openSync(file, writable ? "r+" : "r");
  return {
    size: fsSync.fstatSync(fd).size,
    /** `length` bytes at `offset`, into `into` (reused) when given. */
    read(offset, length, into = null) {
      const bytes = into ? into.subarray(0, length) : new Uint8Array(length);
      fsSync.readSync(fd, bytes, 0, length, offset);
      return bytes;
    },
    write(offset, bytes) { fsSync.writeSync(fd, bytes, 0, bytes.length, offset); },
    close() { fsSync.closeSync(fd); },
  };
}

/** Step 3 of publishCircuit: every file but the edges written — the config, the files named
 * (copies, or links with --hardlink), then the named folders' files around them, each output
 * path once, a named file always first. Returns the staged paths that are hard links. */
async function copyOtherFiles(plan, { place, source, hardlink, checkpoint }) {
  const linked = new Set();
  for (const file of plan) {
    checkpoint();
    if (file.from === "written" || place.stored(file)) continue;
    const to = place.where(file);
    if (file.from === "config") {
      await fs.writeFile(to, place.configText, { flag: "wx" });
      continue;
    }
    const real = file.file ? file.file.real : source.real(file.entry.input);
    if (hardlink) {
      if (await linkNew(real, to)) linked.add(to);
    } else {
      await copyNew(real, to);
    }
  }
  return linked;
}

/**
 * Where each planned output file goes and how the sidecar names it. A single run: all in its
 * staging folder. A scan's point (`scan`: {sharedDir, state, first}, `state.layout` the core's
 * scan layout): its config and the edges files it writes in its own folder; every other file in
 * the scan's shared folder, named `../shared/…` — copied there by the first point, already
 * there (`stored`) for the others. Edges files a point writes are drawn under `.drawn/` and moved
 * into place by `settle` (a later point's copy of a shared one is only compared, then removed).
 */
function placement(layout, staged, staging, scan) {
  if (!scan) return { where: (file) => staged(file.output), drawn: staged, named: (file) => file.output, shared: () => false, stored: () => false, configText: layout.config?.text };
  const drawn = (output) => path.join(staging, ".drawn", output);
  const place = {
    drawn, configText: null, perPoint: new Set(),
    shared: (file) => file.from !== "config" && !(file.from === "written" && place.perPoint.has(file.entry.input)),
    stored: (file) => !scan.first && place.shared(file),
    where: (file) => (place.shared(file) ? path.join(scan.sharedDir, file.output) : staged(file.output)),
    named: (file) => (place.shared(file) ? scan.state.layout.shared_prefix + file.output : file.output),
    /** The scan's layout decided (by the first point) and the written files moved into place. */
    async settle(plan, result) {
      scan.state.layout ??= scan.decide(result);
      const { layout: scanned } = scan.state;
      place.perPoint = new Set(scanned.layout.entries.filter((_, i) => scanned.per_point[i]).map((e) => e.input));
      place.configText = scanned.point.config.text;
      for (const file of plan.filter((f) => f.from === "written" && !place.stored(f))) {
        await fs.mkdir(path.dirname(place.where(file)), { recursive: true });
        await fs.rename(drawn(file.output), place.where(file));
      }
    },
  };
  return place;
}

/** Step 5 of publishCircuit, before publishing: every written dataset holds what the core drew
 * (read back), every output file is what it should be (hashed in the background meanwhile), no
 * file written shares an inode with an input. Returns the sidecar's `outputs`, `datasets` and
 * the inputs' hashes. */
async function verifyOutput({ plan, result, before, staging, place, linked, DatasetDigest, openReadOnly, phase, scan }) {
  const hashedFiles = plan.filter((file) => file.from !== "config" && !file.file && !place.stored(file));
  const outputHashing = hashInBackground(hashedFiles.map((file) => place.where(file)));
  outputHashing.catch(() => {});
  const datasets = {};
  for (const file of plan) {
    const where = place.where(file);
    if (file.from === "config") {
      const text = await fs.readFile(where, "utf8");
      if (text !== place.configText) throw new CircuitError("verification failed: the written config differs from the one planned", { file: file.output });
    } else if (file.from === "written") {
      const h5 = openReadOnly(place.stored(file) ? place.drawn(file.output) : where);
      const digests = {};
      try {
        for (const population of result.populations.filter((p) => p.fileName === file.entry.input)) {
          for (const checked of verifyDatasets(h5, population.name, population.datasets, DatasetDigest, { shownName: file.output })) {
            digests[checked.dataset] = { storage: checked.storage, rows: checked.rows, digest: checked.digest };
          }
        }
      } finally {
        h5.close();
      }
      if (place.stored(file)) await sameAsShared(file, digests, place, scan, Boolean(result.redrawn));
      else if (scan && place.shared(file)) (scan.state.sharedDigests ??= {})[file.output] = digests;
      datasets[place.named(file)] = result.redrawn ? withKept(scan.state.first.datasets[place.named(file)], digests, file.output) : digests;
    } else if (place.stored(file)) {
      continue; // a shared file the scan's first point copied and verified
    } else if (file.file && (await fs.stat(where)).size !== Number(file.file.record.identity.size)) {
      throw new CircuitError(`verification failed: the output copy differs in size from its input ${printable(file.file.real)}`, { file: file.output });
    }
  }
  phase("verify datasets");
  const inputHashes = await before.hashed();
  const outputHashes = Object.fromEntries((await outputHashing).map((hash, i) => [place.named(hashedFiles[i]), hash]));
  if (scan) {
    if (scan.first) scan.state.sharedHashes = outputHashes;
    else for (const file of plan.filter((f) => place.stored(f) && !f.file)) outputHashes[place.named(file)] = scan.state.sharedHashes[place.named(file)];
  }
  let outputs;
  try {
    outputs = recordedOutputHashes(place.configText, plan.map((f) => ({ output: place.named(f), from: f.from, input: f.entry?.input ?? null, in_folder: Boolean(f.file) })), inputHashes, outputHashes);
  } catch (error) {
    throw inFileOf(error, undefined);
  }
  const inputInodes = new Set(before.files.map((f) => `${f.identity.dev}:${f.identity.ino}`));
  const ours = [...(await filesBelow(staging, [])), ...(scan?.first ? await filesBelow(scan.sharedDir, []) : [])];
  for (const { relative, real } of ours) {
    const id = await identityOf(real);
    if (inputInodes.has(`${id.dev}:${id.ino}`) && !linked.has(real)) {
      throw new CircuitError(`verification failed: the output file shares its inode with an input (it is an input)`, { file: relative });
    }
  }
  return { outputs, datasets, inputHashes };
}

/** A scan point's edges file that is shared: what it drew must be what the first point drew and
 * stored (keyed streams: the same bits), else the scan is refused; its drawn copy is removed.
 * `redrawn`: it drew only some datasets (over a copy of the first point's file), those are compared. */
async function sameAsShared(file, digests, place, scan, redrawn) {
  const stored = scan.state.sharedDigests[file.output] ?? {};
  const differs = Object.keys(redrawn ? digests : { ...stored, ...digests }).filter((d) => JSON.stringify(stored[d]) !== JSON.stringify(digests[d]));
  if (differs.length) throw new CircuitError(`internal error: this scan point drew ${differs.join(", ")} differently from the first point, though no point changes them; nothing was published (please report it)`, { file: file.output });
  await fs.rm(place.drawn(file.output));
}

/** The digests of a file drawn over a copy of the first point's: the first point's, in its order,
 * with those of the datasets drawn again. */
function withKept(first, drawn, file) {
  const missing = Object.keys(drawn).filter((d) => !(d in first));
  if (missing.length) throw new CircuitError(`internal error: a scan point drew ${missing.join(", ")}, which the first point's file lacks; nothing was published (please report it)`, { file });
  return Object.fromEntries(Object.entries(first).map(([dataset, digest]) => [dataset, drawn[dataset] ?? digest]));
}

/**
 * What a scan's later points reuse of its first point (design §5.5): its written edges files (by
 * input name, where they are now), their datasets' digests as its sidecar records them, their
 * storage types (in the order written), its connections per edge population, its object headers'
 * offsets and those of its datasets' config SHA-256 attribute values (by input name; `patchable`
 * when there is one per dataset).
 */
function firstPointRecord({ plan, result, place, scan, outDir, datasets, headers, configShaAt }) {
  const files = new Map();
  for (const file of plan.filter((f) => f.from === "written")) {
    files.set(file.entry.input, place.shared(file) ? path.join(scan.sharedDir, file.output) : path.join(outDir, file.output));
  }
  const written = new Map(); // input name → [{property, storage}] in the order written
  for (const population of result.populations) {
    const list = written.get(population.fileName) ?? [];
    for (const d of population.datasets ?? []) list.push({ property: d.property, storage: d.storage });
    written.set(population.fileName, list);
  }
  const connections = Object.fromEntries(result.populations.map((p) => [p.name, p.connections]));
  const stats = new Map(result.populations.map((p) => [p.name, p.stats]));
  // Each written dataset's config SHA-256 attribute found once, or the copies cannot be patched.
  const patchable = [...written].every(([file, list]) => configShaAt.get(file)?.length === list.length);
  return { files, datasets, written, connections, stats, combined: result.combined?.stats ?? null, headers, configShaAt, patchable };
}

/** A redrawn point's statistics made whole: the first point's for the properties it kept (the
 * same bits), its own for those it drew, in the first point's order. */
function withFirstStatistics(result, first) {
  const merged = (before, drawn) => before.map((s) => drawn.find((d) => d.property === s.property) ?? s);
  return {
    ...result,
    populations: result.populations.map((p) => ({ ...p, stats: merged(first.stats.get(p.name) ?? [], p.stats) })),
    combined: result.combined && first.combined ? { ...result.combined, stats: merged(first.combined, result.combined.stats) } : result.combined,
  };
}

/**
 * Parameterize the circuit described by `circuit`/`source` (from loadCircuit, on disk) into
 * `out`, a whole circuit with the input's layout and a provenance sidecar, published only when
 * complete and verified (see the module comment). `execute(output, redraw)` does the run
 * (parameterizeCircuit with that `output` and `redraw`); `openWritable(file)`, `openReadOnly(file)`
 * open HDF5 files and `DatasetDigest` is the core's digest class. A scan's later point
 * (`scan.changes`: what it changes relative to the first point) draws only those properties over
 * copies of the first point's files when the core allows it (and the copies can be patched), and records the
 * first point's digests for what it kept. `recorded` (from readProvenance) makes it
 * refuse a circuit whose files differ from the recorded ones. Returns the run's result plus
 * `{provenance, outDir, warnings, rewrittenConfig}`.
 */
export async function publishCircuit({ circuit, source, out, hardlink = false, recorded = null, recordedName = provenanceFileName(), configText, version, execute, openWritable, openReadOnly, DatasetDigest, shouldStop = () => false, timings = null, parent = null, scan = null }) {
  const warnings = [];
  const phase = (name) => timings?.mark(name);
  const checkpoint = () => {
    if (shouldStop()) throw new CircuitError("stopped before the output was complete; nothing was published");
  };
  const layout = scan?.state.inputs?.layout ?? outputLayout(circuit);
  const outDir = path.resolve(out);
  const outReal = await realPathOf(outDir);
  const staging = stagingOf(outDir);
  const lock = lockOf(outDir);
  // Refuse an output that would be, or contain, an input.
  const inputRoots = [layout.config ? source.real(layout.config.input) : null, ...layout.entries.map((e) => source.real(e.input))].filter(Boolean);
  for (const input of inputRoots) {
    const real = await fs.realpath(input).catch(() => path.resolve(input));
    if (within(real, outReal)) throw new CircuitError(`the output folder ${printable(outDir)} would contain the input ${printable(real)}; choose a new folder outside the circuit's files`);
  }
  const result = await publishClaimed(outDir, warnings, async () => {
    const excluded = [outReal, await realPathOf(staging), await realPathOf(lock), ...(scan?.excluded ?? [])];

    phase("claim");
    // 1. What the inputs are, before anything else happens (their SHA-256s come in the background;
    // a scan's later points take its first point's, their identities checked again at the end).
    const before = scan?.state.inputs?.before ?? await inventory(layout, source, excluded);
    if (scan) scan.state.inputs ??= { layout, before };
    if (!scan || scan.first) warnings.push(...before.warnings);
    if (recorded) {
      const changed = changedInputs(recorded.inputs, await before.hashed());
      if (changed.length) throw new CircuitError(`the circuit differs from the one ${printable(recordedName)} records, so the run would not reproduce it: ${changed.map(printable).join(", ")}`);
    }

    phase("inventory");
    checkpoint();
    // 2. The run: each edges file copied (never linked) into its place in the staging folder,
    // then written there.
    await fs.mkdir(staging);
    const staged = (output) => path.join(staging, output);
    const place = placement(layout, staged, staging, scan);
    const edgeFiles = new Set([...circuit.edgePopulations.values()].map((p) => p.fileName));
    const outputOf = new Map(layout.entries.map((e) => [e.input, place.drawn(e.output)]));
    // A later scan point draws only what it changes, over copies of the first point's files.
    const first = scan && !scan.first && scan.changes && scan.state.first?.patchable ? scan.state.first : null;
    let redrawn = null;
    const redraw = first && {
      changes: scan.changes, first: [...first.written.values()].flat(), connections: first.connections, onRedraw: (r) => { redrawn = r; },
    };
    const copiedFrom = new Map();
    const headers = new Map(); // the first point's: input name → its object headers' offsets
    const configShaAt = new Map(); // … and the offsets of its config SHA-256 (the datasets' attribute)
    const drawnResult = await execute({
      async open(fileName, overFirst = false) {
        if (!outputOf.has(fileName) || !edgeFiles.has(fileName)) throw new CircuitError("is not an edges file of the output layout", { file: fileName });
        const from = overFirst ? first?.files.get(fileName) : source.real(fileName);
        if (!from) throw new CircuitError("internal error: no file of the scan's first point to draw over", { file: fileName });
        copiedFrom.set(fileName, from);
        phase("run");
        await copyNew(from, outputOf.get(fileName));
        phase("copy edges");
        return openWritable(outputOf.get(fileName));
      },
      async finish(fileName, file) {
        file.close();
        phase("close");
        // Every dataset of a copy of the first point's file gets this point's config SHA-256, in
        // place (as a whole run of this point writes it); its object headers are where that
        // file has them.
        if (redrawn) replaceText(outputOf.get(fileName), first.configShaAt.get(fileName), configSha256(configText));
        const found = pinObjectTimestamps(nodeFileAccess(outputOf.get(fileName), true), nodeFileAccess(copiedFrom.get(fileName)), {
          headers: redrawn ? first.headers.get(fileName) : null, text: scan?.first ? configSha256(configText) : null,
        });
        if (scan?.first) {
          headers.set(fileName, found.headers);
          configShaAt.set(fileName, found.text);
        }
        phase("pin timestamps");
      },
      async abandon(fileName, file) {
        try { file.close(); } catch { /* already closed */ }
      },
    }, redraw);
    const result = redrawn ? withFirstStatistics(drawnResult, first) : drawnResult;
    const written = new Set(result.populations.map((p) => p.fileName));

    phase("run");
    checkpoint();
    // 3. Every other file: the config, the files named (copies, or links with --hardlink), then
    // the named folders' files around them — each output path once, a named file always first.
    const plan = outputFiles(layout, { written, folderFiles: (entry) => entry.files });
    if (scan) await place.settle(plan, result);
    const linked = await copyOtherFiles(plan, { place, source, hardlink, checkpoint });
    const sidecarLayout = scan ? scan.state.layout.point : layout;
    const directories = sidecarLayout.entries.filter((e, i) => layout.entries[i].present && layout.entries[i].kind === "dir").map((e) => e.output || ".");

    phase("copy other files");
    checkpoint();
    // 5. Verify before publishing: every written dataset holds what the core drew; every output
    // file is what it should be; no file we wrote shares an inode with an input.
    // Every output file's SHA-256 in the background while the written datasets are read back.
    const { outputs, datasets, inputHashes } = await verifyOutput({ plan, result, before, staging, place, linked, DatasetDigest, openReadOnly, phase, scan });
    if (scan) await fs.rm(path.join(staging, ".drawn"), { recursive: true, force: true });
    if (scan?.first) scan.state.first = firstPointRecord({ plan, result, place, scan, outDir, datasets, headers, configShaAt });

    phase("wait for hashes");
    checkpoint();
    // 6. The sidecar, then the inputs checked to be as they were.
    const sidecar = provenanceDocument({
      version, created: new Date().toISOString(),
      seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback, overwrite: result.overwrite,
      populations: result.requested, configText, results: result.populations, layout: sidecarLayout, inputs: inputHashes, outputs, datasets,
      directories, notIncluded: before.notIncluded, unavailable: circuit.unavailable, skipped: result.skipped, explain: result.explain, parent,
    });
    const provenance = sidecar.document;
    await fs.writeFile(staged(provenanceFileName()), sidecar.text, { flag: "wx" });
    for (const file of before.files) {
      const now = await identityOf(file.real).catch(() => null);
      if (!now || !sameIdentity(now, file.identity, { linked: hardlink })) {
        throw new CircuitError(`an input changed during the run${now ? "" : " (it is gone)"}; the result was not published`, { file: source.describe(file.name) });
      }
    }

    phase("sidecar, inputs checked");
    checkpoint();
    return { ...result, provenance };
  });
  // 7. Published: renamed into place, over DIR only if it was still empty.
  phase("publish");
  warnings.push(...result.warnings);
  return { ...result, warnings, outDir, rewrittenConfig: Boolean(layout.config?.rewritten) };
}

/**
 * Claim `outDir` (a lock file beside it), check it is new or empty, let `build()` assemble the
 * output in `DIR.partial-<pid>` beside it, then rename that into place (over DIR only if it is
 * still empty). On any error or stop the staging folder is removed, the lock always. Returns
 * what `build` returned.
 */
async function publishClaimed(outDir, warnings, build) {
  const staging = stagingOf(outDir);
  const lock = lockOf(outDir);
  await fs.mkdir(path.dirname(outDir), { recursive: true });
  await claim(outDir, warnings);
  const entry = { staging, lock };
  activeRuns.add(entry);
  let published = false;
  try {
    for (const stray of await strayStagings(outDir)) warnings.push(`an unfinished output of an earlier run is left at ${printable(stray)} (its process has ended); remove it if you do not need it`);
    const existing = await fs.readdir(outDir).catch((error) => {
      if (error.code === "ENOENT") return [];
      throw new CircuitError(error.code === "ENOTDIR" ? "exists and is not a folder" : `cannot read (${error.code})`, { file: outDir });
    });
    if (existing.length) throw new CircuitError(`output directory ${printable(outDir)} is not empty; choose a new or empty --out (inputs are never modified)`);
    const result = await build();
    try {
      await fs.rename(staging, outDir);
    } catch (error) {
      if (error.code === "ENOTEMPTY" || error.code === "EEXIST") throw new CircuitError(`${printable(outDir)} is no longer empty (something wrote into it during the run); the result was not published`);
      throw new CircuitError(`cannot move the finished output into place (${error.code ?? error.message})`, { file: outDir });
    }
    published = true;
    return result;
  } finally {
    if (!published) await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(lock, { force: true });
    activeRuns.delete(entry);
  }
}

/**
 * Publish a scan (design §5.5): `DIR/scan.json` (`scanJsonText`), one circuit per point in
 * `DIR/<point name>/`, the files no point changes once in `DIR/<names.shared>/`. DIR is claimed
 * and assembled beside it as a single run's output is, and renamed into place only when every
 * point was published (verified) in it. `runPoint(point, out, scan)` publishes one point with
 * publishCircuit's `scan` option (`{sharedDir, state, first, excluded, decide}`; the caller
 * adds `decide`); returns the points' results, `{outDir, warnings}`.
 */
export async function publishScan({ out, points, scanJsonText, names, runPoint, shouldStop = () => false }) {
  const warnings = [];
  const outDir = path.resolve(out);
  const staging = stagingOf(outDir);
  const results = await publishClaimed(outDir, warnings, async () => {
    const sharedDir = path.join(staging, names.shared);
    await fs.mkdir(sharedDir, { recursive: true });
    const state = {};
    const excluded = [await realPathOf(outDir), await realPathOf(staging), await realPathOf(lockOf(outDir))];
    const done = [];
    for (const [index, point] of points.entries()) {
      if (shouldStop()) throw new CircuitError("stopped before the scan was complete; nothing was published");
      done.push(await runPoint(point, path.join(staging, point.name), { sharedDir, state, first: index === 0, excluded }));
    }
    await fs.writeFile(path.join(staging, names.scan), scanJsonText, { flag: "wx" });
    return done;
  });
  return { results, outDir, warnings };
}

/**
 * A scan point written as SONATA connection_overrides over point 0's edges (design §5.5), in
 * `pointOut` beside point 0's folder `baseName` (both in the scan's staging folder): its circuit
 * config (`configName`, point 0's pointing into point 0's folder), the simulation-config fragment
 * and its node sets file (the circuit's node sets with the pathway node sets), as the core writes
 * them (`overridePointFiles`, from the core's `output` for the point). No edges file, no sidecar:
 * scan.json records the point. Returns `{outDir, files, overrides: output, populations: [], warnings: []}`.
 */
export async function publishOverridePoint({ pointOut, pointName, baseName, configName, output }) {
  const baseDir = path.join(path.dirname(pointOut), baseName);
  const read = (file) => fs.readFile(file, "utf8").catch((error) => {
    throw new CircuitError(`cannot read point ${printable(baseName)}'s file (${error.code ?? error.message})`, { file });
  });
  const configText = await read(path.join(baseDir, configName));
  const nodeSets = nodeSetsFileOf(configText);
  const nodeSetsText = nodeSets === undefined ? undefined : await read(path.resolve(baseDir, nodeSets));
  const files = overridePointFiles(pointName, baseName, configName, configText, nodeSetsText, output);
  await fs.mkdir(pointOut);
  for (const { name, text } of files) await fs.writeFile(path.join(pointOut, name), text, { flag: "wx" });
  return { outDir: pointOut, files: files.map((f) => f.name), overrides: output, populations: [], warnings: [] };
}

#!/usr/bin/env node
// synparam headless command: parameterize the edges of a SONATA circuit with the same loader,
// wasm core and writer as the page, and write a whole parameterized circuit.
//
//   node www/cli.mjs --circuit <circuit_config.json | edges/nodes .h5 files...> --config <json>
//                    --out DIR [--seed N] [--pathway-property P] [--populations a,b]
//                    [--fallback-value V] [--overwrite] [--chunk-size N] [--copy]
//   node www/cli.mjs --circuit <the original circuit> --from-provenance DIR/parameterization.json --out DIR2
//
// DIR (new or empty) mirrors the input circuit: every file the config names at the same relative
// path (hard-linked where possible, or copied with --copy; edge files always copied, then
// written), the config rewritten only for files outside its folder, and a provenance sidecar. It
// is built beside DIR and renamed into place only when everything succeeded; inputs are never
// modified. Prints a per-population, per-pathway summary and warnings; exits non-zero with a
// clear message on any error.
import fs from "node:fs/promises";
import fsSync, { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { initSync, Parameterizer, version } from "../pkg/synparam.js";
import { loadCircuit, nodeFileSource, closeCircuit, CircuitError } from "./loader.js";
import { parameterizeCircuit } from "./parameterize.js";
import { pinObjectTimestamps } from "./writer.js";
import { outputLayout, provenanceDocument, readProvenance, changedInputs, hashInputs, placeOutputs, PROVENANCE_FILE } from "./circuit_output.js";

const USAGE = `usage: node www/cli.mjs --circuit <circuit_config.json | files.h5...> --config <json> --out DIR
       [--seed N] [--pathway-property P] [--populations a,b] [--fallback-value V] [--overwrite] [--chunk-size N] [--copy]
   or: node www/cli.mjs --circuit <circuit_config.json | files.h5...> --from-provenance parameterization.json --out DIR [--copy]`;

class UsageError extends Error {}

export function parseArguments(argv) {
  const options = { circuit: [], chunkSize: 1_000_000, overwrite: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--circuit":
        options.circuit.push(value());
        while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) options.circuit.push(argv[++i]);
        break;
      case "--config": options.config = value(); break;
      case "--out": options.out = value(); break;
      case "--seed": {
        const text = value();
        if (!/^\d+$/.test(text)) throw new UsageError(`--seed must be a non-negative integer, got '${text}'`);
        options.seed = Number(text);
        break;
      }
      case "--pathway-property": options.pathwayProperty = value(); break;
      case "--populations": options.populations = value().split(",").filter(Boolean); break;
      case "--fallback-value": options.fallback = value(); break;
      case "--overwrite": options.overwrite = true; break;
      case "--copy": options.copy = true; break;
      case "--from-provenance": options.fromProvenance = value(); break;
      case "--chunk-size": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--chunk-size must be a positive integer");
        options.chunkSize = n;
        break;
      }
      case "--help": case "-h": throw new UsageError("");
      default: throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (options.fromProvenance) {
    const clashing = ["config", "seed", "pathwayProperty", "populations", "fallback"].filter((k) => options[k] !== undefined).concat(options.overwrite ? ["overwrite"] : []);
    if (clashing.length) throw new UsageError(`--from-provenance sets the model and run settings; drop ${clashing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")}`);
  } else if (!options.config) {
    throw new UsageError("--config is required (or --from-provenance)");
  }
  if (!options.out) throw new UsageError("--out is required");
  if (!options.circuit.length) throw new UsageError("--circuit is required");
  return options;
}

const format = (x) => (x === null || x === undefined ? "-" : Number(x).toPrecision(4));

/** Hard-link a file where the file system allows (same bytes, no space), else copy it. */
async function linkOrCopy(from, to, copy) {
  await fs.mkdir(path.dirname(to), { recursive: true });
  if (!copy) {
    try {
      await fs.link(from, to);
      return;
    } catch { /* another device, or links not supported: copy */ }
  }
  await fs.copyFile(from, to);
}

/** Mirror a directory tree file by file (links or copies). */
async function mirrorDirectory(from, to, copy) {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) await mirrorDirectory(source, path.join(to, entry.name), copy);
    else await linkOrCopy(source, path.join(to, entry.name), copy);
  }
}

/** Random access to a file on disk, for pinObjectTimestamps. */
function nodeFileAccess(file, writable = false) {
  const fd = fsSync.openSync(file, writable ? "r+" : "r");
  return {
    size: fsSync.fstatSync(fd).size,
    read(offset, length) {
      const bytes = new Uint8Array(length);
      fsSync.readSync(fd, bytes, 0, length, offset);
      return bytes;
    },
    write(offset, bytes) { fsSync.writeSync(fd, bytes, 0, bytes.length, offset); },
    close() { fsSync.closeSync(fd); },
  };
}

async function sha256OfFile(file) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}

async function kindOf(file) {
  const info = await fs.stat(file).catch(() => null);
  return info ? (info.isDirectory() ? "dir" : "file") : null;
}

/** Refuse an output directory that exists and is not empty: the output is a whole circuit. */
async function checkOutputDirectory(outDir) {
  const entries = await fs.readdir(outDir).catch((e) => (e.code === "ENOENT" ? [] : Promise.reject(e)));
  if (entries.length) throw new CircuitError(`output directory ${outDir} is not empty; choose a new or empty --out (inputs are never modified)`);
}

export async function main(argv, log = console.log) {
  const options = parseArguments(argv);
  const root = path.dirname(fileURLToPath(import.meta.url));
  initSync({ module: await fs.readFile(path.join(root, "../pkg/synparam_bg.wasm")) });
  await h5wasm.ready;

  const readInput = (file) => fs.readFile(file, "utf8").catch((e) => { throw new CircuitError(`cannot read (${e.code ?? e.message})`, { file }); });
  const recorded = options.fromProvenance ? readProvenance(await readInput(options.fromProvenance), options.fromProvenance) : null;
  const configText = recorded ? recorded.configText : await readInput(options.config);
  const settings = recorded
    ? { seed: recorded.seed, pathwayProperty: recorded.pathwayProperty, fallback: recorded.fallback, overwrite: recorded.overwrite, populations: recorded.populations }
    : { seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback, overwrite: options.overwrite, populations: options.populations };
  // Validate the model (and seed) before touching any file.
  new Parameterizer(configText, settings.seed).free();

  const isConfig = options.circuit.length === 1 && options.circuit[0].endsWith(".json");
  const source = nodeFileSource(isConfig ? path.dirname(path.resolve(options.circuit[0])) : "/", fs, path);
  const circuit = await loadCircuit(h5wasm, source, isConfig
    ? { configName: path.basename(options.circuit[0]) }
    : { configName: "\0no-config", fileNames: options.circuit.map((f) => path.resolve(f)) });

  const outDir = path.resolve(options.out);
  const staging = `${outDir}.partial-${process.pid}`;
  try {
    const layout = outputLayout(circuit);
    await checkOutputDirectory(outDir);
    const inputPath = (name) => path.resolve(source.describe(name));
    // Hash every input first: a rerun from provenance must start from the very same circuit.
    const { inputs, notIncluded, warnings } = await hashInputs(layout, {
      probe: async (entry) => (await kindOf(inputPath(entry.input))) ?? { missing: "named by the circuit but does not exist" },
      hash: (name) => sha256OfFile(inputPath(name)),
    });
    if (recorded) {
      const changed = changedInputs(recorded.inputs, inputs);
      if (changed.length) throw new CircuitError(`the circuit differs from the one ${options.fromProvenance} records, so the run would not reproduce it: ${changed.join(", ")}`);
    }

    await fs.mkdir(staging, { recursive: true });
    const outputOf = new Map(layout.entries.map((e) => [e.input, path.join(staging, e.output)]));
    const parameterized = new Set();
    // Edge files are copied (never linked: they are modified) and written in place in the staging
    // directory, which becomes --out only when everything succeeded.
    const output = {
      async open(fileName) {
        await fs.mkdir(path.dirname(outputOf.get(fileName)), { recursive: true });
        await fs.copyFile(inputPath(fileName), outputOf.get(fileName));
        return new h5wasm.File(outputOf.get(fileName), "a");
      },
      async finish(fileName, file) {
        file.close();
        const written = nodeFileAccess(outputOf.get(fileName), true);
        const original = nodeFileAccess(inputPath(fileName));
        try {
          pinObjectTimestamps(written, original);
        } finally {
          written.close();
          original.close();
        }
        parameterized.add(fileName);
      },
      async abandon(fileName, file) {
        try { file.close(); } catch { /* already closed */ }
      },
    };
    const result = await parameterizeCircuit({
      circuit, Parameterizer, configText, ...settings, chunkSize: options.chunkSize, output, version: version(),
    });
    const { outputs, directories } = await placeOutputs(layout, inputs, parameterized, {
      hashWritten: (entry) => sha256OfFile(outputOf.get(entry.input)),
      copyFile: (entry) => linkOrCopy(inputPath(entry.input), outputOf.get(entry.input), options.copy),
      copyDirectory: (entry) => mirrorDirectory(inputPath(entry.input), outputOf.get(entry.input), options.copy),
      writeConfig: (output, text) => fs.writeFile(path.join(staging, output), text),
    });
    const provenance = provenanceDocument({
      version: version(), created: new Date().toISOString(), circuitConfig: layout.config?.output ?? null,
      seed: result.seed, pathwayProperty: result.pathwayProperty, fallback: result.fallback, overwrite: result.overwrite,
      populations: result.requested, configText, results: result.populations, layout, inputs, outputs, directories, notIncluded,
    });
    await fs.writeFile(path.join(staging, PROVENANCE_FILE), `${JSON.stringify(provenance, null, 2)}\n`);
    await fs.rm(outDir, { recursive: true, force: true }); // empty (checked above)
    await fs.rename(staging, outDir);
    for (const population of result.populations) summarize(log, population);
    log(`\nwrote the parameterized circuit to ${outDir}${layout.config?.rewritten ? ` (${layout.config.output} rewritten: files outside the circuit folder are in external/)` : ""}`);
    result.warnings.push(...warnings);
    for (const warning of result.warnings) log(`warning: ${warning}`);
    return { ...result, provenance, outDir };
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    closeCircuit(circuit);
  }
}

function summarize(log, { name, source, target, size, stats, connections }) {
  const total = Object.values(connections).reduce((a, b) => a + b, 0);
  log(`\n${name} (${source} → ${target}): ${size} synapses in ${total} connections`);
  for (const property of stats) {
    for (const p of property.pathways) {
      const pathway = `${p.source} → ${p.target}`;
      log(`  ${property.property.padEnd(26)} ${pathway.padEnd(44)} synapses=${String(p.count).padEnd(8)} connections=${String(connections[pathway] ?? 0).padEnd(7)} mean=${format(p.mean).padEnd(10)} std=${format(p.std)}`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    if (error instanceof UsageError) {
      console.error(error.message ? `synparam: ${error.message}\n${USAGE}` : USAGE);
      process.exit(error.message ? 2 : 0);
    }
    console.error(`synparam: error: ${error.name && error.name !== "Error" ? `${error.name}: ` : ""}${error.message}`);
    process.exit(1);
  });
}

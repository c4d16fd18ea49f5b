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
import { fileURLToPath } from "node:url";
import { CircuitError } from "./loader.js";
import { readProvenance } from "./circuit_output.js";
import { initialize, writeParameterizedCircuit } from "./node.mjs";

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

export async function main(argv, log = console.log) {
  const options = parseArguments(argv);
  await initialize();
  const readInput = (file) => fs.readFile(file, "utf8").catch((e) => { throw new CircuitError(`cannot read (${e.code ?? e.message})`, { file }); });
  const recorded = options.fromProvenance ? readProvenance(await readInput(options.fromProvenance), options.fromProvenance) : null;
  const configText = recorded ? recorded.configText : await readInput(options.config);
  const settings = recorded
    ? { seed: recorded.seed, pathwayProperty: recorded.pathwayProperty, fallback: recorded.fallback, overwrite: recorded.overwrite, populations: recorded.populations }
    : { seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback, overwrite: options.overwrite, populations: options.populations };
  const result = await writeParameterizedCircuit({
    circuitPaths: options.circuit, configText, settings, out: options.out, chunkSize: options.chunkSize, copy: options.copy,
    recorded, recordedName: options.fromProvenance,
  });
  for (const population of result.populations) summarize(log, population);
  log(`\nwrote the parameterized circuit to ${result.outDir}${result.rewrittenConfig ? " (circuit_config.json rewritten: files outside the circuit folder are in external/)" : ""}`);
  for (const warning of result.warnings) log(`warning: ${warning}`);
  return result;
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

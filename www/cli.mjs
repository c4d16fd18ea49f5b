#!/usr/bin/env node
// synparam headless command: parameterize the edges of a SONATA circuit with the same loader,
// wasm core and writer as the page.
//
//   node www/cli.mjs --circuit <circuit_config.json | edges/nodes .h5 files...> --config <json>
//                    --out DIR [--seed N] [--pathway-property P] [--populations a,b]
//                    [--fallback-value V] [--overwrite] [--chunk-size N]
//
// Writes each parameterized edges file into DIR through a temporary file renamed at the end, never
// over an input; prints a per-population, per-pathway summary and warnings; exits non-zero with a
// clear message on any error.
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { initSync, Parameterizer } from "../pkg/synparam.js";
import { loadCircuit, nodeFileSource, closeCircuit, CircuitError } from "./loader.js";
import { parameterizeCircuit } from "./parameterize.js";

const USAGE = `usage: node www/cli.mjs --circuit <circuit_config.json | files.h5...> --config <json> --out DIR
       [--seed N] [--pathway-property P] [--populations a,b] [--fallback-value V] [--overwrite] [--chunk-size N]`;

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
  for (const required of ["config", "out"]) if (!options[required]) throw new UsageError(`--${required} is required`);
  if (!options.circuit.length) throw new UsageError("--circuit is required");
  return options;
}

const format = (x) => (x === null || x === undefined ? "-" : Number(x).toPrecision(4));

export async function main(argv, log = console.log) {
  const options = parseArguments(argv);
  const root = path.dirname(fileURLToPath(import.meta.url));
  initSync({ module: await fs.readFile(path.join(root, "../pkg/synparam_bg.wasm")) });
  await h5wasm.ready;

  const configText = await fs.readFile(options.config, "utf8").catch((e) => { throw new CircuitError(`cannot read (${e.code ?? e.message})`, { file: options.config }); });
  // Validate the model (and seed) before touching any file.
  new Parameterizer(configText, options.seed).free();

  const isConfig = options.circuit.length === 1 && options.circuit[0].endsWith(".json");
  const source = nodeFileSource(isConfig ? path.dirname(path.resolve(options.circuit[0])) : process.cwd(), fs, path);
  const circuit = await loadCircuit(h5wasm, source, isConfig
    ? { configName: path.basename(options.circuit[0]) }
    : { configName: "\0no-config", fileNames: options.circuit });

  const outDir = path.resolve(options.out);
  try {
    const inputs = [...circuit.edgePopulations.values(), ...circuit.nodePopulations.values()].map((p) => path.resolve(source.describe(p.fileName)));
    if (inputs.some((f) => path.dirname(f) === outDir)) {
      throw new CircuitError(`output directory ${outDir} holds input files; choose another --out (inputs are never modified)`);
    }
    const outputNames = new Map();
    for (const edges of circuit.edgePopulations.values()) {
      const base = path.basename(edges.fileName);
      if (outputNames.has(base) && outputNames.get(base) !== edges.fileName) {
        throw new CircuitError(`two edge files would both be written as ${base}: ${outputNames.get(base)} and ${edges.fileName}`);
      }
      outputNames.set(base, edges.fileName);
    }
    await fs.mkdir(outDir, { recursive: true });
    const temporary = (fileName) => path.join(outDir, `.${path.basename(fileName)}.${process.pid}.partial`);
    // Each output goes through a temporary copy, renamed at the end or removed on error.
    const output = {
      async open(fileName) {
        await fs.copyFile(path.resolve(source.describe(fileName)), temporary(fileName));
        return new h5wasm.File(temporary(fileName), "a");
      },
      async finish(fileName, file) {
        file.close();
        const final = path.join(outDir, path.basename(fileName));
        await fs.rename(temporary(fileName), final);
        log(`wrote ${final}`);
      },
      async abandon(fileName, file) {
        try { file.close(); } catch { /* already closed */ }
        await fs.rm(temporary(fileName), { force: true });
      },
    };
    const result = await parameterizeCircuit({
      circuit, Parameterizer, configText, seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback,
      overwrite: options.overwrite, populations: options.populations, chunkSize: options.chunkSize, output,
    });
    for (const population of result.populations) summarize(log, population);
    for (const warning of result.warnings) log(`warning: ${warning}`);
    return result;
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

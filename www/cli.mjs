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
import { tableFromIPC } from "apache-arrow";
import { initSync, Parameterizer } from "../pkg/synparam.js";
import { loadCircuit, nodeFileSource, nodePropertyValues, pathwayColumnIpc, edgeChunks, closeCircuit, CircuitError } from "./loader.js";
import { planPopulationWrite } from "./writer.js";

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

/** The explicit storage dtype a config gives a property (one value across pathways), if any;
 * "int" is ConnPropsModel's rounding instruction, not a storage width. */
function explicitDtype(config, property) {
  const model = config.pathway_param_dict ?? config;
  const dtypes = new Set();
  for (const bySource of Object.values(model.prop_stats?.[property] ?? {})) {
    for (const spec of Object.values(bySource)) dtypes.add(spec?.dtype ?? null);
  }
  const [only] = dtypes;
  return dtypes.size === 1 && only && only !== "int" ? only : null;
}

const format = (x) => (x === null || x === undefined ? "-" : Number(x).toPrecision(4));

export async function main(argv, log = console.log) {
  const options = parseArguments(argv);
  const root = path.dirname(fileURLToPath(import.meta.url));
  initSync({ module: await fs.readFile(path.join(root, "../pkg/synparam_bg.wasm")) });
  await h5wasm.ready;

  const configText = await fs.readFile(options.config, "utf8").catch((e) => { throw new CircuitError(`cannot read (${e.code ?? e.message})`, { file: options.config }); });
  const config = JSON.parse(configText.replace(/\bNaN\b|-?\bInfinity\b/g, "null"));
  const pathwayProperty = options.pathwayProperty ?? config.pathway_property ?? "synapse_class";
  const fallback = options.fallback ?? config.fallback_pathway_value ?? undefined;
  const overwrite = options.overwrite || config.overwrite_if_exists === true;
  // Validate the model (and seed) before touching any file.
  new Parameterizer(configText, options.seed).free();

  const isConfig = options.circuit.length === 1 && options.circuit[0].endsWith(".json");
  const inputDir = path.resolve(isConfig ? path.dirname(options.circuit[0]) : path.dirname(options.circuit[0]));
  const source = nodeFileSource(isConfig ? inputDir : process.cwd(), fs, path);
  const circuit = await loadCircuit(h5wasm, source, isConfig
    ? { configName: path.basename(options.circuit[0]) }
    : { configName: "\0no-config", fileNames: options.circuit });

  const outDir = path.resolve(options.out);
  try {
    const inputs = new Set([...circuit.edgePopulations.values()].map((p) => path.resolve(source.describe(p.fileName))));
    for (const node of circuit.nodePopulations.values()) inputs.add(path.resolve(node.fileName));
    if ([...inputs].some((f) => path.dirname(f) === outDir)) {
      throw new CircuitError(`output directory ${outDir} holds input files; choose another --out (inputs are never modified)`);
    }
    const requested = options.populations ?? config.edge_populations ?? null;
    for (const name of requested ?? []) {
      if (!circuit.edgePopulations.has(name)) {
        throw new CircuitError(`unknown edge population '${name}' (the circuit has: ${[...circuit.edgePopulations.keys()].join(", ")})`);
      }
    }
    const warnings = [];
    const plans = [];
    for (const edges of circuit.edgePopulations.values()) {
      if (requested && !requested.includes(edges.name)) continue;
      const roles = {};
      for (const role of ["source", "target"]) {
        const nodes = circuit.nodePopulations.get(edges[role]);
        if (!nodes) throw new CircuitError(`${role} node population '${edges[role]}' is not in the circuit`, { file: edges.shownName, population: edges.name });
        let values = nodePropertyValues(nodes, pathwayProperty);
        if (!values && fallback === undefined) {
          warnings.push(`skipped edge population '${edges.name}': ${role} node population '${nodes.name}' has no '${pathwayProperty}' property (set a fallback value to include it)`);
          break;
        }
        values ??= new Array(nodes.size).fill(null);
        roles[role] = { nodes, values };
      }
      if (!roles.source || !roles.target) continue;
      const run = new Parameterizer(configText, options.seed);
      run.addEdgePopulation(edges.name, roles.source.nodes.name, pathwayColumnIpc(roles.source.values),
        roles.target.nodes.name, pathwayColumnIpc(roles.target.values), pathwayProperty, fallback);
      plans.push({ edges, run, roles });
    }
    if (!plans.length) throw new CircuitError(`no edge population to parameterize${warnings.length ? ": " + warnings.join("; ") : ""}`);

    await fs.mkdir(outDir, { recursive: true });
    const byFile = new Map();
    for (const plan of plans) {
      const key = plan.edges.fileName;
      if (!byFile.has(key)) byFile.set(key, []);
      byFile.get(key).push(plan);
    }
    const outputNames = new Map();
    for (const fileName of byFile.keys()) {
      const base = path.basename(fileName);
      if (outputNames.has(base)) throw new CircuitError(`two edge files would both be written as ${base}: ${outputNames.get(base)} and ${fileName}`);
      outputNames.set(base, fileName);
    }
    for (const [fileName, filePlans] of byFile) {
      const input = path.resolve(source.describe(fileName));
      const final = path.join(outDir, path.basename(fileName));
      const temporary = path.join(outDir, `.${path.basename(fileName)}.${process.pid}.partial`);
      await fs.copyFile(input, temporary);
      const file = new h5wasm.File(temporary, "a");
      try {
        for (const { edges, run, roles } of filePlans) {
          const properties = run.summary.properties.map((p) => ({ name: p.name, columnType: p.column_type, dtype: explicitDtype(config, p.name) }));
          const writer = planPopulationWrite(file, edges, properties, { overwrite, shownName: final });
          const connections = new ConnectionCounter(roles.source, roles.target, fallback);
          for (const chunk of edgeChunks(edges, options.chunkSize)) {
            const table = tableFromIPC(run.runChunk(edges.name, chunk.ipc));
            writer.write(chunk.start, Object.fromEntries(table.schema.fields.map((f) => [f.name, table.getChild(f.name).toArray()])));
            connections.add(chunk.source, chunk.target);
          }
          summarize(log, edges, run.statistics(), connections.counts(), warnings);
          run.free();
        }
        file.close();
        await fs.rename(temporary, final);
        log(`wrote ${final}`);
      } catch (error) {
        try { file.close(); } catch { /* already closed */ }
        await fs.rm(temporary, { force: true });
        throw error;
      }
    }
    for (const warning of warnings) log(`warning: ${warning}`);
    return { warnings };
  } finally {
    closeCircuit(circuit);
  }
}

/** Distinct connections (source, target node pairs) per pathway, exact whatever the edge order. */
class ConnectionCounter {
  constructor(source, target, fallback) {
    this.sourceValues = source.values;
    this.targetValues = target.values;
    this.targetCount = target.nodes.size;
    this.fallback = fallback ?? null;
    this.pairs = new Map();
  }

  add(sources, targets) {
    for (let i = 0; i < sources.length; i++) {
      const s = Number(sources[i]);
      const t = Number(targets[i]);
      const pathway = `${this.sourceValues[s] ?? this.fallback} → ${this.targetValues[t] ?? this.fallback}`;
      if (!this.pairs.has(pathway)) this.pairs.set(pathway, new Set());
      this.pairs.get(pathway).add(s * this.targetCount + t);
    }
  }

  counts() {
    return new Map([...this.pairs].map(([pathway, set]) => [pathway, set.size]));
  }
}

function summarize(log, edges, stats, connections, warnings) {
  const total = [...connections.values()].reduce((a, b) => a + b, 0);
  log(`\n${edges.name} (${edges.source} → ${edges.target}): ${edges.size} synapses in ${total} connections`);
  for (const property of stats) {
    for (const p of property.pathways) {
      const pathway = `${p.source} → ${p.target}`;
      log(`  ${property.property.padEnd(26)} ${pathway.padEnd(44)} synapses=${String(p.count).padEnd(8)} connections=${String(connections.get(pathway) ?? 0).padEnd(7)} mean=${format(p.mean).padEnd(10)} std=${format(p.std)}`);
      if (p.clipped_share > 0) warnings.push(`${edges.name}: ${property.property} ${p.source} → ${p.target}: ${(100 * p.clipped_share).toFixed(2)} % of values clipped by bounds`);
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

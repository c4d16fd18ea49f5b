#!/usr/bin/env node
// synparam headless command: parameterize the edges of a SONATA circuit with the same loader,
// wasm core and writer as the page, and write a whole parameterized circuit.
//
//   node www/host/cli.mjs --circuit <circuit_config.json | edges/nodes .h5 files...> --config <json>
//                         --out DIR [--seed N] [--pathway-property P] [--populations a,b]
//                         [--fallback-value V] [--overwrite] [--chunk-size N] [--hardlink]
//   node www/host/cli.mjs --circuit <the original circuit> --from-provenance DIR/parameterization.json --out DIR2
//   node www/host/cli.mjs --circuit <circuit> --from-provenance DIR/parameterization.json --change PATCH.json --out DIR2
//   node www/host/cli.mjs --circuit <circuit_config.json> --config SCAN.json --out DIR [--max-points N]   (a scan)
//   node www/host/cli.mjs --circuit <circuit> --fit MODEL.json --pathway-property mtype [--fit-report R.json] ...
//
// DIR (new or empty) mirrors the input circuit: every file the config names at the same relative
// path (copied, as a copy-on-write clone where the file system can; edge files copied, then
// written), the config rewritten only for files outside its folder, and a provenance sidecar. It
// is built beside DIR, verified against what the core drew, and renamed into place only when
// everything succeeded; inputs are never modified. Prints a per-population, per-pathway summary
// and warnings (among them every node or edge file or population that could not be loaded); exits
// non-zero with a clear message on any error, and when the run needs what could not be loaded.
import fs from "node:fs/promises";
import yaml from "js-yaml";
import { fileURLToPath } from "node:url";
import { CircuitError } from "../sonata/errors.js";
import { printable } from "../sonata/errors.js";
import { readProvenance } from "../run/provenance.js";
import { DEFAULT_CHUNK_SIZE, unavailableWarnings } from "../run/parameterize.js";
import { initialize, writeParameterizedCircuit, phaseTimer, explainRules, explainModel, rulesOf, fit } from "./node.mjs";
import { isScanConfig, writeParameterizedScan, changeOfRun } from "./node.mjs";
import { fallbackFromText, isRulesInput } from "../../pkg/synparam.js";
import { FIT_MODES } from "../run/fit.js";
import { cleanUpActiveRuns } from "../node/publish.mjs";

const USAGE = `usage: synparam --circuit <circuit_config.json | files.h5...> --config <json> --out DIR
       [--seed N] [--pathway-property P] [--populations a,b] [--fallback-value V] [--overwrite] [--strict] [--chunk-size N] [--hardlink] [--workers N] [--timings]
   or: synparam --circuit <circuit_config.json | files.h5...> --from-provenance parameterization.json [--change PATCH.json] --out DIR [--hardlink]
   or: synparam --circuit <circuit_config.json> --config <scan config> --out DIR [--max-points N] [--scalings-as-overrides] [run options]
   or: synparam --circuit <circuit_config.json | files.h5...> --config <rules> --explain [--strict] [--export-model F] [--export-rules F]
   or: synparam --config <model or rules> --export-rules F [--pathway-property P]
   or: synparam --circuit <circuit_config.json | files.h5...> --fit MODEL.json --pathway-property P [--fit-report R.json]
       [--populations a,b] [--fit-properties a,b] [--fit-laws conductance=gamma,u_syn=truncnorm] [--fit-mode cm|auto|empirical]
       [--min-samples N] [--max-samples N] [--seed S] [--fallback-value V] [--fit-delay-bin U] [--fit-options JSON] [--fit-settings JSON]
       [--chunk-size N] [--workers N] [--timings]

  --config     a ConnPropsModel or task config (JSON), or rules: a BBP recipe (JSON, YAML or legacy
               XML, as functionalizer reads it) or synparam rules JSON.
  --explain    for rules: which rule sets each property of each pathway, with its synapses and
               connections, rules shadowed by later ones, properties left unset; for a model: which
               edge populations a run takes and the datasets each reads per synapse. Writes nothing.
  --export-model F  with --explain: the compiled ConnPropsModel (one pathway per class of nodes).
  --strict     for rules: refuse a rule naming a selector value no node of the circuit has (by default
               such rules, normal for a region's recipe on part of the region, are a warning).
  --export-rules F  any model as synparam rules JSON (a matrix model: one rule per cell).
  --fallback-value V  the pathway value of nodes without the pathway property: V for every node
               population, or POPULATION=VALUE entries (comma-separated; *=VALUE for every other
               population), e.g. VPM=VPM,POm=POm; the JSON object form is read too.

  --change PATCH.json  with --from-provenance: run the recorded model with PATCH (a partial model:
               specs of some properties or pathways; for rules, rules appended last) merged over it;
               the new sidecar names its parent run and the change.
  --max-points N  a scan config (one with "scan": "grid" | "coupled") runs every point, one circuit
               each in DIR/<point>/, files no point changes once in DIR/shared/; more points than N
               (default: the config's max_points, else 10000) are refused.
  --scalings-as-overrides  a scan point that only multiplies the scale of conductance, u_syn,
               depression_time or facilitation_time laws of some pathways writes no edges files:
               its folder holds a circuit config naming point 0's edges and simulation_overrides.json,
               SONATA connection_overrides that make the simulator apply the factors (docs/command.md).

  --hardlink   link unchanged files (nodes, morphologies, ...) into DIR instead of copying them. Saves
               space, but DIR's files ARE the input files then: anything that later modifies one of
               them in place (a tool writing into the output) modifies your input circuit too.
               Edge files, the config and the sidecar are always new files.
  --workers N  draw with N worker threads (default: one per core); the output is the same, bit for bit.
  --timings    print the wall-clock time of each phase of the run.

  --fit MODEL.json  fit a ConnPropsModel from the circuit's edges (connectome-manipulator's extract +
               build) and write it to MODEL.json, a new file; a later run takes it with --config. Writes
               nothing else (the report with --fit-report) and only reads the circuit.
  --fit-properties a,b  the edge properties to fit (default: every numeric one but identifiers,
               positions and geometry, e.g. afferent_*, *_id, delay).
  --fit-laws p=law,...  the law of a property (default: connectome-manipulator's: gamma for
               conductance, truncnorm for u_syn, ...; normal for the rest). delay=lin_delay fits its
               distance-dependent delay per pathway (mean a + b·distance from the presynaptic soma to
               the synapse, a std, a minimum): the edges need afferent_center_x/y/z (or efferent_*)
               and the source nodes x, y, z.
  --fit-delay-bin U  lin_delay's distance bin in µm (default 50, connectome-manipulator's bin_size_um).
  --fit-mode M  cm (connectome-manipulator's, the default); auto (the law chosen by the data per
               pathway); empirical (each pathway's observed vectors, drawn again row by row).
  --min-samples N, --max-samples N  connections per pathway: fewer, filled in from similar pathways;
               more, a keyed subsample (--seed S, default 0).
  --fit-options JSON   more of the core's build options, e.g. '{"correlations": true}'.
  --fit-settings JSON  more of its extraction settings, e.g. '{"folds": 5}' (cross-validation).
               With --fit, --workers N reads and fits the chunks in N threads: the same model, bit for bit.`;

class UsageError extends Error {}

export function parseArguments(argv) {
  const options = { circuit: [], chunkSize: DEFAULT_CHUNK_SIZE };
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
        // Exact for every u64: a decimal string beyond what a JS number holds (the core checks the range).
        options.seed = Number.isSafeInteger(Number(text)) ? Number(text) : text;
        break;
      }
      case "--pathway-property": options.pathwayProperty = value(); break;
      case "--populations": options.populations = value().split(",").filter(Boolean); break;
      case "--fallback-value": options.fallback = value(); break;
      case "--overwrite": options.overwrite = true; break;
      case "--strict": options.strict = true; break;
      case "--copy": break; // copies are the default (kept for older scripts)
      case "--hardlink": options.hardlink = true; break;
      case "--timings": options.timings = true; break;
      case "--workers": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--workers must be a positive integer");
        options.workers = n;
        break;
      }
      case "--from-provenance": options.fromProvenance = value(); break;
      case "--change": options.change = value(); break;
      case "--max-points": options.maxPoints = count(flag, value(), 1); break;
      case "--scalings-as-overrides": options.scalingsAsOverrides = true; break;
      case "--explain": options.explain = true; break;
      case "--export-model": options.exportModel = value(); break;
      case "--export-rules": options.exportRules = value(); break;
      case "--fit": options.fit = value(); break;
      case "--fit-report": options.fitReport = value(); break;
      case "--fit-properties": options.fitProperties = value().split(",").filter(Boolean); break;
      case "--fit-laws": options.fitLaws = parseLaws(value()); break;
      case "--fit-mode": {
        const mode = value();
        if (!FIT_MODES.includes(mode)) throw new UsageError(`--fit-mode must be one of ${FIT_MODES.join(", ")}, got '${mode}'`);
        options.fitMode = mode;
        break;
      }
      case "--fit-options": options.fitOptions = jsonObject(flag, value()); break;
      case "--fit-settings": options.fitSettings = jsonObject(flag, value()); break;
      case "--fit-delay-bin": {
        const text = value();
        const bin = Number(text);
        if (!(Number.isFinite(bin) && bin > 0)) throw new UsageError(`--fit-delay-bin must be a positive number of µm, got '${text}'`);
        options.fitDelayBin = bin;
        break;
      }
      case "--min-samples": options.minSamples = count(flag, value(), 0); break;
      case "--max-samples": options.maxSamples = count(flag, value(), 1); break;
      case "--chunk-size": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--chunk-size must be a positive integer");
        options.chunkSize = n;
        options.chunkSizeGiven = true;
        break;
      }
      case "--help": case "-h": throw new UsageError("");
      default: throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  if (options.fit || FIT_ONLY.some((k) => options[k] !== undefined)) return checkFitArguments(options);
  if (options.fromProvenance) {
    const clashing = ["config", "seed", "pathwayProperty", "populations", "fallback"].filter((k) => options[k] !== undefined).concat(options.overwrite ? ["overwrite"] : []);
    const flag = (k) => (k === "fallback" ? "--fallback-value" : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (clashing.length) throw new UsageError(`--from-provenance sets the model and run settings; drop ${clashing.map(flag).join(", ")}`);
  } else if (!options.config) {
    throw new UsageError("--config is required (or --from-provenance)");
  }
  if (options.change && !options.fromProvenance) throw new UsageError("--change needs --from-provenance (the run it changes)");
  if (options.exportModel && !options.explain) throw new UsageError("--export-model needs --explain");
  const writesNothing = options.explain || (options.exportRules && !options.out);
  if (writesNothing) {
    if (options.out) throw new UsageError("--explain writes nothing: drop --out");
    if (options.explain && !options.circuit.length) throw new UsageError("--explain needs --circuit");
    return options;
  }
  if (!options.out) throw new UsageError("--out is required");
  if (!options.circuit.length) throw new UsageError("--circuit is required");
  return options;
}

/** Options only a fit takes. */
const FIT_ONLY = ["fitReport", "fitProperties", "fitLaws", "fitMode", "fitOptions", "fitSettings", "fitDelayBin", "minSamples", "maxSamples"];

/** A JSON object given to `flag` (the core checks its keys). */
function jsonObject(flag, text) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} takes a JSON object: ${error.message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError(`${flag} takes a JSON object, got ${text}`);
  return parsed;
}

/** A whole number of at least `least`, for `flag`. */
function count(flag, text, least) {
  if (!/^\d+$/.test(text) || Number(text) < least || !Number.isSafeInteger(Number(text))) throw new UsageError(`${flag} must be an integer of at least ${least}, got '${text}'`);
  return Number(text);
}

/** `conductance=gamma,u_syn=truncnorm` as {property: law} (the core checks the laws). */
function parseLaws(text) {
  const laws = {};
  for (const item of text.split(",").filter(Boolean)) {
    const match = /^([^=]+)=([^=]+)$/.exec(item.trim());
    if (!match) throw new UsageError(`--fit-laws takes property=law pairs separated by commas, got '${item}'`);
    laws[match[1].trim()] = match[2].trim();
  }
  return laws;
}

/** A fit's arguments: --fit with --circuit and --pathway-property, none of a run's. */
function checkFitArguments(options) {
  if (!options.fit) throw new UsageError(`--${FIT_ONLY.find((k) => options[k] !== undefined).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --fit MODEL.json`);
  const clashing = ["config", "out", "fromProvenance", "explain", "exportModel", "exportRules", "overwrite", "hardlink", "strict"].filter((k) => options[k] !== undefined);
  if (clashing.length) throw new UsageError(`--fit writes only the model: drop ${clashing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")}`);
  if (!options.circuit.length) throw new UsageError("--fit needs --circuit");
  if (!options.pathwayProperty) throw new UsageError("--fit needs --pathway-property (the node property whose values make the pathways, e.g. mtype)");
  if (!options.chunkSizeGiven) options.chunkSize = null;
  return options;
}

const format = (x) => (x === null || x === undefined ? "-" : Number(x).toPrecision(4));

/** The signal that asked the command to stop, if any: the run winds down at its next step. */
let stopSignal = null;

export async function main(argv, log = console.log) {
  const options = parseArguments(argv);
  const timer = phaseTimer();
  await initialize();
  // The value for every node population, or POPULATION=VALUE entries (the core reads the text).
  if (options.fallback !== undefined) options.fallback = fallbackFromText(options.fallback, "--fallback-value") ?? undefined;
  if (options.fit) return fitCommand(options, log, timer);
  const readInput = (file) => fs.readFile(file, "utf8").catch((e) => {
    throw new CircuitError(e.code === "ENOENT" ? "does not exist" : e.code === "EISDIR" ? "is a folder, not a file" : `cannot read (${e.code ?? e.message})`, { file });
  });
  const sidecarText = options.fromProvenance ? await readInput(options.fromProvenance) : null;
  const recorded = sidecarText === null ? null : readProvenance(sidecarText, options.fromProvenance);
  const change = options.change ? await changeOfRun(sidecarText, await readInput(options.change)) : null;
  const configText = change ? change.configText : recorded ? recorded.configText : configTextOf(options.config, await readInput(options.config));
  if (!recorded && isScanConfig(configText)) return scanCommand(options, configText, log, timer);
  if (options.maxPoints !== undefined) throw new UsageError("--max-points is for a scan config (one with \"scan\": \"grid\" or \"coupled\")");
  if (options.scalingsAsOverrides) throw new UsageError("--scalings-as-overrides is for a scan config (one with \"scan\": \"grid\" or \"coupled\")");
  if (options.exportRules) {
    await writeNew(options.exportRules, `${await rulesOf(configText, options.pathwayProperty ?? "synapse_class")}\n`);
    log(`wrote the rules to ${printable(options.exportRules)}`);
  }
  if (options.explain && !isRulesInput(configText)) {
    if (options.exportModel) throw new UsageError("--export-model needs rules (a model is its own ConnPropsModel)");
    const settings = { seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback, overwrite: options.overwrite, populations: options.populations };
    modelReport(log, await explainModel({ circuitPaths: options.circuit, configText, settings }));
    return null;
  }
  if (options.explain) {
    const explained = await explainRules({ circuitPaths: options.circuit, configText, populations: options.populations, chunkSize: options.chunkSize, strict: options.strict });
    explainReport(log, explained);
    if (options.exportModel) {
      await writeNew(options.exportModel, `${JSON.stringify(JSON.parse(explained.model), null, 2)}\n`);
      log(`wrote the compiled ConnPropsModel to ${printable(options.exportModel)}`);
    }
  }
  if (options.explain || (options.exportRules && !options.out)) return null;
  const settings = recorded
    ? { seed: recorded.seed, pathwayProperty: recorded.pathwayProperty, fallback: recorded.fallback, overwrite: recorded.overwrite, populations: recorded.populations }
    : { seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback, overwrite: options.overwrite, populations: options.populations };
  let result;
  try {
    result = await writeParameterizedCircuit({
      circuitPaths: options.circuit, configText, settings, out: options.out, chunkSize: options.chunkSize, hardlink: options.hardlink,
      recorded, recordedName: options.fromProvenance, shouldStop: () => stopSignal !== null, workers: options.workers, strict: options.strict,
      timings: options.timings ? timer : null, parent: change?.parent ?? null,
    });
  } catch (error) {
    // A run refused for what the circuit could not load: everything not loaded, as warnings (the
    // error names what the run needed).
    for (const warning of unavailableWarnings({ unavailable: error?.unavailable })) log(`warning: ${printable(warning)}`);
    throw error;
  }
  for (const population of result.populations) summarize(log, population);
  log(`\nwrote the parameterized circuit to ${printable(result.outDir)}, verified${result.rewrittenConfig ? " (circuit_config.json rewritten: files outside the circuit folder are in external/)" : ""}`);
  for (const warning of result.warnings) log(`warning: ${printable(warning)}`);
  if (options.timings) log(`\ntimings (wall clock):\n${timer.report().join("\n")}`);
  return result;
}

/** A scan config: its points stated, then every point published (writeParameterizedScan). */
async function scanCommand(options, scanText, log, timer) {
  if (options.explain || options.exportRules) throw new UsageError("a scan config runs its points: --explain and --export-rules take one model (a point's config)");
  if (options.circuit.length !== 1 || !options.circuit[0].endsWith(".json")) throw new UsageError("a scan needs --circuit <circuit_config.json> (its points name the files they share by path)");
  const settings = { seed: options.seed, pathwayProperty: options.pathwayProperty, fallback: options.fallback, overwrite: options.overwrite, populations: options.populations };
  const result = await writeParameterizedScan({
    circuitPaths: options.circuit, scanText, maxPoints: options.maxPoints ?? null, settings, out: options.out, chunkSize: options.chunkSize, hardlink: options.hardlink,
    scalingsAsOverrides: Boolean(options.scalingsAsOverrides),
    shouldStop: () => stopSignal !== null, workers: options.workers, strict: options.strict, timings: options.timings ? timer : null,
    optionNames: { seed: "--seed", pathwayProperty: "--pathway-property", fallback: "--fallback-value", overwrite: "--overwrite", populations: "--populations", maxPoints: "--max-points", scalingsAsOverrides: "--scalings-as-overrides" },
    onPlan: (plan) => {
      log(`${plan.mode} scan of ${plan.points.length} point(s): ${plan.axes.map((a) => `${printable(a.path)} × ${a.values.length}`).join(", ") || "no axis"}; every point checked against the circuit`);
      for (const note of plan.notes) log(`note: ${printable(note)}`);
    },
  });
  for (const [i, point] of result.plan.points.entries()) {
    const changes = point.changes.kind === "everything" ? `everything (${point.changes.reasons.map(printable).join("; ")})` : point.changes.changed.length
      ? point.changes.changed.map((c) => `${printable(c.property)} ${c.source === null ? "*" : printable(c.source)} → ${c.target === null ? "*" : printable(c.target)}`).join(", ") : "nothing";
    const written = result.outputs?.[i];
    const how = written?.as === "overrides"
      ? `connection_overrides over ${printable(result.plan.points[0].name)}'s edges: ${written.scalings.map((c) => `${printable(c.property)} ${printable(c.source)} → ${printable(c.target)} ×${c.factor}`).join(", ")}`
      : result.results[i].populations.map((p) => `${printable(p.name)} ${p.size} synapses`).join(", ") + (written?.reason ? `; written as edges: ${printable(written.reason)}` : "");
    log(`  ${printable(point.name)}: ${i === 0 ? "the base point" : `changes ${changes}`}; ${how}`);
  }
  log(`\nwrote the scan to ${printable(result.outDir)}: scan.json, ${result.plan.points.length} circuit(s) (<point>/circuit_config.json), files no point changes once in shared/; each point drawn verified${result.outputs?.some((o) => o.as === "overrides") ? " (the overrides' points are the first point's edges with a simulation-config fragment: nothing drawn to verify)" : ""}`);
  for (const warning of [...result.warnings, ...new Set(result.results.flatMap((r) => r.warnings))]) log(`warning: ${printable(warning)}`);
  if (options.timings) log(`\ntimings (wall clock):\n${timer.report().join("\n")}`);
  return result;
}

/** --fit: the model (and the report) written, a summary printed. */
async function fitCommand(options, log, timer) {
  const result = await fit({
    circuit: options.circuit, pathwayProperty: options.pathwayProperty, properties: options.fitProperties ?? null, laws: options.fitLaws ?? null,
    mode: options.fitMode ?? "cm", minSamples: options.minSamples ?? null, maxSamples: options.maxSamples ?? null, seed: options.seed ?? 0,
    populations: options.populations ?? null, fallback: options.fallback ?? null, chunkSize: options.chunkSize, delayBinUm: options.fitDelayBin ?? null, out: options.fit,
    reportOut: options.fitReport ?? null, timings: options.timings ? timer : null, options: options.fitOptions ?? {}, settings: options.fitSettings ?? null,
    shouldStop: () => stopSignal !== null, workers: options.workers,
  });
  fitSummary(log, result, options);
  if (options.timings) log(`\ntimings (wall clock):\n${timer.report().join("\n")}`);
  return result;
}

/** What --fit prints: the populations, the pathways with data and those filled in, the laws. */
function fitSummary(log, { report, populations, notFitted, warnings, settings }, options) {
  const withData = report.pathways.filter((p) => p.connections_used !== null && p.connections_used !== undefined);
  const synapses = report.pathways.reduce((sum, p) => sum + p.synapses, 0);
  const connections = report.pathways.reduce((sum, p) => sum + p.connections, 0);
  log(`fitted ${populations.map(printable).join(", ")}: ${synapses} synapses in ${connections} connections, by ${printable(options.pathwayProperty)}`);
  log(`  ${report.src_types.length} source × ${report.tgt_types.length} target values: ${withData.length} pathway(s) with data, ${report.pathways.length - withData.length} filled in`);
  for (const [level, count] of Object.entries(report.fallback_levels ?? {})) log(`    ${count} from ${printable(level)}`);
  const laws = new Map();
  for (const entry of report.entries) laws.set(entry.property, new Set([...(laws.get(entry.property) ?? []), entry.law]));
  log(`  properties: ${[...laws].map(([property, used]) => `${printable(property)} (${[...used].join(", ")})`).join(", ")}`);
  const byReason = new Map();
  for (const { property, reason } of notFitted) byReason.set(reason, [...(byReason.get(reason) ?? []), property]);
  if (byReason.size) log(`  not fitted: ${[...byReason].map(([reason, names]) => `${names.map(printable).join(", ")} (${printable(reason)})`).join("; ")}`);
  if (settings.max_sample_size) log(`  at most ${settings.max_sample_size} connections per pathway (keyed subsample, seed ${settings.seed})`);
  for (const note of report.notes ?? []) log(`  note: ${printable(note)}`);
  log(`\nwrote the fitted model to ${printable(options.fit)}${options.fitReport ? ` and the report to ${printable(options.fitReport)}` : ""}; run it with --config ${printable(options.fit)}`);
  for (const warning of warnings) log(`warning: ${printable(warning)}`);
}

/** A config file's text: YAML recipes (.yml, .yaml) are read as JSON, everything else as is. */
function configTextOf(file, text) {
  if (!/\.ya?ml$/i.test(file)) return text;
  try {
    return JSON.stringify(yaml.load(text, { schema: yaml.JSON_SCHEMA }));
  } catch (error) {
    throw new CircuitError(`not readable YAML: ${error.message}`, { file });
  }
}

/** Write a new file (never over an existing one: inputs stay untouched). */
async function writeNew(file, text) {
  await fs.writeFile(file, text, { flag: "wx" }).catch((e) => {
    throw new CircuitError(e.code === "EEXIST" ? "exists already; choose a new file" : `cannot write (${e.code ?? e.message})`, { file });
  });
}

const counted = (n) => (n === null || n === undefined ? "-" : String(n));

/** Per node property the rules select on, the names to map (the core's explain.names): what
 * --explain prints, and what follows a coverage error. */
function namesLines(names) {
  const SHOWN = 12;
  const quoted = (values) => `${values.slice(0, SHOWN).map((v) => `'${printable(v)}'`).join(", ")}${values.length > SHOWN ? `, and ${values.length - SHOWN} more` : ""}`;
  const lines = [];
  for (const { property, absent, unnamed } of names) {
    if (!absent.length && !unnamed.length) continue;
    const parts = [];
    if (absent.length) parts.push(`the rules name ${absent.length} value${absent.length === 1 ? "" : "s"} no node has (${quoted(absent)})`);
    if (unnamed.length) parts.push(`${unnamed.length} of the circuit's value${unnamed.length === 1 ? "" : "s"} no rule names (${quoted(unnamed)})`);
    lines.push(`names: ${printable(property)}: ${parts.join("; ")}`);
  }
  if (lines.length) lines.push("a recipe from another circuit: map its names to this circuit's with an alias table (synparam rules' \"aliases\", docs/config.md)");
  return lines;
}

/** What --explain prints: per rule, per pathway, unset properties and notes. */
function explainReport(log, { explain, summary }) {
  log(`${summary.format}: ${summary.rules} rules, ${summary.classes.length} classes; nodes read by ${[...new Set([...summary.properties.source.map((p) => `source ${p}`), ...summary.properties.target.map((p) => `target ${p}`)])].join(", ") || "nothing (every rule selects all nodes)"}`);
  log("\nrules (later ones win):");
  for (const rule of explain.rules) {
    const state = rule.matches_no_node ? `matches no node of this circuit${rule.absent_values.length ? ` (${rule.absent_values.join(", ")})` : ""}`
      : rule.matches_nothing ? "matches no pathway with synapses" : rule.shadowed ? "SHADOWED: later rules win everywhere it matches" : rule.condition ? `wins, where ${rule.condition}, among the ${counted(rule.synapses)} synapses (${counted(rule.connections)} connections) of ${rule.pathways} pathway(s)`
      : `wins in ${rule.pathways} pathway(s): ${counted(rule.synapses)} synapses, ${counted(rule.connections)} connections`;
    log(`  ${printable(rule.rule).padEnd(40)} ${rule.class ? `class ${printable(rule.class)}`.padEnd(14) : "".padEnd(14)} ${state}`);
  }
  log("\npathways (source → target: the rule setting each property):");
  for (const pathway of explain.pathways) {
    const byRule = new Map();
    for (const [property, rule] of pathway.winners) {
      const key = rule ?? "(no rule)";
      if (!byRule.has(key)) byRule.set(key, []);
      byRule.get(key).push(property);
    }
    const winners = [...byRule].map(([rule, properties]) => `${printable(rule)}: ${properties.join(", ")}`).join("; ");
    log(`  ${printable(pathway.source)} → ${printable(pathway.target)}  synapses=${counted(pathway.synapses)} connections=${counted(pathway.connections)}  ${winners}`);
  }
  for (const line of namesLines(explain.names ?? [])) log(`\n${line}`);
  for (const unset of explain.unset) log(`\nleft unset: ${unset.property}: ${unset.reason}`);
  for (const warning of explain.warnings) log(`\nwarning: ${printable(warning)}`);
  if (explain.notes.length) log("\nnotes:");
  for (const note of explain.notes) log(`  - ${printable(note)}`);
}

/** What --explain prints for a model: per edge population, whether a run takes it and why not,
 * and what it reads per synapse; then the problems a run would refuse. Writes nothing. */
function modelReport(log, { check, summary }) {
  log(`model: ${summary.properties.length} propert${summary.properties.length === 1 ? "y" : "ies"}${summary.edge_attributes?.length ? `; per-synapse attributes: ${summary.edge_attributes.map(printable).join(", ")}` : ""}`);
  for (const p of check.populations) {
    log(`  ${printable(p.name).padEnd(40)} ${String(p.synapses).padStart(9)} synapses  ${p.status}${p.reason ? `: ${printable(p.reason)}` : ""}`);
    if (p.attributes) log(`    ${attributeReadsLine(p.attributes, p.source ?? "the source nodes")}`);
  }
  for (const problem of check.problems) log(`problem: ${printable(problem)}`);
  if (!check.problems.length) log("a run would take these populations as shown; nothing was written");
}

function summarize(log, { name, source, target, size, stats, connections, attributes }) {
  const total = Object.values(connections).reduce((a, b) => a + b, 0);
  log(`\n${printable(name)} (${printable(source)} → ${printable(target)}): ${size} synapses in ${total} connections`);
  if (attributes) log(`  ${attributeReadsLine(attributes, source)}`);
  for (const property of stats) {
    for (const p of property.pathways) {
      const pathway = `${p.source} → ${p.target}`;
      log(`  ${printable(property.property).padEnd(26)} ${printable(pathway).padEnd(44)} synapses=${String(p.count).padEnd(8)} connections=${String(connections[pathway] ?? 0).padEnd(7)} mean=${format(p.mean).padEnd(10)} std=${format(p.std)}`);
    }
  }
}

/** What a population's run reads per synapse (the core's plan), as one line. */
export function attributeReadsLine({ datasets, source_positions: positions, synapse_position: end }, source) {
  return `reads per synapse: ${datasets.map(printable).join(", ")}${positions ? `; soma positions (x, y, z) of ${printable(source)} (distance_soma to ${end}_*)` : ""}`;
}

/** Errors users see as they are (ours and the core's); anything else is a defect, said so. */
const KNOWN_ERRORS = new Set(["CircuitError", "ConfigError", "MissingPathwayValuesError", "MissingPathwayPropertyError", "InputError", "ValueOutOfRangeError"]);

/** The one line printed for an error. */
export function errorLine(error) {
  if (KNOWN_ERRORS.has(error?.name)) return `synparam: error: ${error.name === "CircuitError" ? "" : `${error.name}: `}${printable(error.message)}`;
  if (error?.code && error?.syscall) return `synparam: error: ${printable(error.path ?? "")}: ${error.code} (${error.syscall})`;
  return `synparam: internal error (please report it): ${printable(error?.message ?? error)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) || process.argv[1]?.endsWith("/synparam")) {
  // Interrupted: the run stops at its next step and removes its unfinished output and its claim
  // on DIR; if it does not within 10 s (or on a second signal), they are removed at once.
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const exitNow = () => {
    cleanUpActiveRuns();
    console.error(`synparam: ${stopSignal}: stopped; the unfinished output was removed`);
    process.exit(codes[stopSignal]);
  };
  for (const signal of Object.keys(codes)) {
    process.on(signal, () => {
      if (stopSignal) exitNow();
      stopSignal = signal;
      setTimeout(exitNow, 10_000).unref();
    });
  }
  main(process.argv.slice(2)).then(() => {
    if (stopSignal) exitNow();
  }, (error) => {
    if (stopSignal) exitNow();
    if (error instanceof UsageError) {
      console.error(error.message ? `synparam: ${error.message}\n${USAGE}` : USAGE);
      process.exit(error.message ? 2 : 0);
    }
    console.error(errorLine(error));
    for (const line of namesLines(error?.rulesNames?.names ?? [])) console.error(`synparam: ${line}`);
    process.exit(1);
  });
}

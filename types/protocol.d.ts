// The worker protocol (www/run/protocol.js): what the main thread may ask synparam's worker, and
// what each request answers. Every request carries an id; its progress, result or error come back
// with that id, to that caller only.

import type { PathwayPropertyChoice, PopulationStatistics, ResolvedSettings, UnavailablePart } from "./synparam.js";

/** Where a circuit comes from: a config URL (with the host's fetch options and other allowed
 * origins), or files by relative path under a key the caller bumps for every new choice. */
export type CircuitSource =
  | { circuitUrl: string; fetchInit?: RequestInit; allowedOrigins?: string[] }
  | { files: Record<string, File | Blob | ArrayBuffer | Uint8Array>; circuitKey?: number };

export interface CircuitDescription {
  storage: Record<string, "WORKERFS" | "MEMFS">;
  edgePopulations: { name: string; source: string; target: string; size: number; groups: string[] }[];
  nodePopulations: { name: string; type: string | null; size: number; properties: string[] }[];
  candidates: Record<string, Record<string, string[]>>;
  /** Per edge population (and "*" over all): every node property of either side as a pathway
   * property could use it, class-like ones first. */
  pathwayProperties: Record<string, PathwayPropertyChoice[]>;
  /** What could not be loaded, each with its error: the rest is loaded, and a run that needs one
   * of these is refused (a CircuitError naming it). */
  unavailable: UnavailablePart[];
}

export interface RunRequest {
  config: string;
  seed?: number;
  pathwayProperty?: string;
  fallback?: string;
  overwrite?: boolean;
  populations?: string[] | null;
  /** For rules: refuse a rule naming a selector value no node has (else a warning). */
  strict?: boolean;
  chunkSize?: number;
  /** Keep the drawn columns as Arrow IPC Files (default true); without, `columns` draws them on request. */
  columns?: boolean;
  /** Draw workers (default: the available cores). */
  workers?: number;
}

export interface RunResult {
  populations: { name: string; source: string; target: string; size: number; fileName: string; shownName: string;
    stats: PopulationStatistics["properties"]; connections: Record<string, number>; columns: File | Blob | null }[];
  warnings: string[];
  pathwayProperty: string;
  fallback: string | null;
  seed: number;
  overwrite: boolean;
  requested: string[] | null;
  settings: ResolvedSettings;
  /** What of the circuit could not be loaded (not needed by this run: it is also in `warnings`). */
  unavailable: UnavailablePart[];
  /** Each parameterized edges file, verified against the core's digests. */
  outputs: { fileName: string; output: string; file: File | Blob }[];
  seconds: number;
}

/** Distribution types with their parameters, the keys every spec may carry, the accepted dtypes. */
export interface SpecSchema { distributions: [string, string[]][]; common_keys: string[]; dtypes: string[] }

/** Request name → [arguments, result]. `run` and `columns` report `{done, total}` progress;
 * `run`, `runScan`, `columns` and `zip` are served one at a time, in the order asked. */
export interface WorkerMethods {
  load: [CircuitSource, CircuitDescription];
  /** The core's plan of a run: the settings it would use, the config's summary, and the spec
   * schema (distribution types and their parameters) editors build forms from. */
  validate: [{ config: string; overrides?: Partial<Pick<RunRequest, "seed" | "pathwayProperty" | "fallback" | "overwrite" | "populations" | "strict">>; circuit?: CircuitSource | null }, {
    settings: ResolvedSettings;
    summary: { properties: { name: string; column_type: string }[]; src_types: string[]; tgt_types: string[]; correlated: string[]; notices: string[] };
    schema: SpecSchema;
    /** The settings without overrides: the config's values and the defaults. */
    base: ResolvedSettings;
    /** Given the loaded circuit's source: what a run would refuse in it, and the populations it would skip. */
    circuit: { problems: string[]; skipped: string[] } | null;
    /** A scan config: the core's plan (the other fields are its first point's). */
    scan?: ScanSummary;
  }];
  schema: [Record<string, never>, SpecSchema];
  /** Rules (any rules input) as synparam rules JSON text with `aliases` as their alias table. */
  withAliases: [{ config: string; aliases: Record<string, Record<string, string[]>> }, string];
  /** Rules as synparam rules JSON text with `rule` (a rules JSON rule) added last. */
  withRule: [{ config: string; rule: Record<string, unknown> }, string];
  /** One spec: its density (or mass) and the core's formula for it. */
  preview: [{ spec: string }, { points: [number, number][]; formula: string }];
  /** Synapses per pathway value pair, counted by the core with the run's rules (null: nodes
   * without the property and no fallback); `skipped`: populations a run would skip. */
  pathways: [CircuitSource & { property: string; fallback?: string }, { property: string; fallback: string | null; counts: { source: string | null; target: string | null; synapses: number }[]; skipped: string[] }];
  /** The class of each value of a pathway property, from the circuit's synapse_class / ei and virtual populations (basis null: the circuit does not say). */
  classes: [CircuitSource & { property: string; fallback?: string }, { value: string; counts: { E: number; I: number; X: number; unknown: number }; basis: string | null }[]];
  provenance: [{ text: string; name?: string }, { configText: string; seed: number; pathwayProperty: string; fallback?: string; overwrite: boolean; populations: string[] | null; version: string }];
  run: [CircuitSource & RunRequest, RunResult];
  /** One population's drawn columns of the last run (drawn again: the same bits), as Arrow IPC. */
  columns: [{ population: string }, { population: string; file: File | Blob }];
  /** Every point of a scan config, each checked before any draws, then run in turn (progress
   * `{done, total, point, points}`); each point's outputs kept for its zip. */
  runScan: [CircuitSource & RunRequest, { scan: ScanSummary; points: (RunResult & { point: string })[] }];
  /** `timings`: seconds per phase of building the zip. `point`: that point of the last scan;
   * `all`: every point in the command's scan layout. */
  zip: [{ point?: number | null; all?: boolean }, { blob: Blob; warnings: string[]; timings: Record<string, number> }];
}

/** A scan as the core plans it (`planScan`), without the points' configs. */
export interface ScanSummary {
  mode: "grid" | "coupled";
  kind: "model" | "task" | "rules" | "obi-one";
  notes: string[];
  axes: { path: string; label: string; values: unknown[] }[];
  points: {
    name: string; index: number; values: unknown[]; valueIndices: number[];
    changes: { kind: "everything"; reasons: string[] } | { kind: "some"; changed: { property: string; source: string | null; target: string | null }[] };
  }[];
}

/** A node property the rules select on: the values they name that no node has, the circuit's
 * values no rule names, and the circuit's values (the core's explain.names). */
export interface NameReport { property: string; absent: string[]; unnamed: string[]; circuit_values: string[] }

/** An error as a caller receives it: `name` is the kind (ConfigError, CircuitError, AbortError,
 * WorkerError, …), `path` the JSON path of a config error; `rulesNames` for rules that do not
 * cover the circuit: their names against the circuit's and their alias table, to map. */
export interface WorkerError extends Error {
  name: string; path?: string;
  rulesNames?: { names: NameReport[]; aliases: Record<string, Record<string, string[]>> };
}

export interface WorkerClient {
  call<M extends keyof WorkerMethods>(method: M, args: WorkerMethods[M][0], options?: {
    onProgress?: (progress: { done: number; total: number }) => void; transfer?: Transferable[];
  }): Promise<WorkerMethods[M][1]>;
  /** Stop the worker; every pending request rejects with `reason` (an AbortError by default). */
  terminate(reason?: Error): void;
}

export function connectWorker(worker: Worker, options?: { onEvent?: (event: string, data: unknown) => void }): WorkerClient;

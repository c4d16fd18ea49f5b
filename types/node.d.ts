// Types of synparam in Node: the headless API, in-process.
import type { Table } from "apache-arrow";
import type { PopulationStatistics, ResolvedSettings, RunSettings } from "./synparam.js";

export type { PathwayStatistics, PopulationStatistics, ResolvedSettings, RunSettings, Setting } from "./synparam.js";

export interface NodeParameterizeOptions extends RunSettings {
  /** A circuit_config.json path, or plain node and edge .h5 paths. */
  circuit: string | string[];
  /** Write the whole parameterized circuit (layout, config, provenance sidecar) into this new or
   * empty directory, verified and published atomically; inputs are never modified. */
  out?: string;
  chunkSize?: number;
  /** Draw threads (default: the available cores); the output is the same bits for any number. */
  workers?: number;
  /** With `out`: hard-link unchanged files (nodes, morphologies, …) instead of copying them. They
   * are then the input files: anything that later writes into them in place modifies the input. */
  hardlink?: boolean;
}

export interface NodeResults {
  results: Record<string, Table>;
  stats: Record<string, PopulationStatistics>;
  warnings: string[];
  seed: number;
  pathwayProperty: string;
  /** Each setting used, with its source (override, config or default). */
  settings: ResolvedSettings;
  /** With `out`: the sidecar written to out/parameterization.json. */
  provenance?: Record<string, unknown>;
  outDir?: string;
}

/** Parameterize a circuit in-process; rejects with an `AbortError` when `signal` aborts. */
export function parameterize(options: NodeParameterizeOptions): Promise<NodeResults>;

/** A fit's laws: the engine's distributions a fitted model can hold. */
export type FitLaw = "constant" | "normal" | "truncnorm" | "gamma" | "poisson" | "ztpoisson" | "discrete" | "zero" | "lognormal" | "exponential" | "uniform" | "lin_delay";

export interface NodeFitOptions {
  /** A circuit_config.json path, or plain node and edge .h5 paths (only read). */
  circuit: string | string[];
  /** The node property whose values make the pathways (e.g. `mtype`). */
  pathwayProperty: string;
  /** Edge properties to fit (default: every numeric one but identifiers, positions and geometry). */
  properties?: string[] | null;
  /** Edge populations to fit (default: every one whose nodes have the pathway property). */
  populations?: string[] | null;
  /** Law per property, over connectome-manipulator's reference choices (cm mode). */
  laws?: Record<string, FitLaw> | null;
  /** `cm` (default), `auto` (the law chosen by the data), `empirical` (observed vectors drawn again). */
  mode?: "cm" | "auto" | "empirical";
  /** Pathways with fewer connections are filled in from similar ones. */
  minSamples?: number | null;
  /** Pathways with more connections are fitted on a keyed subsample of this many. */
  maxSamples?: number | null;
  /** Seed of the keyed subsample (default 0): a number, or the decimal text of any u64. */
  seed?: number | string;
  /** Pathway value of nodes without one. */
  fallback?: string | null;
  /** Edges per chunk (default: the core's); the model's last bits depend on it. */
  chunkSize?: number | null;
  /** Distance bin (µm) of a `lin_delay` fit (`laws: {delay: "lin_delay"}`; default 50, connectome-manipulator's `bin_size_um`). */
  delayBinUm?: number | null;
  /** More of the core's build options (e.g. `correlations`, `significance`, `dtypes`, `bounds`); every key checked. */
  options?: Record<string, unknown>;
  /** More of the core's extraction settings (e.g. `folds`, `correlation_sample`); every key checked. */
  settings?: Record<string, unknown> | null;
  /** Worker threads reading and fitting the chunks (default: one per core); the same bits for any number. */
  workers?: number;
  /** Write the model here: a new file, only when the fit succeeded. */
  out?: string | null;
  /** Write the report here: a new file, only when the fit succeeded. */
  reportOut?: string | null;
  onProgress?: (progress: { pass: number; done: number; total: number }) => void;
  signal?: AbortSignal;
}

/** A fitted ConnPropsModel: what `--config` takes. */
export interface FittedModel {
  src_types: string[];
  tgt_types: string[];
  prop_stats: Record<string, Record<string, Record<string, Record<string, unknown>>>>;
  prop_cov?: Record<string, unknown>;
}

/** What was fitted where, and how well (the core's FitReport; more keys as the core adds them). */
export interface FitReport {
  mode: string;
  settings: { min_sample_size: number | null; max_sample_size: number | null; hist_bins: number; seed: number; [key: string]: unknown };
  src_types: string[];
  tgt_types: string[];
  pathways: { source: string; target: string; connections: number; synapses: number; connections_used: number | null; fallback: { level: number; name: string; pathways: number } | null;
    /** Empirical mode: rows of the pathway's tables. */
    rows?: { connections: number; synapses: number } }[];
  entries: { property: string; source: string; target: string; law: string; spec: Record<string, unknown>; data: Record<string, unknown> | null; fallback_level: number | null; ks_distance: number | null; ks_basis: string | null; [key: string]: unknown }[];
  fallback_levels: Record<string, number>;
  notes: string[];
  [key: string]: unknown;
}

export interface NodeFitResult {
  model: FittedModel;
  report: FitReport;
  /** The model's JSON text, as written to `out`. */
  modelText: string;
  reportText: string;
  /** The extraction settings the core planned (properties with their kinds, sample sizes, …). */
  settings: { properties: { name: string; kind: "float32" | "float64" | "int" }[]; [key: string]: unknown };
  /** The edge populations fitted. */
  populations: string[];
  /** The edges' other properties and why each was not fitted. */
  notFitted: { property: string; reason: string }[];
  warnings: string[];
  passes: number;
  chunkRows: number;
  /** The threads that read and fitted the chunks. */
  workers: number;
}

/** Fit a ConnPropsModel from a circuit (connectome-manipulator's extract + build); writes only `out` and `reportOut`. */
export function fit(options: NodeFitOptions): Promise<NodeFitResult>;

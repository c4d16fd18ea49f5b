// Types of synparam in browsers: the <synparam-panel> custom element and the headless API.
import type { Table } from "apache-arrow";

/** Statistics of one pathway of one property (computed by the core). */
export interface PathwayStatistics {
  source: string;
  target: string;
  count: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  clipped_share: number;
  theoretical_mean: number | null;
  theoretical_std: number | null;
  /** The spec's distribution type, and the spec as one readable line (law with its parameters, bounds, dtype, sharing). */
  distribution: string;
  formula: string;
  /** Whether one draw serves a whole connection. */
  shared_within: boolean;
  /** χ² test of the independent draws against the spec; null for one-valued specs and too few draws. */
  goodness_of_fit: { test: "chi2"; draws: number; statistic: number; degrees_of_freedom: number; p_value: number } | null;
  histogram: { edges: number[]; counts: number[]; expected: number[]; integer: boolean; underflow: number; overflow: number };
  /** The values the edges file held before the run, on the same bins (the page reads them; null otherwise). */
  previous: { count: number; mean: number; std: number; counts: number[]; underflow: number; overflow: number } | null;
  /** For a spec that reads a per-synapse attribute (lin_delay, fz_delay, scale_by): up to 1000
   * synapses' [attribute, value] (a fixed sample) and the spec's mean as a function of the attribute. */
  scatter?: { attribute: string; points: [number, number][]; mean_line: [number, number][] };
}

/** Statistics of one edge population. */
export interface PopulationStatistics {
  source: string;
  target: string;
  synapses: number;
  /** Distinct connections per pathway ("EXC → INH"). */
  connections: Record<string, number>;
  properties: { property: string; pathways: PathwayStatistics[] }[];
  /** What the run read per synapse (the core's plan), or null when the model reads no edge attribute. */
  attributes: { datasets: string[]; source_positions: boolean; synapse_position: "afferent_center" | "efferent_center" | null } | null;
}

/** A run setting's value and where it comes from. */
export interface Setting<T> { value: T; source: "override" | "config" | "default" }

/** The settings a run used, as the core resolved them (an override, else the config's task form,
 * else the default). */
export interface ResolvedSettings {
  seed: Setting<number | null>;
  pathwayProperty: Setting<string>;
  fallback: Setting<string | null>;
  overwrite: Setting<boolean>;
  populations: Setting<string[] | null>;
}

/** What a run gives a host. */
export interface SynparamResults {
  /** Drawn columns per edge population, rows in edge order. */
  results: Record<string, Table>;
  stats: Record<string, PopulationStatistics>;
  warnings: string[];
  /** Each parameterized edges file, by its path in the circuit. */
  edges: Record<string, Blob>;
  seed: number;
  pathwayProperty: string;
  settings: ResolvedSettings;
}

/** A circuit: a circuit_config.json URL, local files (a folder keeps its layout), or buffers by path. */
export type CircuitInput = string | URL | FileList | File[] | { files: Record<string, File | Blob | ArrayBuffer | Uint8Array> } | { buffers: Record<string, ArrayBuffer | Uint8Array> };

/** The run settings common to the browser and Node APIs. Unset settings take the config's task
 * form (`random_seed`, `pathway_property`, …), else the defaults. */
export interface RunSettings {
  /** ConnPropsModel dict or task form, as JSON text or object. */
  config: string | object;
  seed?: number;
  pathwayProperty?: string;
  fallback?: string;
  overwrite?: boolean;
  populations?: string[] | null;
  /** For rules (a recipe, rules JSON, an obi-one config): refuse a rule naming a selector value
   * no node of the circuit has, instead of listing it in the warnings and the sidecar's
   * `rules_matching_nothing`. */
  strict?: boolean;
  onProgress?: (progress: { done: number; total: number }) => void;
  signal?: AbortSignal;
}

export interface ParameterizeOptions extends RunSettings {
  circuit: CircuitInput;
  /** fetch options (e.g. headers with an auth token) for the files of a circuit given by URL, sent
   * to that URL's origin only. */
  fetchInit?: RequestInit;
  /** Other origins the circuit's files may come from; fetched without credentials. Any other
   * origin is refused. */
  allowedOrigins?: string[];
  /** Where worker.js lives (default: beside the module). */
  assetsUrl?: string | URL;
}

/** Parameterize a circuit in a worker of its own; rejects with an `AbortError` when `signal` aborts. */
export function parameterize(options: ParameterizeOptions): Promise<SynparamResults>;

export interface SynparamErrorDetail { name: string; message: string; path?: string }

/** A node or edge file, or one of its populations, that could not be loaded (missing, not HDF5,
 * damaged, its node types CSV missing, …; an edge population whose source or target node
 * population could not be), with its error. The rest of the circuit is loaded; a run that needs
 * one of these (every edge population, or the ones asked for) is refused, naming it. */
export interface UnavailablePart {
  kind: "nodes" | "edges";
  /** The file as the loader names it (its path in the circuit, or its URL). */
  file: string;
  /** null when the file's populations are unknown (it could not be read, and the config does not name them). */
  population: string | null;
  message: string;
}

export interface SynparamReadyDetail {
  edgePopulations: { name: string; source: string; target: string; size: number; groups: string[] }[];
  nodePopulations: { name: string; type: string | null; size: number; properties: string[] }[];
  candidates: Record<string, Record<string, string[]>>;
  /** Per edge population (and "*" over all): every node property of either side as a pathway
   * property could use it, class-like ones first. */
  pathwayProperties: Record<string, PathwayPropertyChoice[]>;
  /** What of the circuit could not be loaded, each with its error (empty when everything loaded). */
  unavailable: UnavailablePart[];
}
export interface SynparamResultDetail {
  stats: Record<string, PopulationStatistics>;
  warnings: string[];
  seconds: number;
  seed: number;
  pathwayProperty: string;
  edgeFiles: string[];
}

/** The synparam UI as a custom element (shadow DOM; one worker per instance, freed on removal). */
export class SynparamPanel extends HTMLElement {
  circuitUrl: string | null;
  /** JSON text; setting also takes an object. */
  config: string | object | null;
  seed: number;
  pathwayProperty: string | null;
  /** Sent with the circuit's files on the circuit URL's origin only. */
  fetchInit: RequestInit | undefined;
  /** Origins besides the circuit's that its files may come from (fetched without credentials);
   * setting also takes a space-separated string. */
  allowedOrigins: string[];
  loadFiles(files: FileList | File[]): void;
  loadBuffers(buffers: Record<string, ArrayBuffer | Uint8Array>): void;
  run(): Promise<Omit<SynparamResults, "edges"> & { edges: Record<string, Blob> }>;
  getResults(): SynparamResults | null;
  exportEdges(): Record<string, Blob>;
  /** The whole parameterized circuit (layout, config, provenance sidecar) as a zip. */
  exportCircuit(): Promise<Blob>;
}

declare global {
  interface HTMLElementTagNameMap { "synparam-panel": SynparamPanel }
  interface HTMLElementEventMap {
    "synparam-ready": CustomEvent<SynparamReadyDetail>;
    "synparam-progress": CustomEvent<{ done: number; total: number }>;
    "synparam-result": CustomEvent<SynparamResultDetail>;
    "synparam-error": CustomEvent<SynparamErrorDetail>;
  }
}

/** A node property as a pathway property: its kind, distinct values (none for floats), nodes
 * without a value per node population, and whether the selector lists it by default. */
export interface PathwayPropertyChoice {
  name: string;
  kind: "categorical" | "integer" | "float";
  values: string[] | null;
  distinct: number | null;
  lacking: Record<string, number>;
  shown: boolean;
}

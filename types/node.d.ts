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

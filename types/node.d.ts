// Types of synparam in Node: the headless API, in-process.
import type { Table } from "apache-arrow";
import type { PopulationStatistics, RunSettings } from "./synparam.js";

export type { PathwayStatistics, PopulationStatistics, RunSettings } from "./synparam.js";

export interface NodeParameterizeOptions extends RunSettings {
  /** A circuit_config.json path, or plain node and edge .h5 paths. */
  circuit: string | string[];
  /** Write the whole parameterized circuit (layout, config, provenance sidecar) into this new or empty directory. */
  out?: string;
  chunkSize?: number;
  /** With `out`: copy unchanged files instead of hard-linking them. */
  copy?: boolean;
}

export interface NodeResults {
  results: Record<string, Table>;
  stats: Record<string, PopulationStatistics>;
  warnings: string[];
  seed: number;
  pathwayProperty: string;
  /** With `out`: the sidecar written to out/parameterization.json. */
  provenance?: Record<string, unknown>;
  outDir?: string;
}

/** Parameterize a circuit in-process; rejects with an `AbortError` when `signal` aborts. */
export function parameterize(options: NodeParameterizeOptions): Promise<NodeResults>;

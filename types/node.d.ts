// Types of synparam in Node: the headless API, in-process.
import type { Table } from "apache-arrow";
import type { PopulationStatistics } from "./synparam.js";

export type { PathwayStatistics, PopulationStatistics } from "./synparam.js";

export interface NodeParameterizeOptions {
  /** A circuit_config.json path, or plain node and edge .h5 paths. */
  circuit: string | string[];
  config: string | object;
  seed?: number;
  pathwayProperty?: string;
  fallback?: string;
  overwrite?: boolean;
  populations?: string[] | null;
  onProgress?: (progress: { done: number; total: number }) => void;
  signal?: AbortSignal;
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

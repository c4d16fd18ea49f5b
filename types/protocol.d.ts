// The worker protocol (www/run/protocol.js): what the main thread may ask synparam's worker, and
// what each request answers. Every request carries an id; its progress, result or error come back
// with that id, to that caller only.

import type { PopulationStatistics } from "./synparam.js";

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
}

export interface RunRequest {
  config: string;
  seed?: number;
  pathwayProperty?: string;
  fallback?: string;
  overwrite?: boolean;
  populations?: string[] | null;
  chunkSize?: number;
}

export interface RunResult {
  populations: { name: string; source: string; target: string; size: number; fileName: string; shownName: string;
    stats: PopulationStatistics["properties"]; connections: Record<string, number>; columns: Uint8Array }[];
  warnings: string[];
  pathwayProperty: string;
  fallback: string | null;
  seed: number;
  overwrite: boolean;
  requested: string[] | null;
  /** Each parameterized edges file, verified against the core's digests. */
  outputs: { fileName: string; output: string; bytes: Uint8Array }[];
  seconds: number;
}

/** Request name → [arguments, result]. `run` reports `{done, total}` progress; `run` and `zip`
 * are served one at a time, in the order asked. */
export interface WorkerMethods {
  load: [CircuitSource, CircuitDescription];
  validate: [{ config: string }, { properties: { name: string; column_type: string }[]; src_types: string[]; tgt_types: string[]; notices: string[] }];
  preview: [{ spec: string }, [number, number][]];
  pathways: [CircuitSource & { property: string; fallback?: string }, { property: string; counts: Record<string, Record<string, number>> }];
  provenance: [{ text: string; name?: string }, { configText: string; seed: number; pathwayProperty: string; fallback?: string; overwrite: boolean; populations: string[] | null; version: string }];
  run: [CircuitSource & RunRequest, RunResult];
  zip: [Record<string, never>, { blob: Blob; warnings: string[] }];
}

/** An error as a caller receives it: `name` is the kind (ConfigError, CircuitError, AbortError,
 * WorkerError, …), `path` the JSON path of a config error. */
export interface WorkerError extends Error { name: string; path?: string }

export interface WorkerClient {
  call<M extends keyof WorkerMethods>(method: M, args: WorkerMethods[M][0], options?: {
    onProgress?: (progress: { done: number; total: number }) => void; transfer?: Transferable[];
  }): Promise<WorkerMethods[M][1]>;
  /** Stop the worker; every pending request rejects with `reason` (an AbortError by default). */
  terminate(reason?: Error): void;
}

export function connectWorker(worker: Worker, options?: { onEvent?: (event: string, data: unknown) => void }): WorkerClient;

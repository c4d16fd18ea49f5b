"""The Dask path on the 10 M-synapse network (benches/out/net10m, made by make_network.py) against
the command: wall time, synapses/s and synapses/s per core for ``node www/host/cli.mjs --workers 1``
and ``synparam.dask.parameterize_circuit`` on a local cluster of 1 and 2 worker processes (one
thread each; the calling process is the coordinator and the one writer). Checks that every
written dataset equals the command's, byte for byte. Prints a table.

    .venv/bin/python benches/dask_bench.py [--synapses 10000000] [--runs 1] [--partition-rows N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "www/presets/tsodyks_markram.json"


def written_datasets(out: Path) -> dict:
    sidecar = json.loads((out / "parameterization.json").read_text())
    return {(file, name): info for file, datasets in sidecar["datasets"].items() for name, info in datasets.items()}


def same_datasets(a: Path, b: Path) -> bool:
    expected, found = written_datasets(a), written_datasets(b)
    if expected != found:
        return False
    for file, name in expected:
        with h5py.File(a / file, "r") as x, h5py.File(b / file, "r") as y:
            dx, dy = x[name], y[name]
            if dx.dtype != dy.dtype or dx.shape != dy.shape:
                return False
            for start in range(0, dx.shape[0], 1 << 22):
                if np.asarray(dx[start:start + (1 << 22)]).tobytes() != np.asarray(dy[start:start + (1 << 22)]).tobytes():
                    return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--synapses", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--partition-rows", type=int, default=None)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    circuit = ROOT / f"benches/out/net{args.synapses // 1_000_000}m/circuit_config.json"
    if not circuit.exists():
        sys.exit(f"{circuit} does not exist: make it with benches/make_network.py (make bench-e2e)")
    from dask.distributed import Client, LocalCluster

    import synparam
    from synparam.dask import DEFAULT_PARTITION_ROWS, parameterize_circuit

    partition_rows = args.partition_rows or DEFAULT_PARTITION_ROWS
    scratch = Path(tempfile.mkdtemp(prefix="synparam-dask-bench-", dir=ROOT / "benches/out"))
    rows = []
    try:
        reference = scratch / "command"
        best = None
        for i in range(args.runs):
            out = scratch / f"command-{i}"
            started = time.perf_counter()
            subprocess.run(["node", str(ROOT / "www/host/cli.mjs"), "--circuit", str(circuit), "--config", str(PRESET), "--out", str(out),
                            "--seed", "1", "--workers", "1"], check=True, capture_output=True, cwd=ROOT)
            seconds = time.perf_counter() - started
            best = seconds if best is None else min(best, seconds)
            if i == 0:
                out.rename(reference)
            else:
                shutil.rmtree(out)
        rows.append(("command --workers 1", 1, best, None, True))
        for workers in [int(w) for w in args.workers.split(",")]:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
            try:
                client.run(lambda: __import__("synparam").__version__)  # workers warm: imports done
                best = phases = None
                same = True
                for i in range(args.runs):
                    out = scratch / f"dask-{workers}-{i}"
                    started = time.perf_counter()
                    result = parameterize_circuit(circuit, PRESET, out, seed=1, client=client, partition_rows=partition_rows)
                    seconds = time.perf_counter() - started
                    if best is None or seconds < best:
                        best, phases = seconds, result["timings"]
                    same = same and same_datasets(reference, out)
                    shutil.rmtree(out)
                rows.append((f"dask, {workers} worker process{'es' if workers > 1 else ''}", workers, best, phases, same))
            finally:
                client.close()
                cluster.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    n = args.synapses
    print(f"\n{n:,} synapses, Tsodyks–Markram preset (9 properties), seed 1, partition {partition_rows:,} rows, "
          f"best of {args.runs}, {os.cpu_count()} cores, synparam {synparam.__version__}\n")
    print(f"{'run':<28} {'wall s':>8} {'synapses/s':>12} {'per draw core':>14} {'same datasets':>14}")
    for name, cores, seconds, _, same in rows:
        print(f"{name:<28} {seconds:>8.2f} {n / seconds:>12,.0f} {n / seconds / cores:>14,.0f} {'yes' if same else 'NO':>14}")
    for name, _, _, phases, _ in rows:
        if phases:
            print(f"\n{name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items() if v >= 0.01))
    if not all(row[4] for row in rows):
        sys.exit("the Dask output differs from the command's")


if __name__ == "__main__":
    main()

"""Samples of connectome-manipulator's LinDelayModel.apply at a fixed distance grid (issue #26).

Writes tests/fixtures/lin_delay_cm_samples.json: per parameter set and distance, N delays drawn by
connectome-manipulator itself (numpy's global RNG, seeded), which tests/lin_delay_conformance.rs
compares with synparam's lin_delay draws (two-sample Kolmogorov-Smirnov, alpha = 0.001).

Run from the repository root: .venv/bin/python tests/conformance/lin_delay_samples.py
"""

import json
import pathlib

import connectome_manipulator
import numpy as np
from connectome_manipulator.model_building.model_types import LinDelayModel

SAMPLES = 1500
DISTANCES = [0.0, 50.0, 150.0, 400.0, 1000.0]
# (a, b, std, min): connectome-manipulator's defaults; a fitted-like model; a mean below the minimum
# at short distances (the truncation matters); a deterministic one (std 0: max(mean, min)).
PARAMETERS = [
    {"delay_mean_coeff_a": 0.75, "delay_mean_coeff_b": 0.003, "delay_std": 0.5, "delay_min": 0.2},
    {"delay_mean_coeff_a": 0.32, "delay_mean_coeff_b": 0.0042, "delay_std": 0.12, "delay_min": 0.1},
    {"delay_mean_coeff_a": -0.5, "delay_mean_coeff_b": 0.004, "delay_std": 0.3, "delay_min": 0.4},
    {"delay_mean_coeff_a": 0.2, "delay_mean_coeff_b": 0.001, "delay_std": 0.0, "delay_min": 0.3},
]


def main():
    np.random.seed(20260126)
    cases = []
    for params in PARAMETERS:
        model = LinDelayModel(**params)
        for distance in DISTANCES:
            values = model.apply(distance=np.full(SAMPLES, distance))
            cases.append({"parameters": params, "distance": distance, "samples": [round(float(v), 7) for v in values]})
    out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "lin_delay_cm_samples.json"
    out.write_text(json.dumps({
        "source": f"connectome_manipulator {connectome_manipulator.__version__} LinDelayModel.apply",
        "seed": 20260126,
        "cases": cases,
    }))
    print(f"wrote {out} ({len(cases)} cases of {SAMPLES})")


if __name__ == "__main__":
    main()

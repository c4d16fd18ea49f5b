"""A drop-in for obi-one's ``SynapseParameterizationTask``: synparam instead of the per-connection loop.

obi-one's original task (``obi_one/scientific/tasks/synapse_parameterization.py``, Nov 2025; the
``OriginalSynapseParameterization`` block since) takes a circuit, ``pathway_property``,
``pathway_param_dict`` (a connectome-manipulator ``ConnPropsModel`` dict), ``random_seed`` (default
1) and ``overwrite_if_exists`` (default False); it stages the circuit into the coordinate's output
folder (``config.coordinate_output_root``), then for every edge population groups the edges by
(source, target) and calls ``ConnPropsModel.get_model_output`` once per connection, writing the
columns into group ``0`` of the staged ``edges.h5`` in place.

:func:`synapse_parameterization` has the same inputs and leaves the same thing behind — a
parameterized circuit in the output folder — drawn by the synparam core (the page's and the
command's, bit for bit) and written as the command writes it: every edge group, the SONATA dtypes,
provenance attributes and ``parameterization.json``, verified, never touching the staged input.

How the platform calls it, in ``SynapseParameterizationTask.execute`` (after staging the circuit
with ``db_sdk.resolve_circuit`` / ``stage_circuit`` into a temporary or cache folder instead of
copying it into the output folder)::

    from synparam.obi_one import synapse_parameterization

    init = self.config.initialize
    synapse_parameterization(
        circuit=staged_circuit.path,             # circuit_config.json (or an obi-one Circuit)
        pathway_property=init.pathway_property,  # e.g. "synapse_class"
        pathway_param_dict=init.pathway_param_dict,
        random_seed=init.random_seed,
        overwrite_if_exists=init.overwrite_if_exists,
        output_path=self.config.coordinate_output_root,  # must be new or empty, as copytree wants
    )
    # then register output_path as before (compress_output / register_circuit_from_metadata)

or, with the whole single config: ``run_task_config(self.config, circuit=staged_circuit.path)``.
For large circuits pass ``client=`` a ``dask.distributed.Client`` (the task's cluster); without
one the ranges are drawn in this process, one after the other.

Differences from the original: the staged input is never modified (the output is a new circuit,
built beside the output folder and renamed into place when verified); node populations without
the pathway property are skipped with a warning (as the original does) unless
``fallback_value`` is given; a pathway value missing from ``src_types``/``tgt_types`` raises
``synparam.MissingPathwayValuesError`` (a ``synparam.SynparamError``) naming the values, where the
original raised ``ValueError``; an existing property without ``overwrite_if_exists`` raises
``CircuitError`` naming every such property before anything is written (the original raised
``ValueError`` after writing the columns before it); values are drawn from synparam's keyed streams,
not numpy's global generator (statistically equivalent, tested against ConnPropsModel; not the
same numbers).
"""
from __future__ import annotations

import logging
import os

from .dask import DEFAULT_PARTITION_ROWS, parameterize_circuit

__all__ = ["synapse_parameterization", "run_task_config"]

L = logging.getLogger("synparam.obi_one")


def _circuit_config_path(circuit) -> str:
    """A circuit_config.json path from a path, a folder holding one, or an object with ``path``
    (obi-one's ``Circuit``) or ``config`` / ``_config`` (bluepysnap's ``Circuit``)."""
    for attribute in ("path", "circuit_config", "config_path"):
        value = getattr(circuit, attribute, None)
        if isinstance(value, (str, os.PathLike)):
            circuit = value
            break
    path = os.fspath(circuit)
    if os.path.isdir(path):
        path = os.path.join(path, "circuit_config.json")
    return path


def synapse_parameterization(circuit, pathway_property, pathway_param_dict, random_seed=1, overwrite_if_exists=False,
                             output_path=None, *, fallback_value=None, edge_populations=None, client=None,
                             partition_rows=DEFAULT_PARTITION_ROWS):
    """Parameterize ``circuit`` as obi-one's ``SynapseParameterizationTask`` did, with synparam.

    ``circuit``: a circuit_config.json path, its folder, or an obi-one/bluepysnap circuit object.
    ``pathway_property``: the node property defining pathways (e.g. ``"synapse_class"``).
    ``pathway_param_dict``: the ConnPropsModel dict (``src_types``, ``tgt_types``, ``prop_stats``,
    optional ``prop_cov``), as obi-one passes it. ``random_seed``: the seed (obi-one's default 1).
    ``overwrite_if_exists``: replace properties the edges already have. ``output_path``: the
    folder of the parameterized circuit (new or empty). ``fallback_value``: the pathway value of
    nodes without the property (virtual populations), instead of skipping their edges.
    ``client``: a ``dask.distributed.Client`` to draw on (None: in this process).

    Returns the run's result (see :func:`synparam.dask.parameterize_circuit`); the output's
    circuit config is ``<output_path>/circuit_config.json``.
    """
    if output_path is None:
        raise ValueError("output_path is required: the folder of the parameterized circuit (new or empty)")
    if not isinstance(pathway_param_dict, dict):
        raise TypeError("pathway_param_dict must be a dict in connectome-manipulator's ConnPropsModel format")
    config = dict(pathway_param_dict)
    result = parameterize_circuit(
        _circuit_config_path(circuit), config, output_path, seed=int(random_seed), pathway_property=pathway_property,
        fallback=fallback_value, overwrite=bool(overwrite_if_exists), populations=edge_populations, client=client,
        partition_rows=partition_rows)
    for warning in result["warnings"]:
        L.warning(warning)
    L.info("Synapse parameterization of %d edge population(s) written to %s", len(result["populations"]), result["out_dir"])
    return result


def run_task_config(task_config, *, circuit, client=None, output_path=None):
    """Run an obi-one single config of the original task shape: ``task_config.initialize`` holds
    ``pathway_property``, ``pathway_param_dict``, ``random_seed`` and ``overwrite_if_exists``; the
    output goes to ``task_config.coordinate_output_root`` (or ``output_path``)."""
    init = getattr(task_config, "initialize", task_config)
    out = output_path if output_path is not None else getattr(task_config, "coordinate_output_root")
    return synapse_parameterization(
        circuit, init.pathway_property, init.pathway_param_dict, getattr(init, "random_seed", 1),
        getattr(init, "overwrite_if_exists", False), out, client=client)

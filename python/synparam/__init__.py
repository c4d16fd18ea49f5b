"""synparam for Python: the same Rust core as the page and the command, bit for bit.

Give every synapse of a SONATA circuit its physiological parameters, drawn per pathway from
connectome-manipulator ``ConnPropsModel`` distributions with keyed random streams: the values of an
edge depend only on the model, the seed, its pathway and its ids — never on how the edges are
split into batches, workers, Dask partitions or Spark tasks.

Arrow data crosses into the core through the Arrow C data interface (pyarrow in, pyarrow out).

>>> import pyarrow as pa, synparam
>>> config = {"src_types": ["EXC"], "tgt_types": ["EXC"], "prop_stats": {"conductance": {
...     "EXC": {"EXC": {"type": "gamma", "mean": 1.0, "std": 0.5}}}}}
>>> run = synparam.Parameterizer(config, seed=1)
>>> nodes = pa.array(["EXC", "EXC"])
>>> run.add_edge_population("cells__cells", nodes, nodes, pathway_property="synapse_class")
>>> edges = pa.record_batch({"source_node_id": [0, 1], "target_node_id": [1, 0], "edge_id": [0, 1]})
>>> run.run_batch("cells__cells", edges).num_rows
2

Sub-modules: :mod:`synparam.sonata` (circuits on disk), :mod:`synparam.dask` (a circuit on a
Dask cluster, the ``synparam-dask`` command), :mod:`synparam.spark` (Spark ``mapInArrow``),
:mod:`synparam.obi_one` (a drop-in for obi-one's task).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _synparam
from ._synparam import (
    ConfigError,
    DatasetDigest,
    InputError,
    MissingPathwayPropertyError,
    MissingPathwayValuesError,
    SynparamError,
    ValueOutOfRangeError,
)

__all__ = [
    "Parameterizer",
    "DatasetDigest",
    "plan_run",
    "config_text",
    "is_rules_input",
    "read_rules",
    "export_rules",
    "rules_with_aliases",
    "compile_rules",
    "CompiledRules",
    "RULES_PATHWAY",
    "fit",
    "scan",
    "is_scan_config",
    "SynparamError",
    "ConfigError",
    "InputError",
    "MissingPathwayValuesError",
    "MissingPathwayPropertyError",
    "ValueOutOfRangeError",
    "CircuitError",
    "__version__",
]

#: The core's version: the tool version the command's sidecar and dataset attributes record.
__version__: str = _synparam.version()

Config = Union[str, bytes, Mapping[str, Any]]
#: The pathway value of nodes without the pathway property: one for every node population, or
#: ``{node population: value}`` (``"*"``: every other population).
Fallback = Union[str, Mapping[str, str]]


def config_text(config: Config) -> str:
    """The config as JSON text: text is passed unchanged (the core parses it, NaN and all), a
    mapping is serialized (``NaN``/``Infinity`` allowed, as connectome-manipulator writes them)."""
    if isinstance(config, bytes):
        return config.decode("utf-8")
    if isinstance(config, str):
        return config
    return json.dumps(config, allow_nan=True)


def _exact_seed(setting: dict) -> dict:
    """Seeds above 2**53 - 1 cross JSON as decimal text (for JavaScript): back to int here."""
    value = setting.get("value")
    if isinstance(value, str):
        setting = dict(setting, value=int(value))
    return setting


def plan_run(
    config: Config,
    *,
    seed: Optional[int] = None,
    pathway_property: Optional[str] = None,
    fallback: Optional[Fallback] = None,
    overwrite: Optional[bool] = None,
    populations: Optional[Sequence[str]] = None,
) -> dict:
    """Resolve a run as the page and the command do (``planRun``): the settings actually used,
    each ``{"value", "source"}`` with source ``override``, ``config`` or ``default``; the task
    summary (properties with their column types, pathway values); the distribution schema.

    Raises :class:`ConfigError` (with ``path``) for an invalid config.
    """
    plan = json.loads(
        _synparam.plan_run(
            config_text(config),
            seed,
            pathway_property,
            fallback,
            overwrite,
            list(populations) if populations is not None else None,
        )
    )
    plan["settings"]["seed"] = _exact_seed(plan["settings"]["seed"])
    return plan


#: The pathway property a run of compiled rules reports (nodes are classed by the rules).
RULES_PATHWAY = "rules"


def is_rules_input(config: Config) -> bool:
    """Whether ``config`` is rules — a BBP recipe (JSON, or YAML read into a dict, or legacy XML
    text) or synparam rules JSON — rather than a ``ConnPropsModel`` or task config."""
    return _synparam.is_rules_input(config_text(config))


def read_rules(config: Config) -> dict:
    """What rules hold: ``{format, seed, rules, classes, properties: {source, target}, unset,
    notes}`` (``properties``: the node properties the selectors read). Raises
    :class:`ConfigError` naming the place in the input (``synapse_properties.rules[3].class``)."""
    return json.loads(_synparam.read_rules(config_text(config)))


def export_rules(config: Config, pathway_property: str = "synapse_class") -> dict:
    """Any model as synparam's rules JSON: rules as read (a recipe's classes and rules), or a
    ``ConnPropsModel``/task config as one rule per cell selecting nodes by ``pathway_property``."""
    return json.loads(_synparam.export_rules(config_text(config), pathway_property))


def rules_with_aliases(config: Config, aliases: Mapping[str, Mapping[str, Any]]) -> dict:
    """Rules (a recipe, an obi-one config, synparam rules) as synparam's rules JSON with ``aliases``
    (``{property: {name: value or [values]}}``) as their alias table: a recipe written for another
    circuit mapped to this one's names (``{"mtype": {"L23_PC": ["L2_TPC:*", "L3_TPC:*"]}}``). The
    rules keep their names; the table rewrites the selectors when they are compiled."""
    return json.loads(_synparam.rules_with_aliases(config_text(config), json.dumps(aliases)))


class CompiledRules:
    """Rules compiled for a circuit's nodes: the ``ConnPropsModel`` the engine draws (one pathway
    value per class of nodes the rules tell apart) and each node's pathway value.

    ``config_text``: the model as a task config with the rules' seed, for :class:`Parameterizer`;
    ``model``: the ``ConnPropsModel`` dict (the matrix export); ``seed``; ``explain``: per rule
    (pathways won, synapses, connections, shadowed, matching no node), per pathway (the rule setting
    each property), properties left unset, rules matching no node of the circuit
    (``rules_matching_nothing``), warnings and notes; ``pathway_values``: ``{edge population: (source values,
    target values)}`` as pyarrow dictionary arrays, for ``add_edge_population(…,
    pathway_property=RULES_PATHWAY)``.
    """

    def __init__(self, finished: dict, pathway_values: dict, populations: Optional[Sequence[str]] = None):
        self.model = finished["model"]
        self.seed = finished["seed"]
        self.explain = finished["explain"]
        self.pathway_values = pathway_values
        self.overwrite = finished.get("overwrite")
        task = {"pathway_param_dict": self.model, "pathway_property": RULES_PATHWAY}
        if self.seed is not None:
            task["random_seed"] = self.seed
        if self.overwrite is not None:
            task["overwrite_if_exists"] = self.overwrite
        if populations:
            task["edge_populations"] = list(populations)
        self.config_text = json.dumps(task)


def _read_pathway_ipc(ipc: bytes) -> pa.Array:
    return pa.ipc.open_stream(ipc).read_all().column(0).combine_chunks()


def compile_rules(rules: Config, populations: Mapping[str, Mapping[str, Any]], edges: Optional[Mapping[str, Any]] = None,
                  strict: bool = False) -> CompiledRules:
    """Compile ``rules`` for a circuit.

    ``populations``: ``{edge population: {"source": {"population": name, "size": n, "columns":
    {property: values}}, "target": {…}}}`` — per node id, the values of the properties
    :func:`read_rules` lists (arrays, lists; None where a node has none), and optionally
    ``"geometry": {"datasets": [...], "source_positions": bool}`` (the datasets every edge group
    has, whether the source nodes have x, y, z): given for every population, a recipe's delay
    parameters draw ``delay`` with functionalizer's formula where all have synapse centres and
    soma positions. ``edges``: ``{edge
    population: (source ids, target ids)}`` or an iterable of ``(first_edge, source ids, target
    ids)`` chunks; with edges, synapses and connections are counted per pathway and only pathways
    with synapses must be covered (the first uncovered edge is a :class:`ConfigError` naming it);
    without, every pathway must be covered. A rule whose selector matches no node (a region's
    recipe on part of the region) is listed in ``explain["rules_matching_nothing"]`` and
    ``explain["warnings"]``; ``strict`` refuses it instead (a :class:`ConfigError` naming the rule).
    """
    compiler = _synparam.RuleCompiler(config_text(rules), strict)
    for name, sides in populations.items():
        args = []
        for role in ("source", "target"):
            side = sides[role]
            columns = {prop: _as_arrow_array(values) for prop, values in side.get("columns", {}).items()}
            args += [side["population"], int(side["size"]), columns]
        compiler.add_population(name, *args)
        if sides.get("geometry") is not None:
            geometry = sides["geometry"]
            compiler.set_geometry(name, list(geometry.get("datasets", [])), bool(geometry.get("source_positions")))
    compiler.prepare()
    if edges is not None:
        for name, given in edges.items():
            chunks = [(0, given[0], given[1])] if isinstance(given, tuple) and len(given) == 2 else given
            for first, sources, targets in chunks:
                compiler.add_edges(name, int(first), _as_arrow_array(sources), _as_arrow_array(targets))
    finished = json.loads(compiler.finish(edges is not None and len(populations) > 0))
    values = {
        name: (_read_pathway_ipc(compiler.pathway_column(name, "source")), _read_pathway_ipc(compiler.pathway_column(name, "target")))
        for name in populations
    }
    return CompiledRules(finished, values, read_rules(rules).get("populations"))


def _as_arrow_array(values: Any) -> Any:
    """Pathway values or ids as a pyarrow (chunked) array; lists and numpy arrays are converted."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)) or hasattr(values, "__arrow_c_array__"):
        return values
    return pa.array(values)


def _float64_array(values: Any) -> Any:
    """Values as a pyarrow array for the core's attribute columns and positions: pyarrow arrays
    and chunked arrays as they are, anything else (numpy arrays, lists) through ``pa.array``. The
    core converts any numeric type to float64 itself (``arrow_io::float_column``, as for the JS
    hosts) and names a null or a non-numeric column."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values)


def _as_edge_table(batch: Any) -> Any:
    """An edge batch as pyarrow: a RecordBatch or Table as is, a mapping of columns converted."""
    if isinstance(batch, (pa.RecordBatch, pa.Table)) or hasattr(batch, "__arrow_c_array__"):
        return batch
    if isinstance(batch, Mapping):
        return pa.record_batch({name: _as_arrow_array(column) for name, column in batch.items()})
    raise TypeError(f"an edge batch must be a pyarrow RecordBatch or Table, or a mapping of columns, not {type(batch).__name__}")


class Parameterizer:
    """One parameterization run: a validated model, a seed, prepared edge populations and the
    statistics collected so far.

    ``config`` is the ``ConnPropsModel`` dict (``src_types``, ``tgt_types``, ``prop_stats``,
    optional ``prop_cov``) or the task form (``pathway_param_dict`` …), as text or a mapping.
    ``seed`` overrides the config's ``random_seed``; one of them must be given.
    """

    def __init__(self, config: Config, seed: Optional[int] = None):
        self.config_text = config_text(config)
        self._run = _synparam.Parameterizer(self.config_text, seed)
        self.summary = json.loads(self._run.summary())
        self._attribute_datasets: dict = {}  # edge population → the datasets its plan reads, in order

    @property
    def seed(self) -> int:
        """The seed in use."""
        return self._run.seed

    @property
    def properties(self) -> list:
        """``[(property, numpy dtype name)]`` of the model, in output column order."""
        return [(p["name"], p["column_type"]) for p in self.summary["properties"]]

    def add_edge_population(
        self,
        name: str,
        source_values: Any,
        target_values: Any,
        pathway_property: str = "synapse_class",
        fallback: Optional[Fallback] = None,
        source_population: Optional[str] = None,
        target_population: Optional[str] = None,
    ) -> None:
        """Prepare edge population ``name`` from its source and target nodes' pathway values: one
        entry per node id (strings, dictionary-encoded strings or integers; null where a node lacks
        the property, which needs ``fallback``: a value, or ``{node population: value}``). The node
        population names (default ``source``/``target``) appear in errors and pick a
        per-population fallback, which therefore needs them."""
        unnamed = source_population is None or target_population is None
        if unnamed and isinstance(fallback, Mapping) and any(key != "*" for key in fallback):
            raise ValueError(
                f"edge population '{name}': a fallback per node population ({', '.join(k for k in fallback if k != '*')}) "
                "needs the node populations named (source_population=, target_population=)"
            )
        source_population = "source" if source_population is None else source_population
        target_population = "target" if target_population is None else target_population
        self._run.add_edge_population(
            name,
            source_population,
            _as_arrow_array(source_values),
            target_population,
            _as_arrow_array(target_values),
            pathway_property,
            fallback,
        )

    # Where a synapse sits: per-synapse edge attributes (distance_soma, edge datasets).

    def required_edge_attributes(self) -> list:
        """The per-synapse attributes the model reads, in its order: ``distance_soma`` (from the
        presynaptic soma to the synapse) and edge dataset names (``afferent_section_type``, …).
        Empty for a model that reads none — then nothing else here is needed."""
        return self._run.required_edge_attributes()

    def plan_edge_attributes(self, population: str, available: Iterable[str]) -> dict:
        """What to read for ``population``'s attributes, given the datasets its edges file has
        (``available``): ``{"datasets": [...], "source_positions": bool, "synapse_position":
        "afferent_center" | "efferent_center" | None}``. ``datasets`` are the edge datasets to
        give with every batch, in this order; ``source_positions`` says that
        :meth:`set_source_positions` is needed (for ``distance_soma``). Raises
        :class:`InputError` naming every dataset the population lacks, before anything is drawn."""
        reads = json.loads(self._run.plan_edge_attributes(population, [str(name) for name in available]))
        self._attribute_datasets[population] = reads["datasets"]
        return reads

    def set_source_positions(self, population: str, x: Any, y: Any, z: Any) -> None:
        """The soma positions (µm) of ``population``'s source nodes, one value per node id (numpy
        or pyarrow arrays, any numeric type): what ``distance_soma`` is measured from. Raises
        :class:`InputError` for a length other than the node count or a value that is not finite."""
        self._run.set_source_positions(population, _float64_array(x), _float64_array(y), _float64_array(z))

    def _attribute_columns(self, population: str, batch: Any, attributes: Any) -> Optional[list]:
        """The planned datasets' values for one batch, in plan order, as float64 arrays:
        ``attributes`` as a mapping by dataset name or a sequence in plan order, or (None) the
        batch's columns named after the datasets."""
        datasets = self._attribute_datasets.get(population, [])
        if attributes is None:
            if not datasets:
                return None
            names = batch.schema.names if hasattr(batch, "schema") else list(batch)
            source = {name: batch[name] for name in datasets if name in names}
        elif isinstance(attributes, Mapping):
            source = attributes
        else:
            return [_float64_array(column) for column in attributes]
        missing = [name for name in datasets if name not in source]
        if missing:
            error = InputError(f"edge chunk of '{population}': no values given for the planned edge dataset(s) {', '.join(missing)}")
            error.kind, error.context = "InputError", f"edge chunk of '{population}'"
            raise error
        return [_float64_array(source[name]) for name in datasets]

    def run_batch(self, population: str, batch: Any, raw: bool = False, attributes: Any = None) -> pa.RecordBatch:
        """Draw every property for an edge batch with ``source_node_id``, ``target_node_id`` and
        ``edge_id`` (the edge's row in its SONATA population, which keys its random streams).
        Returns one column per property, named after it, in its model dtype (``raw``: the drawn
        float64 values); row *i* belongs to input row *i*. Statistics accumulate.

        A model that reads edge attributes needs their values for these edges: ``attributes``, a
        mapping ``{dataset: values}`` or a sequence in :meth:`plan_edge_attributes`' order, or, when
        None, the batch's columns named after the planned datasets."""
        table = _as_edge_table(batch)
        return self._run.run_batch(population, table, raw, self._attribute_columns(population, batch, attributes))

    def run_ipc(self, population: str, edges_ipc: bytes) -> bytes:
        """:meth:`run_batch` on Arrow IPC stream bytes, returning IPC stream bytes (the JS API's
        ``runChunk``)."""
        return self._run.run_ipc(population, edges_ipc)

    def statistics(self) -> list:
        """Per property and pathway: synapses, connections, mean, std, histogram and the
        goodness of fit of every batch run so far (the page's statistics)."""
        return json.loads(self._run.statistics())

    def warnings(self, population: str) -> list:
        """What the statistics so far call for, as lines naming edge population ``population``:
        values clipped by bounds, values beyond a property's physiological range (the core's
        text, the command's)."""
        return self._run.warnings(population)

    def connections(self, population: str) -> list:
        """Distinct connections per pathway: ``[(source type, target type, count)]``."""
        return self._run.connections(population)

    def set_connection_counting(self, enabled: bool) -> None:
        """Whether batches also count distinct connections (on by default; it remembers every
        pair unless :meth:`assume_sorted_by_target`)."""
        self._run.set_connection_counting(enabled)

    def assume_sorted_by_target(self, population: str) -> None:
        """Count connections per target block: the caller guarantees edges sorted by target and
        batches in edge order."""
        self._run.assume_sorted_by_target(population)

    def count_connections_of(self, population: str, batch: Any) -> None:
        """Count the distinct connections of an edge batch without drawing it."""
        self._run.count_connections_of(population, _as_edge_table(batch))

    def export_state(self, population: str) -> str:
        """What this run of ``population`` accumulated (statistics, connection counts, digests),
        as JSON text for another run's :meth:`merge_state` (parallel workers)."""
        return self._run.export_state(population)

    def merge_state(self, population: str, state: str) -> None:
        """Add another run's :meth:`export_state` of the same model and population."""
        self._run.merge_state(population, state)

    def statistics_state(self) -> str:
        """The statistics so far, as JSON text for :meth:`merge_statistics`."""
        return self._run.statistics_state()

    def merge_statistics(self, state: str) -> None:
        """Add another run's :meth:`statistics_state` of the same model."""
        self._run.merge_statistics(state)

    def reset_statistics(self) -> None:
        """Forget the statistics and connection counts."""
        self._run.reset_statistics()

    # SONATA storage: what a writer needs to put values into an edges file as the command does.

    def scan_groups(self, population: str, size: int, first_edge: int, group_ids: Any, group_index: Any) -> None:
        """Add the next edges' ``edge_group_id``/``edge_group_index`` (edges ``first_edge …`` of
        a population of ``size``) to its layout scan, which :meth:`plan_output` checks."""
        self._run.scan_groups(population, size, first_edge, _as_arrow_array(group_ids), _as_arrow_array(group_index))

    def plan_output(
        self,
        population: str,
        size: int,
        existing: Iterable[Mapping[str, Any]],
        groups: Iterable[int],
        overwrite: bool,
        layout: Optional[Any] = None,
    ) -> dict:
        """Plan the datasets the run writes into ``population`` (``size`` edges). ``existing``:
        ``[{"group", "property", "storage" (numpy name or None), "rows"}]`` of the file; ``groups``:
        its group ids; ``layout``: a plan's ``layout`` from a coordinating run instead of a scan.
        Returns ``{"datasets": [...], "create_groups", "fills_in_order", "layout"}``; raises naming
        the conflict (existing properties without ``overwrite``, wrong lengths, missing groups)."""
        plan = self._run.plan_output(
            population,
            int(size),
            json.dumps(list(existing)),
            [int(g) for g in groups],
            bool(overwrite),
            json.dumps(layout) if layout is not None else None,
        )
        return json.loads(plan)

    def run_storage(self, population: str, batch: Any, attributes: Any = None) -> list:
        """Draw an edge batch (with the group columns when the population has them) and place its
        values as planned: ``[(dataset index in the plan, [(first row, rows), …], numpy array in
        the dataset's storage dtype)]``. The arrays are copies the caller owns. ``attributes``: as
        for :meth:`run_batch`."""
        columns = self._attribute_columns(population, batch, attributes)
        return [
            (dataset, runs, array.to_numpy(zero_copy_only=True))
            for dataset, runs, array in self._run.run_storage(population, _as_edge_table(batch), columns)
        ]

    def dataset_digests(self, population: str) -> list:
        """The planned datasets with the content digest of what was stored so far:
        ``[{"property", "group", "storage", "rows", "exists", "digest", "digest_rows"}]``."""
        return json.loads(self._run.dataset_digests(population))


def fit(
    circuit_config: Any,
    pathway_property: str,
    properties: Optional[Sequence[str]] = None,
    laws: Optional[Mapping[str, str]] = None,
    mode: str = "cm",
    min_samples: Optional[int] = None,
    max_samples: Optional[int] = None,
    seed: int = 0,
    populations: Optional[Sequence[str]] = None,
    *,
    fallback: Optional[Fallback] = None,
    chunk_rows: Optional[int] = None,
    options: Optional[Mapping[str, Any]] = None,
    settings: Optional[Mapping[str, Any]] = None,
    delay_bin_um: Optional[float] = None,
) -> tuple:
    """Fit a ``ConnPropsModel`` from the circuit of ``circuit_config`` (a circuit_config.json path):
    connectome-manipulator's ``extract`` + ``build``, the command's ``--fit`` bit for bit (issue
    #25; the semantics in docs/design.md, "Fitting a model").

    ``pathway_property``: the node property whose values make the pathways (e.g. ``mtype``).
    ``properties``: the edge properties to fit (default: every numeric one of the edges but
    identifiers, positions and geometry — ``afferent_*``, ``*_id`` but ``syn_type_id``, ``delay`` —
    that every fitted population has). ``laws``: ``{property: law}`` over connectome-manipulator's
    reference choices (gamma for conductance, truncnorm for u_syn, …; normal for the rest).
    ``mode``: ``cm`` (connectome-manipulator's) or ``auto`` (the law chosen by the data per pathway
    and property); ``empirical`` is passed to the core, which names a mode it cannot build yet. ``min_samples``/``max_samples``: connections per pathway — fewer, filled in from
    similar pathways; more, a subsample chosen by keyed streams of ``seed``. ``populations``: the
    edge populations (default: every one whose nodes have the pathway property). ``fallback``:
    pathway value of nodes without one. ``chunk_rows``: edges per chunk (the command's
    ``--chunk-size``; the model's last bits depend on it). ``options``: more of the core's build
    options (``dtypes``, ``bounds``, ``shared_within``, ``correlations``, …); ``settings``: more of
    its extraction settings (``folds`` for cross-validation, ``correlation_sample``, …). The core
    checks every key and names one it does not have. ``laws={"delay": "lin_delay"}`` fits
    connectome-manipulator's distance-dependent delay per pathway (distance bins of
    ``delay_bin_um``, default 50 µm; the edges need ``afferent_center_x/y/z`` or
    ``efferent_center_x/y/z`` and the source nodes ``x``, ``y``, ``z``).

    Returns ``(model, report)`` as dicts; writes nothing. Raises :class:`ConfigError` (with
    ``path``: ``properties[0]``, ``pathway_property``, ``laws.conductance``, ``min_sample_size``,
    ``prop_stats.….type``), :class:`InputError` (NaN or infinite values: how many, the first edge),
    :class:`MissingPathwayPropertyError`, or :class:`synparam.sonata.CircuitError` for the files.
    On a Dask cluster: :func:`synparam.dask.fit_circuit`.
    """
    from .fitting import fit_circuit

    result = fit_circuit(circuit_config, pathway_property=pathway_property, properties=properties, laws=laws, mode=mode,
                         min_samples=min_samples, max_samples=max_samples, seed=seed, populations=populations,
                         fallback=fallback, chunk_rows=chunk_rows, options=options, settings=settings,
                         delay_bin_um=delay_bin_um)
    return result["model"], result["report"]


def scan(circuit: Any, config: Config, out: Any, **options: Any) -> dict:
    """Run a scan config on a SONATA circuit (``circuit``: its circuit_config.json) into ``out``:
    ``out/scan.json``, one circuit per point, the files no point changes once in ``out/shared/``
    — the command's scan, the same bytes. ``config``: a dict, JSON text or a file path with
    ``"scan": "grid" | "coupled"``; ``options`` as :func:`synparam.dask.scan_circuit` takes them
    (``max_points``, ``seed``, …, ``client`` for a Dask cluster). Needs h5py."""
    from .dask import scan_circuit

    return scan_circuit(circuit, config, out, **options)


def is_scan_config(config: Config) -> bool:
    """Whether a config is a scan config (a JSON object with ``"scan"`` at its root)."""
    return _synparam.is_scan_config(config_text(config))


def __getattr__(name: str) -> Any:
    """``synparam.CircuitError`` (a circuit that cannot be read or written as asked), imported
    from :mod:`synparam.sonata` only when asked, so the core needs no h5py."""
    if name == "CircuitError":
        from .sonata import CircuitError

        return CircuitError
    raise AttributeError(f"module 'synparam' has no attribute '{name}'")

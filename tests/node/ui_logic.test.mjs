// The page's logic that needs no DOM: run settings over the config, the results' summary, the
// editor's model edits — tested in Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pageOverrides, settingNotes } from "../../www/ui/settings.js";
import { summaryCsv, statisticsFingerprints, changedPathways, taskOfRun } from "../../www/ui/summary.js";
import { classOf, classifyValues, mapPreset, hasRulesForm, presetMapping } from "../../www/ui/presets.js";
import { createHistory, encodeState, decodeState } from "../../www/ui/history.js";
import { sharedDomain, pathwaySubtitle, countTick } from "../../www/ui/plots.js";
import { distributionFields, specLabel, specFromForm, numberOrText, applySpec, addProperty, removeProperty, scaleFields, perSynapseByDefault } from "../../www/ui/editor.js";

const setting = (value, source) => ({ value, source });
const base = { seed: setting(7, "config"), pathwayProperty: setting("synapse_class", "default"), fallback: setting(null, "default"), overwrite: setting(true, "config") };

test("the page sends only what was set in it, plus its seed field when the config has no random_seed", () => {
  assert.deepEqual(pageOverrides({}), {});
  assert.deepEqual(pageOverrides({}, { configSeed: 7, seedField: 1 }), {}, "the config's seed wins over the untouched field");
  assert.deepEqual(pageOverrides({}, { configSeed: null, seedField: 1 }), { seed: 1 });
  assert.deepEqual(pageOverrides({}, { configSeed: null, seedField: null }), {}, "an empty field is no seed: the core then names what is missing");
  assert.deepEqual(pageOverrides({ seed: { value: 3, by: "here" }, fallback: { value: "EXC", by: "the sidecar" } }, { configSeed: 7, seedField: 3 }), { seed: 3, fallback: "EXC" });
});

test("each setting's note says where its value comes from, and what an override replaces", () => {
  const settings = { ...base, seed: setting(3, "override"), fallback: setting("EXC", "override") };
  const notes = settingNotes(settings, base, { seed: { value: 3, by: "here" }, fallback: { value: "EXC", by: "the sidecar" } });
  assert.deepEqual(notes.seed, { source: "override", text: "set here (the config says 7)" });
  assert.deepEqual(notes.fallback, { source: "override", text: "set by the sidecar (default none)" });
  assert.deepEqual(notes.pathwayProperty, { source: "default", text: "default" });
  assert.deepEqual(notes.overwrite, { source: "config", text: "from the config" });
  const noSeed = { ...base, seed: setting(null, "default") };
  assert.equal(settingNotes({ ...noSeed, seed: setting(1, "override") }, noSeed, {}).seed.text, "set here (the config has no random_seed)");
  // An override equal to what it replaces says so without a parenthesis.
  assert.equal(settingNotes({ ...base, seed: setting(7, "override") }, base, { seed: { value: 7, by: "the host" } }).seed.text, "set by the host");
  // A fallback per node population is shown as its entries; one equal to the config's is not a change.
  const table = { ...base, fallback: setting({ VPM: "EXC" }, "config") };
  assert.equal(settingNotes({ ...base, fallback: setting({ VPM: "EXC", "*": "INH" }, "override") }, table, {}).fallback.text, "set here (the config says VPM: 'EXC')");
  assert.equal(settingNotes({ ...base, fallback: setting({ VPM: "EXC" }, "override") }, table, {}).fallback.text, "set here");
});

const pathway = (source, target, mean, counts = [1, 2]) => ({ source, target, count: 3, mean, std: 0.5, min: 0, max: 1, clipped_share: 0, theoretical_mean: 1, theoretical_std: 0.5, histogram: { counts } });
const run = (mean) => [{ name: "pop", connections: { "A → B": 2 }, stats: [{ property: "g", pathways: [pathway("A", "B", mean), pathway("B, \"x\"", "A", 1)] }] }];

test("the summary CSV quotes what needs quoting and leaves missing values empty", () => {
  const csv = summaryCsv(run(null)).split("\n");
  assert.equal(csv[0], "edge_population,property,source,target,synapses,connections,mean,std,min,max,clipped_share,spec_mean,spec_std,fit_draws,fit_chi2,fit_df,fit_p,spec,before_mean,before_ratio,before_shifted");
  assert.equal(csv[1], "pop,g,A,B,3,2,,0.5,0,1,0,1,0.5,,,,,,,,");
  assert.equal(csv[2], 'pop,g,"B, ""x""",A,3,0,1,0.5,0,1,0,1,0.5,,,,,,,,');
  // With the values the file held before: their mean, the ratio, whether it moved beyond 2×.
  const before = run(1);
  before[0].stats[0].pathways[0].previous = { mean: 0.16, mean_ratio: 6.25, shifted: true };
  assert.match(summaryCsv(before).split("\n")[1], /,0\.16,6\.25,true$/);
});

test("only pathways whose statistics changed since the last run are marked", () => {
  const first = statisticsFingerprints(run(1));
  assert.equal(changedPathways(null, first).size, 0, "nothing is marked after a first run");
  const changed = changedPathways(first, statisticsFingerprints(run(1.5)));
  assert.deepEqual([...changed], ["pop|g|A|B"]);
});

test("the config downloaded after a run carries the settings the core used", () => {
  const model = { src_types: ["A"], tgt_types: ["A"], prop_stats: {} };
  const task = taskOfRun(JSON.stringify(model), { seed: 4, pathwayProperty: "mtype", fallback: null, overwrite: true, requested: ["p"] });
  assert.deepEqual(task, { pathway_param_dict: model, random_seed: 4, pathway_property: "mtype", overwrite_if_exists: true, edge_populations: ["p"] });
  const again = taskOfRun(JSON.stringify({ ...task, fallback_pathway_value: "A" }), { seed: 4, pathwayProperty: "mtype", fallback: null, overwrite: false, requested: null });
  assert.equal("fallback_pathway_value" in again, false, "a fallback the run did not use is not written");
});

test("the editor labels and edits specs with the core's distribution table", () => {
  const fields = distributionFields({ distributions: [["gamma", ["mean", "std"]], ["zero", []], ["truncnorm", ["norm_loc", "norm_scale", "min", "max"]], ["constant", ["mean"]]], common_keys: [], dtypes: [] });
  assert.equal(specLabel({ type: "gamma", mean: 1, std: 0.5, shared_within: false }, fields), "gamma(mean 1, sd 0.5) per synapse");
  assert.equal(specLabel({ type: "truncnorm", norm_loc: 0.25, norm_scale: 0.13, min: 0.01, max: 1 }, fields), "truncnorm(loc 0.25, scale 0.13, [0.01, 1])");
  assert.equal(specLabel({ type: "constant", mean: 7 }, fields), "constant(7)");
  assert.equal(specLabel({ type: "zero" }, fields), "zero()");
  const config = { pathway_param_dict: { src_types: ["A", "B"], tgt_types: ["A", "B"], prop_stats: { g: {} } } };
  applySpec(config, "g", "A", "B", { type: "zero" }, "row");
  assert.deepEqual(Object.keys(config.pathway_param_dict.prop_stats.g.A), ["A", "B"]);
  assert.equal(config.pathway_param_dict.prop_stats.g.B, undefined);
  addProperty(config, "h", { type: "zero" });
  assert.equal(config.pathway_param_dict.prop_stats.h.B.B.type, "zero");
  removeProperty(config, "h");
  assert.equal(config.pathway_param_dict.prop_stats.h, undefined);
});

test("the editor's form reads an empty field as missing and keeps text that is not a number", () => {
  assert.equal(numberOrText("2.5e-3"), 0.0025);
  assert.equal(numberOrText("-Infinity"), -Infinity);
  assert.equal(numberOrText("abc"), "abc");
  assert.equal(numberOrText("1,5"), "1,5");
  const fields = { truncnorm: ["norm_loc", "norm_scale", "min", "max"], discrete: ["val", "p"] };
  const input = (value) => ({ value });
  const form = (type, values, { shift = "", min = "", max = "" } = {}) => ({
    type: input(type), shared_within: { checked: false }, lower_bound: input(""), upper_bound: input(" 3 "), dtype: input(""),
    shift: input(shift), truncate_min: input(min), truncate_max: input(max),
    elements: Object.fromEntries(Object.entries(values).map(([k, v]) => [`field-${k}`, input(v)])),
  });
  assert.deepEqual(specFromForm(form("truncnorm", { norm_loc: "", norm_scale: "x", min: "0", max: " " }), fields),
    { type: "truncnorm", norm_scale: "x", min: 0, shared_within: false, upper_bound: 3 });
  // shift and a truncation window (either end) survive the form, as obi-one imports carry them.
  assert.deepEqual(specFromForm(form("gamma", {}, { shift: "2", max: "9" }), { gamma: [] }),
    { type: "gamma", shared_within: false, upper_bound: 3, shift: 2, truncate: { max: 9 } });
  assert.deepEqual(specFromForm(form("discrete", { val: "1 2, q", p: "0.5 0.5" }), fields).val, [1, 2, "q"]);
  // scale_by: a + b·x or a table of x y points, numbers as typed (the core names what is wrong);
  // shown back in the same three fields; no attribute, no scale_by.
  const scaled = (attribute, kind, values) => ({ ...form("gamma", {}), scale_attribute: input(attribute), scale_kind: input(kind), scale_values: input(values) });
  assert.deepEqual(specFromForm(scaled("distance_soma", "table", "0 1, 500 0.5"), { gamma: [] }).scale_by, { attribute: "distance_soma", table: [[0, 1], [500, 0.5]] });
  assert.deepEqual(specFromForm(scaled(" afferent_section_pos ", "linear", "1 -0.5"), { gamma: [] }).scale_by, { attribute: "afferent_section_pos", linear: [1, -0.5] });
  assert.deepEqual(specFromForm(scaled("x", "linear", "1 b"), { gamma: [] }).scale_by.linear, [1, "b"]);
  assert.equal(specFromForm(scaled("", "linear", "1 2"), { gamma: [] }).scale_by, undefined);
  assert.deepEqual(scaleFields({ attribute: "distance_soma", table: [[0, 1], [500, 0.5]] }), { attribute: "distance_soma", kind: "table", values: "0 1, 500 0.5" });
  assert.deepEqual(scaleFields(undefined), { attribute: "", kind: "linear", values: "" });
  // Drawn per synapse by default: the core's per-synapse types, and any scaled spec.
  const schema = { per_synapse: ["lin_delay", "fz_delay"] };
  assert.equal(perSynapseByDefault({ type: "lin_delay" }, schema), true);
  assert.equal(perSynapseByDefault({ type: "gamma", scale_by: { attribute: "x", linear: [1, 0] } }, schema), true);
  assert.equal(perSynapseByDefault({ type: "gamma" }, schema), false);
});

test("a pathway value's class comes from the circuit where it says, and from the name only as a marked guess", () => {
  // The names the issue found misclassified: all inhibitory.
  for (const name of ["i", "L23_CHC", "L5_MC", "L1_DAC", "L23_LBC", "L23_BP", "PV1", "i4Pvalb", "INH", "inhibitory_neuron"]) assert.equal(classOf(name), "I", name);
  // L6_BPC is a bipolar pyramidal cell in BBP's cortex (excitatory); a circuit's synapse_class says so either way.
  for (const name of ["e", "L5_TPC:A", "L6_IPC", "L6_BPC", "L4_SSC", "e4Rorb", "EXC"]) assert.equal(classOf(name), "E", name);
  for (const name of ["extrinsic_neuron", "VPM", "POm", "tON"]) assert.equal(classOf(name), "X", name);
  const zero = { E: 0, I: 0, X: 0, unknown: 0 };
  const rows = classifyValues([
    { value: "L5_TPC", counts: { ...zero, I: 3 }, basis: "synapse_class" }, // the circuit wins over the name
    { value: "6", counts: { ...zero, E: 4, I: 6 }, basis: "synapse_class" },
    { value: "L23_CHC", counts: { ...zero, unknown: 5 }, basis: null },
  ]);
  assert.deepEqual(rows.map((r) => [r.value, r.cls, r.guessed, r.mixed]), [["L5_TPC", "I", false, false], ["6", "I", false, true], ["L23_CHC", "I", true, false]]);
  const preset = { src_types: ["EXC", "INH"], tgt_types: ["EXC", "INH"], prop_stats: { syn_type_id: {
    EXC: { EXC: { type: "constant", mean: 113 }, INH: { type: "constant", mean: 113 } }, INH: { EXC: { type: "constant", mean: 7 }, INH: { type: "constant", mean: 7 } } } } };
  const mapped = mapPreset(preset, ["a", "b"], "mtype", { a: "I", b: "X" });
  assert.equal(mapped.pathway_param_dict.prop_stats.syn_type_id.a.b.mean, 7, "the given class, not the name");
  assert.equal(mapped.pathway_param_dict.prop_stats.syn_type_id.b.a.mean, 113, "extrinsic takes the excitatory values");
  // As rules (the core's presetRules): each value's and population's class as one of the preset's types.
  assert.equal(hasRulesForm(preset), true);
  assert.equal(hasRulesForm({ ...preset, prop_cov: { props: ["a", "b"], cov: {} } }), false, "prop_cov: the matrix");
  const sides = { source: { values: ["a", "b", "c"], populations: ["VPM"] }, target: { values: ["a", "b"], populations: [] } };
  assert.deepEqual(presetMapping(preset, "mtype", { a: "I", b: "X" }, { VPM: "X" }, sides), {
    pathway_property: "mtype", values: { a: "INH", b: "EXC" }, populations: { VPM: "EXC" },
    source: { values: ["a", "b"], populations: ["VPM"] }, target: { values: ["a", "b"], populations: [] },
  });
  const withExtrinsic = { ...preset, src_types: ["EXC", "INH", "extrinsic_neuron"], tgt_types: ["EXC", "INH", "extrinsic_neuron"] };
  assert.deepEqual(presetMapping(withExtrinsic, "mtype", { b: "X" }).values, { b: "extrinsic_neuron" }, "X takes the preset's extrinsic type where it has one");
  assert.equal(presetMapping({ ...preset, tgt_types: ["INH"] }, "mtype", { a: "E" }), null, "no one type per value: the matrix");
});

test("the model's history: undo and redo, typing coalesced, a new change drops the redo branch", () => {
  let clock = 0;
  const history = createHistory("a", { now: () => clock });
  assert.equal(history.undo(), null, "nothing to undo yet");
  history.record("ab", { coalesce: true });
  clock += 100;
  history.record("abc", { coalesce: true }); // typing: one step
  clock += 5000;
  history.record("preset");
  assert.equal(history.undo(), "abc");
  assert.equal(history.undo(), "a", "the typed characters were one step");
  assert.equal(history.redo(), "abc");
  history.record("other");
  assert.equal(history.canRedo, false, "a new change drops what could be redone");
  assert.equal(history.undo(), "abc");
});

test("a link's state round-trips, and a damaged one is refused, not half read", async () => {
  const state = { config: JSON.stringify({ random_seed: 5, note: "é ✓ <b>" }), settings: { seed: "18446744073709551615", pathwayProperty: "mtype" } };
  assert.deepEqual(await decodeState(await encodeState(state)), state);
  for (const bad of ["AAAA", "", "!!!", (await encodeState(state)).slice(0, 10)]) assert.equal(await decodeState(bad), null, bad);
});

test("figures: a shared x range over pathways, count ticks that fit the margin, subtitles with the independent draws", () => {
  const pathway = (edges) => ({ histogram: { edges } });
  assert.deepEqual(sharedDomain([pathway([0, 1, 2]), pathway([-1, 0.5, 1.5])]), [-1, 2]);
  assert.deepEqual(sharedDomain([pathway([3, 3])]), [2, 4], "a point widens");
  assert.equal(countTick(100000), "100k");
  assert.equal(countTick(1250000), "1.25M");
  assert.equal(countTick(12000), "12k");
  assert.equal(countTick(950), "950");
  const shared = { count: 120, min: 0.1, max: 3, shared_within: true, formula: "gamma: mean 1, std 0.5", goodness_of_fit: { test: "chi2", draws: 23, statistic: 3.2, degrees_of_freedom: 3, p_value: 0.3617 } };
  assert.equal(pathwaySubtitle(shared, 23), "120 synapses, 23 connections — 23 independent draws; χ² p = 0.36 (23 draws, 3 df); gamma: mean 1, std 0.5");
  assert.equal(pathwaySubtitle({ ...shared, goodness_of_fit: null }, 23), "120 synapses, 23 connections — 23 independent draws; no fit test (too few independent draws); gamma: mean 1, std 0.5");
  assert.equal(pathwaySubtitle({ ...shared, shared_within: false, goodness_of_fit: null }, 23), "120 synapses, 23 connections — 120 independent draws; no fit test (too few independent draws); gamma: mean 1, std 0.5");
});

test("reproduction: every setting explicit, shell words quoted, Python literals", async () => {
  const { reproduction, shellWord } = await import("../../www/ui/reproduce.js");
  assert.equal(shellWord("L5_TPC:A"), "L5_TPC:A");
  assert.equal(shellWord("it's a b"), "'it'\\''s a b'");
  assert.equal(shellWord("$HOME"), "'$HOME'");
  const { command, python } = reproduction({ settings: { seed: "18446744073709551615", pathwayProperty: "mtype", fallback: "E'x", overwrite: false, populations: ["a", "b c"] }, strict: true });
  assert.equal(command, "npx synparam --circuit circuit/circuit_config.json --config model.json --out parameterized --seed 18446744073709551615 --pathway-property mtype --fallback-value 'E'\\''x' --populations 'a,b c' --strict");
  assert.equal(python, 'from synparam.dask import parameterize_circuit\n\nparameterize_circuit("circuit/circuit_config.json", "model.json", "parameterized", seed=18446744073709551615, pathway_property="mtype", fallback="E\'x", overwrite=False, populations=["a", "b c"], strict=True)\n');
  const bare = reproduction({ settings: { seed: 1, pathwayProperty: null, fallback: null, overwrite: true, populations: null } });
  assert.equal(bare.command, "npx synparam --circuit circuit/circuit_config.json --config model.json --out parameterized --seed 1 --overwrite");
  // A fallback per node population: the JSON object, which --fallback-value and Python both read;
  // a value with "=" for every population likewise (as text it would read as POPULATION=VALUE).
  const perPopulation = reproduction({ settings: { seed: 1, pathwayProperty: null, fallback: { VPM: "EXC", "*": "INH" }, overwrite: false, populations: null } });
  assert.match(perPopulation.command, / --fallback-value '\{"VPM":"EXC","\*":"INH"\}'$/);
  assert.match(perPopulation.python, /fallback=\{"VPM":"EXC","\*":"INH"\}/);
  const withEquals = reproduction({ settings: { seed: 1, pathwayProperty: null, fallback: "a=b", overwrite: false, populations: null } });
  assert.match(withEquals.command, / --fallback-value '\{"\*":"a=b"\}'$/);
});

// Presets (www/presets/*.json) mapped onto the pathway values a circuit actually has: each value
// gets a class — excitatory (E), inhibitory (I) or extrinsic (X) — read from the circuit's own
// synapse_class / ei columns where it has them (the worker's `classes`), guessed from the name
// only where it does not (and then shown as a guess for the user to check). The preset then becomes
// rules (the core's presetRules): one class per pair of the preset's types ("EXC → INH"), rules
// selecting the values of each class by the pathway property and the node populations without it
// (virtual VPM, POm) by `@population` — as compact as the preset, whatever the number of values.
// A preset with prop_cov has no rules form: it is expanded into the matrix (`mapPreset`).

export const PRESETS = {
  seed_example: { label: "Seed example (conductance, syn_type_id)", file: "seed_example.json", source: "synparam's example model" },
  tsodyks_markram_by_class: {
    label: "Tsodyks–Markram by class (E→E, E→I, I→*)",
    file: "tsodyks_markram_by_class.json",
    source: "u_syn, depression and facilitation time: E→E class E2 (Markram et al. 1997 J Physiol; Wang et al. 2006 Nat Neurosci), " +
      "E→I class E1 and I→* class I2 (Gupta, Wang & Markram 2000 Science), as tabulated in Markram et al. 2015 Cell; decay_time AMPA " +
      "1.74 ± 0.18 ms and GABA_A 8.3 ± 2.2 ms (Markram et al. 2015); conductance, n_rrp_vesicles, delay: obi-one's defaults (the same for " +
      "every class — calibrate them per pathway)",
  },
  tsodyks_markram: { label: "Tsodyks–Markram (obi-one defaults: one set for E and I)", file: "tsodyks_markram.json", source: "obi-one's SynapseParameterization defaults; only syn_type_id differs between E and I" },
};

/** The class of a pathway value guessed from its name alone (INH, i, PV1, L23_CHC, L5_MC, L1_DAC
 * are I; extrinsic_neuron, VPM, POm are X; the rest E, e.g. BBP's L6_BPC, a bipolar pyramidal
 * cell) — only where the circuit does not say, and then shown as a guess. */
export function classOf(value) {
  if (/inh|interneuron|^i$|^i\d|pvalb|^pv\d*$|sst|vip|lamp5|htr3a|(^|_)(chc|btc|ngc|lbc|nbc|sbc|dbc|mc|dac|hac|lac|sac|slac|bp|ngc-da|ngc-sa)(_|$)/i.test(value)) return "I";
  if (/extrinsic|virtual|thalam|^vpm|^pom|^lgn|^t(on|off)/i.test(value)) return "X";
  return "E";
}

/**
 * The class of each value with how it was decided, from the worker's `classes` answer
 * (`[{value, counts, basis}]`): the circuit's majority class where it says (`guessed: false`,
 * `mixed` when its nodes disagree), else the name's class (`guessed: true`).
 */
export function classifyValues(tallies) {
  return tallies.map(({ value, counts, basis }) => {
    const known = ["E", "I", "X"].filter((c) => counts[c] > 0);
    if (!known.length) return { value, cls: classOf(value), guessed: true, basis: null, mixed: false, counts };
    const cls = known.reduce((best, c) => (counts[c] > counts[best] ? c : best));
    return { value, cls, guessed: false, basis, mixed: known.length > 1, counts };
  });
}

/** The preset's own type for a class (extrinsic falls back to excitatory). */
function presetType(types, cls) {
  const match = (c) => types.find((t) => classOf(t) === c);
  return match(cls) ?? match("E") ?? types[0];
}

/** Whether a preset can be written as rules (correlated properties, prop_cov, cannot). */
export function hasRulesForm(preset) {
  const model = preset.pathway_param_dict ?? preset;
  return !(model.prop_cov && Object.keys(model.prop_cov).length);
}

/**
 * The mapping the core's presetRules takes: each value's and each population's class ("E", "I",
 * "X") as one of the preset's types (X takes the preset's extrinsic type where it has one, else
 * its excitatory one), and the values and populations on each side of the edges (`sides`, from the
 * worker; absent: every one on both sides). Null when a class's type differs between the preset's
 * source and target types (no one type per value: then the preset is mapped as a matrix).
 */
export function presetMapping(preset, pathwayProperty, valueClasses, populationClasses = {}, sides = null) {
  const model = preset.pathway_param_dict ?? preset;
  const typeOf = (cls) => {
    const source = presetType(model.src_types, cls);
    return source === presetType(model.tgt_types, cls) ? source : null;
  };
  const types = (classes) => Object.fromEntries(Object.entries(classes).map(([name, cls]) => [name, typeOf(cls)]));
  const values = types(valueClasses);
  const populations = types(populationClasses);
  if ([...Object.values(values), ...Object.values(populations)].includes(null)) return null;
  const mapping = { pathway_property: pathwayProperty, values, populations };
  if (sides) {
    for (const side of ["source", "target"]) {
      mapping[side] = { values: sides[side].values.filter((v) => Object.hasOwn(values, v)), populations: sides[side].populations.filter((p) => Object.hasOwn(populations, p)) };
    }
  }
  return mapping;
}

/** A task config: the preset's model over `values` of `pathwayProperty`, each value taking the
 * class `classes[value]` ("E", "I", "X"; by its name where not given), keeping the preset's seed. */
export function mapPreset(preset, values, pathwayProperty, classes = {}) {
  const task = preset.pathway_param_dict ? preset : { pathway_param_dict: preset };
  const model = task.pathway_param_dict;
  const classFor = (value) => classes[value] ?? classOf(value);
  const src = (value) => presetType(model.src_types, classFor(value));
  const tgt = (value) => presetType(model.tgt_types, classFor(value));
  const propStats = {};
  for (const [property, bySource] of Object.entries(model.prop_stats)) {
    propStats[property] = Object.fromEntries(values.map((source) => [source, Object.fromEntries(values.map((target) =>
      [target, structuredClone(bySource[src(source)][tgt(target)])]))]));
  }
  const mapped = { ...task, pathway_property: pathwayProperty, pathway_param_dict: { src_types: values, tgt_types: values, prop_stats: propStats } };
  if (model.prop_cov && Object.keys(model.prop_cov).length) {
    const cov = Object.fromEntries(values.map((s) => [s, Object.fromEntries(values.map((t) => [t, model.prop_cov.cov[src(s)][tgt(t)]]))]));
    mapped.pathway_param_dict.prop_cov = { props: model.prop_cov.props, cov };
  }
  mapped.random_seed ??= 1;
  return mapped;
}

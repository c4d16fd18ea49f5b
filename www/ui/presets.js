// Presets (www/presets/*.json) mapped onto the pathway values a circuit actually has: each value is
// classified as excitatory, inhibitory or extrinsic by its name, and each pathway takes the
// preset's spec for the matching classes.

export const PRESETS = {
  seed_example: { label: "Seed example (conductance, syn_type_id)", file: "seed_example.json" },
  tsodyks_markram: { label: "Tsodyks–Markram (E/I)", file: "tsodyks_markram.json" },
};

/** "I", "X" or "E" for a pathway value such as INH, inhibitory_neuron, extrinsic_neuron, L5_TPC. */
export function classOf(value) {
  if (/inh|interneuron/i.test(value)) return "I";
  if (/extrinsic|virtual|thalam|vpm|pom/i.test(value)) return "X";
  return "E";
}

/** The preset's own type for a class (extrinsic falls back to excitatory). */
function presetType(types, cls) {
  const match = (c) => types.find((t) => classOf(t) === c);
  return match(cls) ?? match("E") ?? types[0];
}

/** A task config: the preset's model over `values` of `pathwayProperty`, keeping its seed. */
export function mapPreset(preset, values, pathwayProperty) {
  const task = preset.pathway_param_dict ? preset : { pathway_param_dict: preset };
  const model = task.pathway_param_dict;
  const propStats = {};
  for (const [property, bySource] of Object.entries(model.prop_stats)) {
    propStats[property] = Object.fromEntries(values.map((source) => [source, Object.fromEntries(values.map((target) =>
      [target, structuredClone(bySource[presetType(model.src_types, classOf(source))][presetType(model.tgt_types, classOf(target))])]))]));
  }
  const mapped = { ...task, pathway_property: pathwayProperty, pathway_param_dict: { src_types: values, tgt_types: values, prop_stats: propStats } };
  if (model.prop_cov && Object.keys(model.prop_cov).length) {
    const cov = Object.fromEntries(values.map((s) => [s, Object.fromEntries(values.map((t) =>
      [t, model.prop_cov.cov[presetType(model.src_types, classOf(s))][presetType(model.tgt_types, classOf(t))]]))]));
    mapped.pathway_param_dict.prop_cov = { props: model.prop_cov.props, cov };
  }
  mapped.random_seed ??= 1;
  return mapped;
}

//! Presets by class as rules (issue 24, "compact models stay compact"): a class-level preset mapped
//! onto a circuit's pathway values and onto node populations lacking the pathway property becomes
//! a few rules — one class per preset pair, named "EXC → INH" — that compile, for the circuit, to
//! the same spec per synapse as the dense matrix the page used to write, and cover the virtual
//! populations' synapses too.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use synparam::rules::{
    compile, parse_rules, preset_to_rules, EdgePopulationNodes, NodeTable, PresetMapping, PresetSide,
};

const PRESET: &str = include_str!("../www/presets/tsodyks_markram_by_class.json");
const SEED_EXAMPLE: &str = include_str!("../www/presets/seed_example.json");

/// BBP's 37 somatosensory mtypes (as tests/fixtures/make_cortex.py), each with its class.
const MTYPES: [&str; 37] = [
    "L1_DAC",
    "L1_HAC",
    "L1_NGC-DA",
    "L1_SAC",
    "L23_BP",
    "L23_BTC",
    "L23_CHC",
    "L23_DBC",
    "L23_LBC",
    "L23_MC",
    "L23_NBC",
    "L2_IPC",
    "L2_TPC:A",
    "L2_TPC:B",
    "L3_TPC:A",
    "L3_TPC:C",
    "L4_BTC",
    "L4_LBC",
    "L4_MC",
    "L4_SSC",
    "L4_TPC",
    "L4_UPC",
    "L5_BTC",
    "L5_CHC",
    "L5_LBC",
    "L5_MC",
    "L5_NBC",
    "L5_TPC:A",
    "L5_TPC:B",
    "L5_TPC:C",
    "L5_UPC",
    "L6_BPC",
    "L6_HPC",
    "L6_IPC",
    "L6_LBC",
    "L6_MC",
    "L6_TPC:A",
];

fn type_of(mtype: &str) -> &'static str {
    let kind = mtype.split('_').nth(1).unwrap().split(':').next().unwrap();
    if ["TPC", "SSC", "IPC", "HPC", "BPC", "UPC"].contains(&kind) {
        "EXC"
    } else {
        "INH"
    }
}

fn mapping() -> PresetMapping {
    PresetMapping {
        pathway_property: "mtype".into(),
        values: MTYPES.iter().map(|m| (m.to_string(), type_of(m).to_string())).collect(),
        populations: [("VPM", "EXC"), ("POm", "EXC")].iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
        source: None,
        target: None,
    }
}

/// The S1 population (each mtype 3 times) and the virtual VPM and POm (no mtype), with edges from
/// every population to S1: every source × target pair once.
fn circuit() -> Vec<EdgePopulationNodes> {
    let s1_mtypes: Vec<Option<String>> =
        (0..MTYPES.len() * 3).map(|i| Some(MTYPES[i % MTYPES.len()].to_string())).collect();
    let s1 = NodeTable {
        population: "S1".into(),
        size: s1_mtypes.len(),
        columns: HashMap::from([("mtype".to_string(), s1_mtypes)]),
    };
    let virtual_table = |name: &str, size: usize| NodeTable {
        population: name.into(),
        size,
        columns: HashMap::from([("model_type".to_string(), vec![Some("virtual".to_string()); size])]),
    };
    let all_pairs = |n_source: usize, n_target: usize| {
        let mut ids = (Vec::new(), Vec::new());
        for s in 0..n_source as u64 {
            for t in 0..n_target as u64 {
                ids.0.push(s);
                ids.1.push(t);
            }
        }
        ids
    };
    vec![
        EdgePopulationNodes {
            name: "S1__S1".into(),
            source: s1.clone(),
            target: s1.clone(),
            edges: Some(all_pairs(s1.size, s1.size)),
        },
        EdgePopulationNodes {
            name: "VPM__S1".into(),
            source: virtual_table("VPM", 4),
            target: s1.clone(),
            edges: Some(all_pairs(4, s1.size)),
        },
        EdgePopulationNodes {
            name: "POm__S1".into(),
            source: virtual_table("POm", 3),
            target: s1.clone(),
            edges: Some(all_pairs(3, s1.size)),
        },
    ]
}

fn preset_spec(property: &str, source: &str, target: &str) -> Value {
    let preset: Value = serde_json::from_str(PRESET).unwrap();
    preset["prop_stats"][property][source][target].clone()
}

#[test]
fn a_class_preset_on_37_mtypes_and_virtual_populations_is_a_few_named_rules() {
    let sides = |populations: &[&str]| {
        Some(PresetSide {
            values: MTYPES.iter().map(|m| m.to_string()).collect(),
            populations: populations.iter().map(|p| p.to_string()).collect(),
        })
    };
    let mapping = PresetMapping { source: sides(&["VPM", "POm"]), target: sides(&[]), ..mapping() };
    let rules = preset_to_rules(PRESET, &mapping).unwrap();
    assert_eq!(rules["rules_version"], 1);
    assert!(rules.get("random_seed").is_none(), "the preset has no seed, the rules none either");
    let classes: Vec<&str> = rules["classes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(classes, ["EXC → EXC", "EXC → INH", "INH → EXC", "INH → INH"]);
    // The class holds the preset's own specs for its pair, every property.
    let e_to_i = &rules["classes"][1]["props"];
    assert_eq!(e_to_i.as_object().unwrap().len(), 10);
    assert_eq!(e_to_i["u_syn"], preset_spec("u_syn", "EXC", "INH"));
    // Populations without mtype first (later rules win for any of their nodes that has a value),
    // source side only (they are no target here); then the values by mtype.
    let names: Vec<&str> = rules["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["POm, VPM (EXC) → EXC", "POm, VPM (EXC) → INH", "EXC → EXC", "EXC → INH", "INH → EXC", "INH → INH"]
    );
    assert_eq!(rules["rules"][0]["source"], serde_json::json!({"@population": ["POm", "VPM"]}));
    assert_eq!(rules["rules"][0]["class"], "EXC → EXC");
    let excitatory: Vec<&str> = MTYPES.iter().copied().filter(|m| type_of(m) == "EXC").collect();
    assert_eq!(rules["rules"][3]["source"]["mtype"], serde_json::json!(excitatory));
    // Compact: the whole model is a few kilobytes (the dense 38 × 38 × 10 matrix was 2.2 MB).
    let text = serde_json::to_string_pretty(&rules).unwrap();
    assert!(text.len() < 12_000, "{} bytes", text.len());

    // It compiles for the circuit, strictly too (no value or population named that a side lacks),
    // covering every synapse, the virtual populations' too.
    let parsed = parse_rules(&text).unwrap();
    let compiled = compile(&parsed, &circuit(), true).unwrap();
    let explain = &compiled.explain;
    assert!(explain.rules_matching_nothing.is_empty());
    let total: u64 = explain.pathways.iter().map(|p| p.synapses.unwrap_or(0)).sum();
    let s1 = MTYPES.len() as u64 * 3;
    assert_eq!(total, s1 * s1 + 7 * s1, "every synapse of the three edge populations");
    assert!(explain.rules.iter().all(|r| r.pathways > 0 && !r.shadowed), "every rule wins somewhere");
}

/// Per synapse, the compiled rules give the spec the dense matrix gave: the preset's spec for the
/// source's and target's types.
#[test]
fn the_rules_compile_to_the_matrix_spec_of_every_synapse() {
    let rules = preset_to_rules(PRESET, &mapping()).unwrap();
    let populations = circuit();
    let compiled = compile(&parse_rules(&rules.to_string()).unwrap(), &populations, false).unwrap();
    let types: BTreeMap<&str, &str> = MTYPES.iter().map(|m| (*m, type_of(m))).collect();
    for (population, pathways) in populations.iter().zip(&compiled.populations) {
        let (sources, targets) = population.edges.as_ref().unwrap();
        for (&s, &t) in sources.iter().zip(targets).step_by(97) {
            let node_type = |table: &NodeTable, id: u64| match table.columns.get("mtype") {
                Some(column) => types[column[id as usize].as_deref().unwrap()],
                None => "EXC", // VPM, POm
            };
            let (source_type, target_type) = (node_type(&population.source, s), node_type(&population.target, t));
            let (source_value, target_value) = (&pathways.source[s as usize], &pathways.target[t as usize]);
            for property in ["u_syn", "decay_time", "syn_type_id", "conductance"] {
                assert_eq!(
                    compiled.model["prop_stats"][property][source_value][target_value],
                    preset_spec(property, source_type, target_type),
                    "{}: {property} of {source_value} → {target_value}",
                    population.name
                );
            }
        }
    }
}

#[test]
fn the_seed_and_overwrite_of_a_task_preset_are_kept_and_its_own_types_named() {
    let mapping = PresetMapping {
        pathway_property: "synapse_class".into(),
        values: [("EXC", "excitatory_neuron"), ("INH", "inhibitory_neuron")]
            .iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect(),
        populations: BTreeMap::from([("thalamus".to_string(), "extrinsic_neuron".to_string())]),
        ..PresetMapping::default()
    };
    let rules = preset_to_rules(SEED_EXAMPLE, &mapping).unwrap();
    assert_eq!(rules["random_seed"], 1);
    assert_eq!(rules["overwrite_if_exists"], false);
    let names: Vec<&str> = rules["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"excitatory_neuron → inhibitory_neuron"), "{names:?}");
    assert!(names.contains(&"thalamus (extrinsic_neuron) → excitatory_neuron"), "{names:?}");
    assert!(names.contains(&"thalamus (extrinsic_neuron) → thalamus (extrinsic_neuron)"), "{names:?}");
    parse_rules(&rules.to_string()).unwrap();
}

#[test]
fn what_has_no_rules_form_or_no_type_is_refused_naming_it() {
    let mut with_cov: Value = serde_json::from_str(PRESET).unwrap();
    with_cov["prop_cov"] = serde_json::json!({"props": ["u_syn", "decay_time"], "cov": {
        "EXC": {"EXC": [[1, 0], [0, 1]], "INH": [[1, 0], [0, 1]]}, "INH": {"EXC": [[1, 0], [0, 1]], "INH": [[1, 0], [0, 1]]}}});
    let error = preset_to_rules(&with_cov.to_string(), &mapping()).unwrap_err().to_string();
    assert!(error.contains("prop_cov") && error.contains("no rules form"), "{error}");

    let mut wrong = mapping();
    wrong.values.insert("L5_TPC:A".into(), "E".into());
    let error = preset_to_rules(PRESET, &wrong).unwrap_err().to_string();
    assert!(
        error.contains("values.L5_TPC:A") && error.contains("'E' is not a source type of the preset (EXC, INH)"),
        "{error}"
    );

    let empty = PresetMapping { pathway_property: "mtype".into(), ..PresetMapping::default() };
    assert!(preset_to_rules(PRESET, &empty).unwrap_err().to_string().contains("no pathway value"));
}

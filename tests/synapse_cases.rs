//! Parameters that depend on where a synapse sits (design §2.7): `by_synapse` specs (cases over a
//! synapse's own attributes, the first that holds wins, `otherwise` for the rest) and rules that
//! select synapses by their attributes (`"synapse": {…}`, compiled into `by_synapse`, later rules
//! first). Each alternative draws from the synapse's keyed stream, so a synapse a case does not
//! select keeps the bits the plain spec gives it.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use synparam::attributes::SomaPositions;
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::rules::{compile, parse_rules as read_rules, EdgePopulationNodes, NodeTable};
use synparam::Parameterizer;

const NODES: usize = 40;

fn nodes() -> PathwayColumn {
    let values: Vec<Option<&str>> = (0..NODES).map(|i| Some(if i % 4 == 3 { "INH" } else { "EXC" })).collect();
    PathwayColumn::from_values("cells", &values)
}

/// Edges with, per synapse, a SONATA section type (1 soma … 4 apical) and a position along the
/// section.
struct Edges {
    chunk: EdgeChunk,
    section_type: Vec<f64>,
    section_pos: Vec<f64>,
}

fn edges() -> Edges {
    let mut out = Edges { chunk: EdgeChunk::default(), section_type: Vec::new(), section_pos: Vec::new() };
    let mut edge = 0u64;
    for target in 0..NODES as u64 {
        for k in 0..3u64 {
            let source = (target * 7 + k * 11 + 1) % NODES as u64;
            for _ in 0..(k + 1) {
                out.chunk.source.push(source);
                out.chunk.target.push(target);
                out.chunk.edge_id.push(edge);
                out.section_type.push((1 + edge % 4) as f64);
                out.section_pos.push((edge % 10) as f64 / 10.0);
                edge += 1;
            }
        }
    }
    out
}

fn gamma() -> Value {
    json!({"type": "gamma", "mean": 1.0, "std": 0.3, "shared_within": false})
}

/// The same spec for all four pathways.
fn model_with(conductance: Value) -> String {
    let by_target = json!({"EXC": conductance.clone(), "INH": conductance});
    json!({"src_types": ["EXC", "INH"], "tgt_types": ["EXC", "INH"],
           "prop_stats": {"conductance": {"EXC": by_target.clone(), "INH": by_target}}})
    .to_string()
}

/// conductance per edge id, drawn with the attribute columns the run plans.
fn draw(model: &str) -> Result<Vec<f64>, String> {
    draw_for(model, nodes(), nodes())
}

/// [`draw`] with the nodes' pathway values given (those of compiled rules).
fn draw_for(model: &str, sources: PathwayColumn, targets: PathwayColumn) -> Result<Vec<f64>, String> {
    let all = edges();
    let mut run = Parameterizer::new(model, Some(9)).map_err(|e| e.to_string())?;
    run.add_edge_population("pop", sources, targets, "synapse_class", None).map_err(|e| e.to_string())?;
    let reads = run
        .plan_edge_attributes("pop", &["afferent_section_type", "afferent_section_pos"])
        .map_err(|e| e.to_string())?;
    let columns: Vec<&[f64]> = reads
        .datasets
        .iter()
        .map(|d| if d == "afferent_section_type" { all.section_type.as_slice() } else { all.section_pos.as_slice() })
        .collect();
    let result = run.run_chunk_with_attributes("pop", &all.chunk, &columns).map_err(|e| e.to_string())?;
    Ok(result.properties[0].values.clone())
}

#[test]
fn the_first_case_that_holds_wins_and_the_rest_keep_their_keyed_bits() {
    let all = edges();
    let by_synapse = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["apical"]}, "spec": {"type": "constant", "mean": 2.0}},
        {"where": {"afferent_section_type": [3, 4], "afferent_section_pos": {"min": 0.5}}, "spec": {"type": "constant", "mean": 1.0}}
    ], "otherwise": gamma()});
    let drawn = draw(&model_with(by_synapse)).unwrap();
    let plain = draw(&model_with(gamma())).unwrap();
    let (mut apical, mut far_basal, mut rest) = (0, 0, 0);
    for (i, &value) in drawn.iter().enumerate() {
        let (section, pos) = (all.section_type[i], all.section_pos[i]);
        if section == 4.0 {
            assert_eq!(value, 2.0, "edge {i}: apical (the first case wins even where the second holds too)");
            apical += 1;
        } else if section == 3.0 && pos >= 0.5 {
            assert_eq!(value, 1.0, "edge {i}: basal beyond half the section");
            far_basal += 1;
        } else {
            assert_eq!(value.to_bits(), plain[i].to_bits(), "edge {i}: otherwise draws what the plain spec draws");
            rest += 1;
        }
    }
    assert!(apical > 10 && far_basal > 5 && rest > 10, "{apical} {far_basal} {rest}");
}

#[test]
fn a_synapse_no_case_selects_is_named_when_there_is_no_otherwise() {
    let spec = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["basal", "apical"]}, "spec": {"type": "constant", "mean": 1.0}}]});
    let error = draw(&model_with(spec)).unwrap_err();
    // Edge 0 has section type 1 (soma).
    assert!(
        error.contains("edge 0 (EXC → EXC, afferent_section_type = 1) matches no case of property 'conductance'"),
        "{error}"
    );
}

#[test]
fn section_names_refuse_a_file_that_numbers_section_types_from_zero() {
    let spec = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["soma"]}, "spec": {"type": "constant", "mean": 1.0}}], "otherwise": gamma()});
    let all = edges();
    let mut run = Parameterizer::new(&model_with(spec), Some(9)).unwrap();
    run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
    run.plan_edge_attributes("pop", &["afferent_section_type"]).unwrap();
    let zero_based: Vec<f64> = all.section_type.iter().map(|t| t - 1.0).collect();
    let error = run.run_chunk_with_attributes("pop", &all.chunk, &[&zero_based]).unwrap_err().to_string();
    assert!(error.contains("edge 0 has section type 0: this file numbers section types from 0"), "{error}");
}

#[test]
fn bad_by_synapse_specs_are_refused_at_their_path() {
    let error = |spec: Value| Parameterizer::new(&model_with(spec), Some(1)).err().expect("refused").to_string();
    let case =
        |spec: Value| json!({"type": "by_synapse", "cases": [{"where": {"afferent_section_type": [4]}, "spec": spec}]});
    assert!(error(case(json!({"type": "lin_delay", "delay_mean_coeff_a": 1, "delay_mean_coeff_b": 0.01, "delay_std": 0.1, "delay_min": 0.1, "shared_within": true})))
        .contains("prop_stats.conductance.EXC.EXC.cases[0].spec.shared_within: lin_delay depends on each synapse's distance_soma"));
    assert!(
        error(case(json!({"type": "by_synapse", "cases": []}))).contains("cases[0].spec.type: by_synapse cannot nest")
    );
    assert!(error(json!({"type": "by_synapse", "cases": []}))
        .contains("conductance.EXC.EXC.cases: must be a non-empty list"));
    assert!(error(
        json!({"type": "by_synapse", "cases": [{"where": {"afferent_section_type": ["dendrite"]}, "spec": gamma()}]})
    )
    .contains("cases[0].where.afferent_section_type: unknown section type 'dendrite'"));
    assert!(error(json!({"type": "by_synapse", "cases": [{"when": {}, "spec": gamma()}]})).contains("cases[0].when"));
    assert!(error(json!({"type": "by_synapse", "cases": [{"where": {"afferent_section_type": [4]}, "spec": gamma()}], "default": gamma()}))
        .contains("default"));
    // The laws of distance_soma list the keys they take (no shift, no truncate).
    let unknown = error(
        json!({"type": "fz_delay", "neural_transmitter_release_delay": 0.1, "axonal_conduction_velocity": 300, "foo": 1}),
    );
    assert!(unknown.contains("unknown key for a fz_delay spec (allowed: neural_transmitter_release_delay, axonal_conduction_velocity, shared_within"), "{unknown}");
    assert!(!unknown.contains("truncate") && !unknown.contains("shift"), "{unknown}");
    // A correlated property cannot depend on a synapse's attributes.
    let mut model: Value = serde_json::from_str(&model_with(case(gamma()))).unwrap();
    model["prop_stats"]["u_syn"] =
        serde_json::from_str::<Value>(&model_with(gamma())).unwrap()["prop_stats"]["conductance"].clone();
    model["prop_cov"] = json!({"props": ["conductance", "u_syn"], "cov": {
        "EXC": {"EXC": [[1, 0.5], [0.5, 1]], "INH": [[1, 0.5], [0.5, 1]]}, "INH": {"EXC": [[1, 0.5], [0.5, 1]], "INH": [[1, 0.5], [0.5, 1]]}}});
    let error = Parameterizer::new(&model.to_string(), Some(1)).err().expect("refused").to_string();
    assert!(error.contains("cannot be in prop_cov"), "{error}");
}

#[test]
fn the_model_reads_the_attributes_of_every_case_and_says_how_it_draws() {
    let spec = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["apical"]}, "spec": {"type": "constant", "mean": 2.0}},
        {"where": {"distance_soma": {"max": 150}}, "spec": gamma()}], "otherwise": {"type": "constant", "mean": 0.5}});
    let run = Parameterizer::new(&model_with(spec), Some(1)).unwrap();
    assert_eq!(run.required_edge_attributes(), ["afferent_section_type", "distance_soma"]);
}

fn node_table(population: &str) -> NodeTable {
    let classes: Vec<Option<String>> =
        (0..NODES).map(|i| Some(if i % 4 == 3 { "INH" } else { "EXC" }.to_string())).collect();
    NodeTable {
        population: population.to_string(),
        columns: [("synapse_class".to_string(), classes)].into(),
        size: NODES,
    }
}

/// `text`'s rules compiled for the test population's nodes.
fn compiled(text: &str) -> synparam::rules::CompiledRules {
    let populations = [EdgePopulationNodes {
        name: "pop".into(),
        source: node_table("cells"),
        target: node_table("cells"),
        edges: None,
    }];
    compile(&read_rules(text).unwrap(), &populations, false).unwrap()
}

/// conductance per edge id under compiled rules (their model, their nodes' pathway values).
fn draw_compiled(compiled: &synparam::rules::CompiledRules) -> Result<Vec<f64>, String> {
    let model = json!({"src_types": compiled.model["src_types"], "tgt_types": compiled.model["tgt_types"], "prop_stats": compiled.model["prop_stats"]}).to_string();
    let column = |values: &[String]| {
        let values: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
        PathwayColumn::from_values("cells", &values)
    };
    draw_for(&model, column(&compiled.populations[0].source), column(&compiled.populations[0].target))
}

/// Rules: a default, a later rule for apical synapses of E→I, a rule for the proximal part of
/// every section after it.
fn rules() -> String {
    json!({"rules_version": 1, "rules": [
        {"name": "default", "assign": {"conductance": gamma()}},
        {"name": "apical E→I", "source": {"synapse_class": "EXC"}, "target": {"synapse_class": "INH"},
         "synapse": {"afferent_section_type": ["apical"]}, "assign": {"conductance": {"type": "constant", "mean": 3.0}}},
        {"name": "proximal", "synapse": {"afferent_section_pos": {"max": 0.2}}, "assign": {"conductance": {"type": "constant", "mean": 0.1}}}
    ]})
    .to_string()
}

#[test]
fn rules_select_synapses_by_attribute_with_the_last_match_winning() {
    let ruleset = read_rules(&rules()).unwrap();
    let populations = [EdgePopulationNodes {
        name: "pop".into(),
        source: node_table("cells"),
        target: node_table("cells"),
        edges: None,
    }];
    let compiled = compile(&ruleset, &populations, false).unwrap();
    let e_i = &compiled.model["prop_stats"]["conductance"]["EXC"]["INH"];
    assert_eq!(
        *e_i,
        json!({"type": "by_synapse", "cases": [
            {"where": {"afferent_section_pos": {"max": 0.2}}, "spec": {"type": "constant", "mean": 0.1}},
            {"where": {"afferent_section_type": ["apical"]}, "spec": {"type": "constant", "mean": 3.0}}],
            "otherwise": gamma()})
    );
    let pathway = compiled.explain.pathways.iter().find(|p| p.source == "EXC" && p.target == "INH").unwrap();
    assert_eq!(
        pathway.winners[0].1.as_deref(),
        Some("rules[2] (proximal) where afferent_section_pos in [-inf, 0.2); rules[1] (apical E→I) where afferent_section_type in [\"apical\"]; else rules[0] (default)")
    );
    let apical = compiled.explain.rules.iter().find(|r| r.rule.contains("apical")).unwrap();
    assert_eq!(apical.pathways, 1);
    assert!(!apical.shadowed);
    // The compiled model runs: the proximal rule beats the apical one, the default takes the rest.
    let model = json!({"src_types": compiled.model["src_types"], "tgt_types": compiled.model["tgt_types"], "prop_stats": compiled.model["prop_stats"]}).to_string();
    let all = edges();
    let drawn = draw(&model).unwrap();
    let plain = draw(&model_with(gamma())).unwrap();
    for (i, &value) in drawn.iter().enumerate() {
        let (source, target) = (all.chunk.source[i] as usize, all.chunk.target[i] as usize);
        let e_to_i = source % 4 != 3 && target % 4 == 3;
        let expected = if all.section_pos[i] < 0.2 {
            0.1
        } else if e_to_i && all.section_type[i] == 4.0 {
            3.0
        } else {
            plain[i]
        };
        assert_eq!(value.to_bits(), expected.to_bits(), "edge {i}");
    }
    // The rules export keeps the conditions.
    assert_eq!(ruleset.to_rules_json()["rules"][1]["synapse"], json!({"afferent_section_type": ["apical"]}));
}

#[test]
fn a_conditional_rule_after_the_last_unconditional_one_is_not_shadowed_and_one_before_it_is() {
    let text = json!({"rules_version": 1, "rules": [
        {"name": "apical", "synapse": {"afferent_section_type": [4]}, "assign": {"conductance": {"type": "constant", "mean": 3.0}}},
        {"name": "all", "assign": {"conductance": gamma()}}]})
    .to_string();
    let compiled = compiled(&text);
    assert!(compiled.explain.rules[0].shadowed);
    let by_source = compiled.model["prop_stats"]["conductance"].as_object().unwrap();
    for by_target in by_source.values() {
        for spec in by_target.as_object().unwrap().values() {
            assert_eq!(*spec, gamma());
        }
    }
}

#[test]
fn only_conditional_rules_leave_other_synapses_to_fail_by_name() {
    let text = json!({"rules_version": 1, "rules": [
        {"name": "apical", "synapse": {"afferent_section_type": ["apical"]}, "assign": {"conductance": {"type": "constant", "mean": 3.0}}}]})
    .to_string();
    let compiled = compiled(&text);
    let error = draw_compiled(&compiled).unwrap_err();
    assert!(
        error.contains("edge 0 (all → all, afferent_section_type = 1) matches no case of property 'conductance'"),
        "{error}"
    );
    assert!(error.contains("nothing covers it (for rules: no rule without a synapse condition)"), "{error}");
}

#[test]
fn ranges_of_distance_split_a_pathway() {
    // Positions: every soma at the origin but node 0's, far away.
    let spec = json!({"type": "by_synapse", "cases": [
        {"where": {"distance_soma": {"max": 100}}, "spec": {"type": "constant", "mean": 1.0}},
        {"where": {"distance_soma": {"min": 100}}, "spec": {"type": "constant", "mean": 2.0}}]});
    let all = edges();
    let mut run = Parameterizer::new(&model_with(spec), Some(3)).unwrap();
    run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
    let reads =
        run.plan_edge_attributes("pop", &["afferent_center_x", "afferent_center_y", "afferent_center_z"]).unwrap();
    assert!(reads.source_positions);
    let mut x = vec![0.0; NODES];
    x[1] = 500.0;
    run.set_source_positions("pop", SomaPositions { x, y: vec![0.0; NODES], z: vec![0.0; NODES] }).unwrap();
    let n = all.chunk.len();
    let at_50: Vec<f64> = vec![50.0; n];
    let zero: Vec<f64> = vec![0.0; n];
    let columns: Vec<&[f64]> = reads
        .datasets
        .iter()
        .map(|d| if d == "afferent_center_x" { at_50.as_slice() } else { zero.as_slice() })
        .collect();
    let result = run.run_chunk_with_attributes("pop", &all.chunk, &columns).unwrap();
    for (i, &value) in result.properties[0].values.iter().enumerate() {
        let expected = if all.chunk.source[i] == 1 { 2.0 } else { 1.0 };
        assert_eq!(value, expected, "edge {i} from node {}", all.chunk.source[i]);
    }
}

/// A gamma drawn once per connection (the ConnPropsModel default).
fn shared_gamma() -> Value {
    json!({"type": "gamma", "mean": 1.0, "std": 0.3})
}

#[test]
fn alternatives_drawn_per_connection_share_one_value_among_the_synapses_they_take() {
    let all = edges();
    let spec = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["apical"]}, "spec": {"type": "gamma", "mean": 3.0, "std": 0.2}}],
        "otherwise": shared_gamma()});
    let drawn = draw(&model_with(spec)).unwrap();
    let plain = draw(&model_with(shared_gamma())).unwrap();
    let mut by_connection: std::collections::HashMap<(u64, u64, bool), f64> = Default::default();
    let mut shared = 0;
    for (i, &value) in drawn.iter().enumerate() {
        let apical = all.section_type[i] == 4.0;
        if !apical {
            assert_eq!(value.to_bits(), plain[i].to_bits(), "edge {i}: otherwise keeps the plain shared spec's value");
        }
        let key = (all.chunk.source[i], all.chunk.target[i], apical);
        match by_connection.get(&key) {
            Some(&first) => {
                assert_eq!(first.to_bits(), value.to_bits(), "edge {i}: one value per connection and alternative");
                shared += 1;
            }
            None => {
                by_connection.insert(key, value);
            }
        }
    }
    assert!(shared > 10, "connections with several synapses in one alternative: {shared}");
}

#[test]
fn a_conditional_rule_keeps_the_other_rules_one_draw_per_connection() {
    // The default is drawn per connection; a rule for apical synapses changes only those: every
    // other synapse keeps the value the rules without it give.
    let rules = |with_apical: bool| {
        let mut list = vec![json!({"name": "default", "assign": {"conductance": shared_gamma()}})];
        if with_apical {
            list.push(json!({"name": "apical", "synapse": {"afferent_section_type": ["apical"]},
                             "assign": {"conductance": {"type": "constant", "mean": 9.0}}}));
        }
        json!({"rules_version": 1, "rules": list}).to_string()
    };
    let run = |text: String| draw_compiled(&compiled(&text)).unwrap();
    let (with, without) = (run(rules(true)), run(rules(false)));
    let all = edges();
    for i in 0..with.len() {
        if all.section_type[i] == 4.0 {
            assert_eq!(with[i], 9.0, "edge {i}");
        } else {
            assert_eq!(with[i].to_bits(), without[i].to_bits(), "edge {i}: untouched by the apical rule");
        }
    }
}

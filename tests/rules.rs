//! Rules with precedence and BBP recipe import (issue 16): functionalizer's precedence (last
//! match wins) and globs on fz-td-recipe's own example, coverage errors, JSON and XML recipes
//! giving the same rules, functionalizer's laws per class, the rules export, and the compiled
//! model running in the engine with one draw per connection.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use serde_json::Value;
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::rules::{compile, parse_rules, EdgePopulationNodes, NodeTable};
use synparam::Parameterizer;

const RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recipes");

fn recipe(name: &str) -> String {
    std::fs::read_to_string(format!("{RECIPES}/{name}")).unwrap()
}

fn table(population: &str, columns: &[(&str, &[&str])]) -> NodeTable {
    let size = columns.first().map_or(0, |(_, values)| values.len());
    NodeTable {
        population: population.to_string(),
        columns: columns
            .iter()
            .map(|(name, values)| (name.to_string(), values.iter().map(|v| Some(v.to_string())).collect()))
            .collect::<HashMap<_, _>>(),
        size,
    }
}

/// fz-td-recipe's nodes: sources by mtype, targets by region.
fn precedence_nodes(edges: Option<(Vec<u64>, Vec<u64>)>) -> Vec<EdgePopulationNodes> {
    vec![EdgePopulationNodes {
        name: "pop".to_string(),
        source: table("src", &[("mtype", &["macron", "macaron", "macaroon"])]),
        target: table("dst", &[("region", &["foo", "bar", "spam", "ham"])]),
        edges,
    }]
}

/// The class index (syn_property_rule) drawn for each (target region, source mtype), or 3 where
/// no rule applies: fz-td-recipe's `matrify` layout.
fn class_matrix(compiled: &synparam::rules::CompiledRules) -> Vec<Vec<i64>> {
    let population = &compiled.populations[0];
    let rule_of = |source: &str, target: &str| -> i64 {
        let pathway = compiled.explain.pathways.iter().find(|p| p.source == source && p.target == target);
        match pathway
            .and_then(|p| p.winners.iter().find(|(name, _)| name == "syn_property_rule"))
            .and_then(|(_, r)| r.clone())
        {
            None => 3,
            Some(rule) => rule.trim_start_matches("synapse_properties.rules[").trim_end_matches(']').parse().unwrap(),
        }
    };
    (0..4).map(|t| (0..3).map(|s| rule_of(&population.source[s], &population.target[t])).collect()).collect()
}

#[test]
fn last_matching_rule_wins_with_fnmatch_globs_as_in_fz_td_recipe() {
    let rules = parse_rules(&recipe("fztd_precedence_example.json")).unwrap();
    // Every (source, target) pair except the three fz-td-recipe leaves uncovered.
    let uncovered = [(1, 2), (2, 2)];
    let (mut sources, mut targets) = (Vec::new(), Vec::new());
    for s in 0..3u64 {
        for t in 0..4u64 {
            if !uncovered.contains(&(s, t)) {
                sources.push(s);
                targets.push(t);
            }
        }
    }
    let compiled = compile(&rules, &precedence_nodes(Some((sources, targets))), false).unwrap();
    assert_eq!(class_matrix(&compiled), vec![vec![2, 2, 2], vec![2, 2, 2], vec![0, 3, 3], vec![1, 1, 1]]);
    // Nodes the rules do not tell apart share a pathway value: sources macron | macaron|macaroon,
    // targets bar|foo | spam | ham.
    assert_eq!(compiled.model["src_types"], serde_json::json!(["macron", "macaron|macaroon"]));
    assert_eq!(compiled.model["tgt_types"], serde_json::json!(["bar|foo", "spam", "ham"]));
    let report = &compiled.explain.rules;
    let synapses: Vec<u64> = report.iter().map(|r| r.synapses.unwrap()).collect();
    assert_eq!(synapses, [1, 3, 6]);
    assert!(report.iter().all(|r| !r.shadowed && !r.matches_nothing));
}

#[test]
fn a_pathway_with_synapses_that_no_rule_covers_is_an_error_naming_the_edge_and_its_nodes() {
    let rules = parse_rules(&recipe("fztd_precedence_example.json")).unwrap();
    let error = compile(&rules, &precedence_nodes(Some((vec![0, 1], vec![0, 2]))), false).unwrap_err();
    assert_eq!(error.path(), Some("rules"));
    let message = error.to_string();
    assert!(message.contains("edge 1 of 'pop'"), "{message}");
    assert!(message.contains("source node 1 of 'src': macaron"), "{message}");
    assert!(message.contains("target node 2 of 'dst': spam"), "{message}");
    // Without edges every pathway must be covered.
    let error = compile(&rules, &precedence_nodes(None), false).unwrap_err().to_string();
    assert!(error.contains("from macaron|macaroon to spam"), "{error}");
}

#[test]
fn json_and_xml_recipes_give_the_same_rules_and_functionalizers_laws() {
    let json = parse_rules(&recipe("fz_recipe_uhill.json")).unwrap();
    let xml = parse_rules(&recipe("fztd_synapse_properties_uhill_all.xml")).unwrap();
    assert_eq!((json.format, xml.format), ("bbp-recipe-json", "bbp-recipe-xml"));
    assert_eq!((json.seed, xml.seed), (Some(123), Some(123)));
    assert_eq!(json.classes, xml.classes);
    let selectors = |r: &synparam::rules::RuleSet| -> Vec<_> {
        r.rules.iter().map(|rule| (rule.source.clone(), rule.target.clone(), rule.class)).collect()
    };
    assert_eq!(selectors(&json), selectors(&xml));
    let e2 = json.classes.iter().position(|c| c.name == "E2").unwrap();
    let spec = |class: usize, property: &str| -> Value {
        json.classes[class].specs.iter().find(|(p, _)| p == property).unwrap().1.clone()
    };
    assert_eq!(e2, 1, "syn_property_rule is the class's position");
    assert_eq!(spec(e2, "conductance"), serde_json::json!({"type": "gamma", "mean": 0.3, "std": 0.2}));
    assert_eq!(spec(e2, "u_syn"), serde_json::json!({"type": "fz_truncnorm", "mean": 0.0, "std": 0.5}));
    assert_eq!(spec(e2, "n_rrp_vesicles"), serde_json::json!({"type": "fz_nrrp", "mean": 1.0}));
    assert_eq!(spec(e2, "syn_type_id"), serde_json::json!({"type": "constant", "mean": 100}));
    assert_eq!(spec(0, "syn_type_id"), serde_json::json!({"type": "constant", "mean": 0}));
    assert_eq!(spec(e2, "syn_property_rule"), serde_json::json!({"type": "constant", "mean": 1}));
    assert_eq!(spec(e2, "u_hill_coefficient"), serde_json::json!({"type": "constant", "mean": 2.79}));
    assert_eq!(json.unset[0].property, "delay");
}

fn two_class_nodes(n: usize) -> NodeTable {
    let classes: Vec<&str> = (0..n).map(|i| if i < n * 4 / 5 { "EXC" } else { "INH" }).collect();
    table("cells", &[("synapse_class", &classes)])
}

/// A network of `n` nodes whose connections have 1–5 synapses, in connection order.
fn network(n: u64, connections: u64) -> EdgeChunk {
    let mut chunk = EdgeChunk::default();
    for c in 0..connections {
        let (s, t) = ((c * 7919) % n, (c * 104_729 + 13) % n);
        for _ in 0..1 + c % 5 {
            chunk.edge_id.push(chunk.source.len() as u64);
            chunk.source.push(s);
            chunk.target.push(t);
        }
    }
    chunk
}

#[test]
fn a_compiled_recipe_runs_in_the_engine_one_draw_per_connection_with_its_classes() {
    let rules = parse_rules(&recipe("fz_recipe_uhill.json")).unwrap();
    let chunk = network(500, 3000);
    let nodes = two_class_nodes(500);
    let populations = [EdgePopulationNodes {
        name: "cells__cells".into(),
        source: nodes.clone(),
        target: nodes,
        edges: Some((chunk.source.clone(), chunk.target.clone())),
    }];
    let compiled = compile(&rules, &populations, false).unwrap();
    assert_eq!(compiled.model["src_types"], serde_json::json!(["EXC", "INH"]));
    let mut run = Parameterizer::new(&compiled.model.to_string(), compiled.seed).unwrap();
    let column =
        |values: &Vec<String>| PathwayColumn::from_values("cells", &values.iter().map(Some).collect::<Vec<_>>());
    let pathways = &compiled.populations[0];
    run.add_edge_population("cells__cells", column(&pathways.source), column(&pathways.target), "rules", None).unwrap();
    let result = run.run_chunk("cells__cells", &chunk).unwrap();
    let values = |name: &str| &result.properties.iter().find(|p| p.name == name).unwrap().values;
    for edge in 0..chunk.source.len() {
        let inhibitory_source = chunk.source[edge] >= 400;
        assert_eq!(values("syn_type_id")[edge], if inhibitory_source { 0.0 } else { 100.0 });
        assert_eq!(values("syn_property_rule")[edge], if inhibitory_source { 0.0 } else { 1.0 });
        // I2's nrrp 0 and E2's nrrp 1 both give exactly 1 vesicle in functionalizer.
        assert_eq!(values("n_rrp_vesicles")[edge], 1.0);
        if inhibitory_source {
            let u = values("u_syn")[edge];
            assert!((0.12..=0.38).contains(&u), "I2 u_syn {u} within 0.25 ± 0.13");
        }
        if edge > 0 && chunk.source[edge] == chunk.source[edge - 1] && chunk.target[edge] == chunk.target[edge - 1] {
            for name in ["conductance", "u_syn", "decay_time", "depression_time", "facilitation_time"] {
                assert_eq!(values(name)[edge], values(name)[edge - 1], "{name}: one draw per connection");
            }
        }
    }
    let synapses: u64 = compiled.explain.pathways.iter().map(|p| p.synapses.unwrap()).sum();
    assert_eq!(synapses, chunk.source.len() as u64);
}

#[test]
fn the_rules_export_reads_back_to_the_same_model() {
    let rules = parse_rules(&recipe("fz_recipe_uhill.json")).unwrap();
    let exported = rules.to_rules_json();
    let again = parse_rules(&exported.to_string()).unwrap();
    let nodes = two_class_nodes(50);
    let populations = [EdgePopulationNodes { name: "p".into(), source: nodes.clone(), target: nodes, edges: None }];
    assert_eq!(
        compile(&rules, &populations, false).unwrap().model,
        compile(&again, &populations, false).unwrap().model
    );
    assert_eq!(again.seed, Some(123));
}

#[test]
fn recipe_mistakes_functionalizer_passes_silently_are_errors_naming_their_place() {
    let base: Value = serde_json::from_str(&recipe("fz_recipe_uhill.json")).unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut recipe = base.clone();
        edit(&mut recipe);
        parse_rules(&recipe.to_string()).unwrap_err()
    };
    let error = with(&|r| r["synapse_properties"]["rules"][2]["class"] = "E9".into());
    assert_eq!(error.path(), Some("synapse_properties.rules[2].class"));
    assert!(error.to_string().contains("would drop these synapses"));
    let error = with(&|r| r["synapse_properties"]["classes"][1]["class"] = "I2".into());
    assert!(error.to_string().contains("defined twice"), "{error}");
    let error = with(&|r| {
        r["synapse_properties"]["classes"][1].as_object_mut().unwrap().remove("u_hill_coefficient");
    });
    assert_eq!(error.path(), Some("synapse_properties.classes[1].u_hill_coefficient"));
    let error = with(&|r| r["synapse_properties"]["classes"][0]["u_syn_mu"] = (-0.5).into());
    assert!(error.to_string().contains("never ends"), "{error}");
    let error = with(&|r| r["synapse_properties"]["classes"][0]["gsyn"] = 1.0.into());
    assert_eq!(error.path(), Some("synapse_properties.classes[0].gsyn"));
    let error = with(&|r| r["synapse_properties"]["rules"][0]["src_layer"] = "2".into());
    assert_eq!(error.path(), Some("synapse_properties.rules[0].src_layer"));
    // An exact value no node has (functionalizer: "untranslated values"), when compiled strictly.
    let rules = parse_rules(&recipe("fz_recipe_uhill.json")).unwrap();
    let nodes = table("cells", &[("synapse_class", &["EXC", "EXC"])]);
    let error = compile(
        &rules,
        &[EdgePopulationNodes { name: "p".into(), source: nodes.clone(), target: nodes, edges: None }],
        true,
    )
    .unwrap_err();
    assert!(error.to_string().contains("no source node has synapse_class 'INH'"), "{error}");
    // XML: a class no rule uses.
    let xml = recipe("fztd_synapse_properties_uhill_all.xml").replace("type=\"I2\"", "type=\"E2\"");
    let error = parse_rules(&xml).unwrap_err();
    assert!(error.to_string().contains("used by no rule"), "{error}");
}

#[test]
fn legacy_xml_reads_hemisphere_and_region_selectors_and_a_catch_all_rule() {
    let rules = parse_rules(&recipe("fztd_test_recipe_regions.xml")).unwrap();
    assert_eq!(rules.rules.len(), 3);
    assert!(rules.rules[0].source.terms.is_empty() && rules.rules[0].target.terms.is_empty());
    let properties: Vec<&str> = rules.rules[1].source.terms.iter().map(|t| t.property.as_str()).collect();
    assert_eq!(properties, ["region", "hemisphere"]);
    let minimal = parse_rules(&recipe("fztd_test_recipe_min.json")).unwrap();
    assert_eq!(minimal.rules.len(), 1);
}

#[test]
fn a_value_with_glob_characters_but_no_star_is_a_glob_with_a_note() {
    let mut recipe: Value = serde_json::from_str(&recipe("fztd_precedence_example.json")).unwrap();
    recipe["synapse_properties"]["rules"][0]["src_mtype"] = "mac?on".into();
    let rules = parse_rules(&recipe.to_string()).unwrap();
    assert!(rules.notes.iter().any(|n| n.contains("'mac?on' is read as a glob")), "{:?}", rules.notes);
}

/// obi-one's notebook config (an all-pairs excitatory model, then inhibitory and excitatory
/// pathways by neuron sets) on a population of EXC and INH cells.
fn obi_one_compiled(edges: Option<(Vec<u64>, Vec<u64>)>) -> synparam::rules::CompiledRules {
    let rules = parse_rules(&recipe("obi_one_config_obi_one_fixture.json")).unwrap();
    let nodes = table("S1nonbarrel_neurons", &[("synapse_class", &["EXC", "EXC", "EXC", "INH"])]);
    let population = EdgePopulationNodes {
        name: "S1nonbarrel_neurons__S1nonbarrel_neurons__chemical".into(),
        source: nodes.clone(),
        target: nodes,
        edges,
    };
    compile(&rules, &[population], false).unwrap()
}

#[test]
fn an_obi_one_config_imports_with_its_intended_meaning_later_assigners_winning() {
    let rules = parse_rules(&recipe("obi_one_config_obi_one_fixture.json")).unwrap();
    assert_eq!(rules.format, "obi-one");
    assert_eq!(
        rules.populations.as_deref(),
        Some(&["S1nonbarrel_neurons__S1nonbarrel_neurons__chemical".to_string()][..])
    );
    assert_eq!(rules.overwrite, Some(false));
    let labels: Vec<&str> = rules.rules.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels[1..],
        [
            "synapse_model_assigners.all_pairs",
            "synapse_model_assigners.inhibitory_pathways",
            "synapse_model_assigners.excitatory_pathways"
        ]
    );
    assert!(labels[0].starts_with("defaults of ExcitatoryTsodyksMarkramSynapticModel"));
    let spec =
        |rule: usize, property: &str| rules.rules[rule].assign.iter().find(|(p, _)| p == property).unwrap().1.clone();
    // Gamma(shape 8, scale 0.25) as mean and std; obi-one's defaults with min/max as truncation.
    assert_eq!(spec(2, "conductance")["mean"], serde_json::json!(2.0));
    assert_eq!(spec(2, "syn_type_id"), serde_json::json!({"type": "constant", "mean": 7}));
    assert_eq!(spec(1, "syn_type_id"), serde_json::json!({"type": "constant", "mean": 113}));
    assert_eq!(spec(1, "decay_time")["truncate"], serde_json::json!({"min": 1.7, "max": 1.9}));
    assert_eq!(spec(1, "decay_time")["shared_within"], serde_json::json!(false));
    assert!(rules.notes.iter().any(|n| n.contains("obi-one clamps")));

    let sources = vec![0, 1, 3, 3, 2];
    let targets = vec![3, 3, 0, 1, 2];
    let compiled = obi_one_compiled(Some((sources, targets)));
    let winner = |source: &str, property: &str| -> String {
        let pathway = compiled.explain.pathways.iter().find(|p| p.source.contains(source)).unwrap();
        pathway.winners.iter().find(|(p, _)| p == property).unwrap().1.clone().unwrap()
    };
    assert_eq!(winner("EXC", "conductance"), "synapse_model_assigners.excitatory_pathways");
    assert_eq!(winner("INH", "syn_type_id"), "synapse_model_assigners.inhibitory_pathways");
    let shadowed: Vec<&str> = compiled.explain.rules.iter().filter(|r| r.shadowed).map(|r| r.rule.as_str()).collect();
    assert_eq!(shadowed.len(), 2, "the defaults and all_pairs are shadowed by the neuron-set assigners: {shadowed:?}");
    assert_eq!(compiled.edge_populations.as_ref().map(Vec::len), Some(1));
}

#[test]
fn obi_one_mistakes_it_passes_silently_are_errors() {
    let base: Value = serde_json::from_str(&recipe("obi_one_config_obi_one_fixture.json")).unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut config = base.clone();
        edit(&mut config);
        parse_rules(&config.to_string()).unwrap_err()
    };
    let error = with(&|c| c["neuron_sets"]["InhibitoryNeurons"]["property_filter"] = serde_json::json!([]));
    assert!(error.to_string().contains("selects nothing"), "{error}");
    let error = with(&|c| c["synapse_model_assigners"]["all_pairs"]["overwrite_if_exists"] = true.into());
    assert!(error.to_string().contains("disagree"), "{error}");
    let error =
        with(&|c| c["distributions"]["Excitatory conductance distribution"]["shape"] = serde_json::json!([1, 2]));
    assert!(error.to_string().contains("a list is a scan"), "{error}");
    let error = with(&|c| c["synaptic_models"]["Excitatory synaptic model"]["type"] = "Glutamate".into());
    assert!(error.to_string().contains("unknown synaptic model"), "{error}");
    // A constant outside its min/max (obi-one would clamp it silently): refused by the model.
    let rules = parse_rules(&{
        let mut c = base.clone();
        c["distributions"]["Excitatory conductance distribution"] =
            serde_json::json!({"type": "FloatConstantDistribution", "value": 5.0, "max": 2.0});
        c.to_string()
    });
    let nodes = table("S1nonbarrel_neurons", &[("synapse_class", &["EXC", "INH"])]);
    let population = EdgePopulationNodes {
        name: "S1nonbarrel_neurons__S1nonbarrel_neurons__chemical".into(),
        source: nodes.clone(),
        target: nodes,
        edges: None,
    };
    let compiled = compile(&rules.unwrap(), &[population], false).unwrap();
    let error = Parameterizer::new(&compiled.model.to_string(), Some(1)).err().unwrap();
    assert!(error.to_string().contains("probability 0"), "{error}");
}

/// The 60 mtypes of the somatosensory cortex the region recipe is written for.
fn region_mtypes() -> Vec<String> {
    let xml = recipe("region_recipe_sscx.xml");
    let mut names: Vec<String> = Vec::new();
    for part in xml.split("MType=\"").skip(1) {
        let name = part.split('"').next().unwrap();
        if !name.contains(['*', '?', '[']) && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// The label of the region recipe's first rule whose XML contains `fragment`.
fn region_rule(fragment: &str) -> String {
    let xml = recipe("region_recipe_sscx.xml");
    let index =
        xml.lines().filter(|l| l.trim_start().starts_with("<synapse ")).position(|l| l.contains(fragment)).unwrap();
    format!("SynapsesProperties/synapse[{index}]")
}

fn cells(mtypes: &[&str], regions: Option<&[&str]>) -> NodeTable {
    let class = |m: &&str| if ["PC", "SSC", "IPC", "UPC"].iter().any(|e| m.contains(e)) { "EXC" } else { "INH" };
    let classes: Vec<&str> = mtypes.iter().map(class).collect();
    let mut columns: Vec<(&str, &[&str])> = vec![("mtype", mtypes), ("synapse_class", &classes)];
    let hemispheres = vec!["left"; mtypes.len()];
    if let Some(regions) = regions {
        columns.push(("region", regions));
        columns.push(("hemisphere", &hemispheres));
    }
    table("S1", &columns)
}

#[test]
fn a_region_recipe_on_a_subcircuit_reports_the_rules_for_absent_mtypes_and_strict_refuses_them() {
    let rules = parse_rules(&recipe("region_recipe_sscx.xml")).unwrap();
    assert!(rules.rules.len() > 100, "a region's recipe: {} rules", rules.rules.len());
    // obi-one's tiny circuit: five of the region's mtypes, no region property.
    let sub = cells(&["L23_CHC", "L6_BPC", "L6_IPC", "L5_TPC:A", "L4_SSC", "L5_TPC:A"], None);
    let edges = (vec![0, 1, 2, 3, 4, 5, 3], vec![3, 3, 4, 5, 2, 0, 1]);
    let population = |nodes: &NodeTable, edges: (Vec<u64>, Vec<u64>)| EdgePopulationNodes {
        name: "S1__S1__chemical".into(),
        source: nodes.clone(),
        target: nodes.clone(),
        edges: Some(edges),
    };
    let compiled = compile(&rules, &[population(&sub, edges.clone())], false).unwrap();
    let nothing = &compiled.explain.rules_matching_nothing;
    let l2_pairs = region_rule(r#"fromMType="L2_TPC:A" toMType="L2_TPC:A""#);
    let absent_l23 = nothing.iter().find(|r| r.rule == l2_pairs).expect("the first L2_TPC:A rule");
    assert_eq!(absent_l23.sides, ["source", "target"]);
    assert_eq!(absent_l23.absent_values, ["source mtype 'L2_TPC:A'", "target mtype 'L2_TPC:A'"]);
    // A glob over absent mtypes matches no node either; a rule whose only absent value is a region
    // the subcircuit does not have is reported with it.
    let layer1 = region_rule(r#"fromMType="L1_*""#);
    assert!(nothing.iter().any(|r| r.rule == layer1 && r.absent_values.is_empty()), "L1_* matches no node");
    assert!(nothing.iter().any(|r| r.absent_values.iter().any(|v| v == "source region 'SSp-m6b'")));
    // Rules for mtypes the subcircuit has are not reported, and they win where they match.
    let layer6 = region_rule(r#"fromMType="L6_*PC*""#);
    assert!(!nothing.iter().any(|r| r.rule == layer6), "L6_*PC* matches L6_BPC, L6_IPC");
    let report = |label: &str| compiled.explain.rules.iter().find(|r| r.rule == label).unwrap();
    assert!(report(&region_rule(r#"fromMType="L5_TPC:*""#)).synapses.unwrap() > 0, "L5_TPC:* → L5_TPC:*");
    assert!(report(&l2_pairs).matches_no_node && report(&l2_pairs).matches_nothing);
    let note = format!("{l2_pairs} matches no node of this circuit (source mtype 'L2_TPC:A', target mtype 'L2_TPC:A')");
    assert!(compiled.explain.notes.contains(&note), "{:?}", compiled.explain.notes);
    assert_eq!(compiled.explain.warnings.len(), 1);
    let total = rules.rules.len();
    assert!(
        compiled.explain.warnings[0]
            .starts_with(&format!("{} of {total} rules match no node of this circuit", nothing.len())),
        "{}",
        compiled.explain.warnings[0]
    );
    // Strict: today's refusal, naming the first rule and value.
    let error = compile(&rules, &[population(&sub, edges.clone())], true).unwrap_err();
    let first_absent = region_rule(r#"fromMType="L1_DAC""#);
    assert_eq!(error.path(), Some(first_absent.as_str()));
    assert!(error.to_string().contains("no source node has mtype 'L1_DAC'"), "{error}");
    // A synapse no rule covers still fails, as before: a node of a class the recipe does not know.
    let odd = cells(&["L5_TPC:A", "GEN_mtype"], None);
    let mut odd = odd;
    odd.columns.insert("synapse_class".into(), vec![Some("EXC".into()), Some("MOD".into())]);
    let error = compile(&rules, &[population(&odd, (vec![1], vec![0]))], false).unwrap_err();
    assert!(error.to_string().contains("no rule assigns"), "{error}");

    // The full region: every mtype, in the regions the recipe names: nothing to report, strict passes.
    let mtypes = region_mtypes();
    assert_eq!(mtypes.len(), 60, "{mtypes:?}");
    // Every mtype in every region the recipe names.
    let regions_named = ["SSp-m6b", "SSp-ul6b", "SSp-ll1", "SSp-tr6a", "SSs4", "SSp-bfd6a", "SSp-bfd2", "SSp-bfd3"];
    let names: Vec<&str> = regions_named.iter().flat_map(|_| mtypes.iter().map(String::as_str)).collect();
    let regions: Vec<&str> = regions_named.iter().flat_map(|r| std::iter::repeat_n(*r, mtypes.len())).collect();
    let full = cells(&names, Some(&regions));
    let n = names.len() as u64;
    let all_pairs: (Vec<u64>, Vec<u64>) = (0..n * n).map(|i| (i / n, i % n)).unzip();
    let compiled = compile(&rules, &[population(&full, all_pairs)], true).unwrap();
    let unmatched: Vec<&str> = compiled.explain.rules_matching_nothing.iter().map(|r| r.rule.as_str()).collect();
    assert!(unmatched.is_empty(), "{unmatched:?}");
}

/// A recipe written for another circuit's synapse_class names (EXC, INH) on nodes that say
/// excitatory_neuron / inhibitory_neuron: the names report says what to map; the alias table maps
/// them, and the compiled model is the one of the recipe rewritten by hand.
#[test]
fn a_recipe_from_another_circuit_is_mapped_by_an_alias_table() {
    let recipe_text = recipe("fz_recipe_uhill.json");
    let nodes = || {
        let classes: &[&str] = &["excitatory_neuron", "inhibitory_neuron", "excitatory_neuron", "extrinsic_neuron"];
        vec![EdgePopulationNodes {
            name: "pop".to_string(),
            source: table("cells", &[("synapse_class", classes)]),
            target: table("cells", &[("synapse_class", classes)]),
            edges: None,
        }]
    };
    // As written: refused for coverage, and the names say why.
    let rules = parse_rules(&recipe_text).unwrap();
    let compiler = synparam::rules::RuleCompiler::new(
        rules.clone(),
        nodes().into_iter().map(|p| (p.name, p.source, p.target)).collect(),
        false,
    )
    .unwrap();
    let names = compiler.names().to_vec();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].property, "synapse_class");
    assert_eq!(names[0].absent, ["EXC", "INH"]);
    assert_eq!(names[0].unnamed, ["excitatory_neuron", "extrinsic_neuron", "inhibitory_neuron"]);
    assert!(compiler.finish(false).is_err());
    // Mapped: EXC stands for excitatory and extrinsic cells (a glob), INH for inhibitory ones.
    let aliases =
        serde_json::json!({"synapse_class": {"EXC": ["excitatory_neuron", "extrinsic_*"], "INH": "inhibitory_neuron"}});
    let mapped = synparam::rules::with_aliases(&recipe_text, &aliases).unwrap();
    let compiled = compile(&parse_rules(&mapped.to_string()).unwrap(), &nodes(), false).unwrap();
    assert!(compiled.explain.names[0].absent.is_empty());
    assert!(compiled.explain.names[0].unnamed.is_empty());
    // The same as the recipe with the circuit's names written into it.
    let by_hand: Value = serde_json::from_str(
        &recipe_text
            .replace("\"src_synapse_class\": \"EXC\"", "\"src_synapse_class\": \"[e][x]*\"")
            .replace("\"dst_synapse_class\": \"EXC\"", "\"dst_synapse_class\": \"[e][x]*\"")
            .replace("\"src_synapse_class\": \"INH\"", "\"src_synapse_class\": \"inhibitory_neuron\"")
            .replace("\"dst_synapse_class\": \"INH\"", "\"dst_synapse_class\": \"inhibitory_neuron\""),
    )
    .unwrap();
    let expected = compile(&parse_rules(&by_hand.to_string()).unwrap(), &nodes(), false).unwrap();
    assert_eq!(compiled.populations[0].source, expected.populations[0].source);
    assert_eq!(compiled.model["prop_stats"], expected.model["prop_stats"]);
    // A bad table names its key.
    let error =
        synparam::rules::with_aliases(&recipe_text, &serde_json::json!({"synapse_class": {"EXC": []}})).unwrap_err();
    assert_eq!(error.path(), Some("aliases.synapse_class.EXC"));
}

/// A pathway's nodes as a selector (for a later rule that changes it alone): exact when the values
/// the rules read tell its nodes apart, absent when they cannot (a node lacks a property, or the
/// values' combinations also select another class).
#[test]
fn a_later_rule_selects_exactly_one_pathway_or_is_not_offered() {
    let recipe_text = recipe("fz_recipe_uhill.json");
    let nodes = || {
        let classes: &[&str] = &["EXC", "INH", "EXC", "INH"];
        vec![EdgePopulationNodes {
            name: "pop".to_string(),
            source: table("cells", &[("synapse_class", classes)]),
            target: table("cells", &[("synapse_class", classes)]),
            edges: Some((vec![0, 0, 1, 2, 3], vec![1, 2, 0, 3, 1])),
        }]
    };
    let compiled = compile(&parse_rules(&recipe_text).unwrap(), &nodes(), false).unwrap();
    let pathway = compiled.explain.pathways.iter().find(|p| p.source == "EXC" && p.target == "INH").unwrap();
    assert_eq!(pathway.source_selector, Some(serde_json::json!({"synapse_class": ["EXC"]})));
    assert_eq!(pathway.target_selector, Some(serde_json::json!({"synapse_class": ["INH"]})));
    let rule = serde_json::json!({"source": pathway.source_selector, "target": pathway.target_selector,
        "assign": {"conductance": {"type": "constant", "mean": 2.0}}});
    let changed = synparam::rules::with_rule(&recipe_text, &rule).unwrap();
    // A spec a run would refuse is refused here, named where it would land.
    let bad = serde_json::json!({"source": pathway.source_selector, "assign": {"conductance": {"type": "gamma", "mean": 1, "std": -1}}});
    let error = synparam::rules::with_rule(&recipe_text, &bad).unwrap_err();
    assert_eq!(error.path(), Some("rules[4].assign.conductance.std"), "{error}");
    let again = compile(&parse_rules(&changed.to_string()).unwrap(), &nodes(), false).unwrap();
    // Only that pathway's conductance changes; every other spec is the recipe's.
    let specs = |c: &synparam::rules::CompiledRules| c.model["prop_stats"].clone();
    let (before, after) = (specs(&compiled), specs(&again));
    for (property, by_source) in before.as_object().unwrap() {
        for (source, by_target) in by_source.as_object().unwrap() {
            for (target, spec) in by_target.as_object().unwrap() {
                let now = &after[property][source][target];
                if property == "conductance" && source == "EXC" && target == "INH" {
                    assert_eq!(now, &serde_json::json!({"type": "constant", "mean": 2.0}));
                } else {
                    assert_eq!(now, spec, "{property} {source} → {target}");
                }
            }
        }
    }
    // Nodes told apart by two properties whose combinations overlap: no exact selector.
    let rules = parse_rules(
        &serde_json::json!({"rules_version": 1, "rules": [
            {"source": {"mtype": "A", "etype": "x"}, "assign": {"u_syn": {"type": "constant", "mean": 1}}},
            {"source": {"mtype": "B", "etype": "y"}, "assign": {"u_syn": {"type": "constant", "mean": 2}}},
            {"assign": {"u_syn": {"type": "constant", "mean": 0}}}]})
        .to_string(),
    )
    .unwrap();
    let cells = || {
        vec![EdgePopulationNodes {
            name: "pop".to_string(),
            source: table("cells", &[("mtype", &["A", "B", "A", "B"]), ("etype", &["x", "y", "y", "x"])]),
            target: table("cells", &[("mtype", &["A", "B", "A", "B"]), ("etype", &["x", "y", "y", "x"])]),
            edges: None,
        }]
    };
    let compiled = compile(&rules, &cells(), false).unwrap();
    let selectors: Vec<(String, Option<Value>)> =
        compiled.explain.pathways.iter().map(|p| (p.source.clone(), p.source_selector.clone())).collect();
    // (A, x) and (B, y) are classes of their own, exactly selectable; the rest (A, y), (B, x) is one
    // class whose values' combinations would also select (A, x) and (B, y).
    assert!(
        selectors.iter().any(|(_, s)| s == &Some(serde_json::json!({"mtype": ["A"], "etype": ["x"]}))),
        "{selectors:?}"
    );
    assert!(selectors.iter().any(|(_, s)| s.is_none()), "{selectors:?}");
}

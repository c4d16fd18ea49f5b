//! Parameter scans and partial re-parameterization (issue #27): scan configs expand into valid
//! points with stable names and a `scan.json`; axes are told apart from list values; every point
//! says what it changes, and the engine agrees bit for bit — with one worker and with several;
//! a patch merged over a recorded config changes exactly the cells it names.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use synparam::engine::{EdgeChunk, PathwayColumn};
use synparam::scan::{
    changed_by_patch, changes_between, is_scan_config, merge_patch, patch_between, plan_scan, plan_scan_for,
    redraw_config, reparameterize, Change, Changes, ConfigKind, ScanHost, ScanMode, WrittenDataset, DEFAULT_MAX_POINTS,
};
use synparam::storage::StorageChunk;
use synparam::Parameterizer;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/scan/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The grid fixture as a `Value` (its bare `-Infinity` as -1e308: serde_json reads strict JSON).
fn grid_value() -> Value {
    serde_json::from_str(&fixture("grid_task.json").replace("-Infinity", "-1e308")).unwrap()
}

fn recipe(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/recipes/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn error(result: synparam::Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().to_string()
}

fn cell(property: &str, source: &str, target: &str) -> Change {
    Change { property: property.into(), source: Some(source.into()), target: Some(target.into()) }
}

fn some(changed: Vec<Change>) -> Changes {
    Changes::Some { changed }
}

// ---------------------------------------------------------------- the engine over a network

const N_NODES: usize = 240;

fn class_of(node: u64) -> &'static str {
    if node.is_multiple_of(4) {
        "INH"
    } else {
        "EXC"
    }
}

fn nodes() -> PathwayColumn {
    PathwayColumn::from_values("cells", &(0..N_NODES as u64).map(|i| Some(class_of(i))).collect::<Vec<_>>())
}

/// A target-sorted network: every target has connections of one to three synapses.
fn network() -> EdgeChunk {
    let mut chunk = EdgeChunk::default();
    let mut edge = 0;
    for target in 0..N_NODES as u64 {
        for k in 0..(target % 6 + 2) {
            let source = (target * 37 + k * 11 + 1) % N_NODES as u64;
            for _ in 0..(k % 3 + 1) {
                chunk.source.push(source);
                chunk.target.push(target);
                chunk.edge_id.push(edge);
                edge += 1;
            }
        }
    }
    chunk
}

fn part(chunk: &EdgeChunk, range: std::ops::Range<usize>) -> EdgeChunk {
    EdgeChunk {
        source: chunk.source[range.clone()].to_vec(),
        target: chunk.target[range.clone()].to_vec(),
        edge_id: chunk.edge_id[range].to_vec(),
    }
}

/// What a run drew: per (property, edge id) the value's bits, and per property its dataset digest.
struct Drawn {
    values: BTreeMap<(String, u64), u64>,
    digests: BTreeMap<String, String>,
}

/// Run `config` over the network with `workers` draw workers (each its own `Parameterizer` over
/// chunks cut where the target changes, states merged by a coordinator, as the hosts do).
fn run(config: &str, workers: usize) -> Drawn {
    let chunk = network();
    let n = chunk.len();
    let mut cuts = vec![0];
    for w in 1..workers {
        let at = (w * n / workers..n).find(|&i| chunk.target[i] != chunk.target[i - 1]).unwrap_or(n);
        cuts.push(at);
    }
    cuts.push(n);
    let make = || {
        let mut run = Parameterizer::new(config, None).unwrap();
        run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
        run.assume_sorted_by_target("pop").unwrap();
        run.plan_output("pop", n as u64, &[], &[0], false, None).unwrap();
        run
    };
    let mut values = BTreeMap::new();
    let mut coordinator = make();
    for range in cuts.windows(2) {
        let piece = part(&chunk, range[0]..range[1]);
        let mut worker = make();
        for property in worker.run_chunk("pop", &piece).unwrap().properties {
            for (i, v) in property.values.iter().enumerate() {
                values.insert((property.name.clone(), piece.edge_id[i]), v.to_bits());
            }
        }
        let mut storing = make();
        storing.run_storage("pop", piece.ids(), None, &mut StorageChunk::default()).unwrap();
        coordinator.merge_state("pop", &storing.export_state("pop").unwrap()).unwrap();
    }
    let digests = coordinator
        .dataset_digests("pop")
        .unwrap()
        .into_iter()
        .map(|(plan, digest)| (plan.property.to_string(), format!("{digest:?}")))
        .collect();
    Drawn { values, digests }
}

/// The pathway of every edge.
fn pathways() -> HashMap<u64, (&'static str, &'static str)> {
    let chunk = network();
    (0..chunk.len()).map(|i| (chunk.edge_id[i], (class_of(chunk.source[i]), class_of(chunk.target[i])))).collect()
}

/// Checks a point's values against the base's: every value outside the changed cells has the same
/// bits, every changed cell of a random law differs; returns (identical, different) value counts.
fn check_against_base(base: &Drawn, point: &Drawn, changes: &Changes, constant: &[&str]) -> (usize, usize) {
    let pathway = pathways();
    let (mut identical, mut different) = (0, 0);
    let mut differing_cells: BTreeMap<(String, &str, &str), (usize, usize)> = BTreeMap::new();
    for ((property, edge), bits) in &base.values {
        let (s, t) = pathway[edge];
        let other = point.values[&(property.clone(), *edge)];
        let entry = differing_cells.entry((property.clone(), s, t)).or_default();
        entry.0 += 1;
        if other == *bits {
            identical += 1;
        } else {
            different += 1;
            entry.1 += 1;
            assert!(changes.affects(property, s, t), "{property} {s} → {t} edge {edge} changed but {changes:?}");
        }
    }
    for ((property, s, t), (count, changed)) in differing_cells {
        if changes.affects(&property, s, t) && !constant.contains(&property.as_str()) {
            // At least half: a discrete law at another seed repeats a value by chance (Σp² here ≤ 0.38).
            assert!(changed * 2 >= count, "{property} {s} → {t}: only {changed} of {count} values changed");
        }
    }
    // Whole datasets: a property without any change has the same digest (the stored bytes).
    for (property, digest) in &base.digests {
        let untouched = match changes.properties() {
            None => false,
            Some(changed) => !changed.contains(property),
        };
        if untouched {
            assert_eq!(digest, &point.digests[property], "{property}");
        }
    }
    (identical, different)
}

fn check_scan_against_engine(config: &str, constant: &[&str]) -> Vec<(usize, usize)> {
    let plan = plan_scan(config, None).unwrap();
    let mut counts = Vec::new();
    for workers in [1, 3] {
        let runs: Vec<Drawn> = plan.points.iter().map(|p| run(&p.model_text, workers)).collect();
        for (point, drawn) in plan.points.iter().zip(&runs) {
            counts.push(check_against_base(&runs[0], drawn, &point.changes, constant));
        }
        if workers == 3 {
            // Several workers draw what one worker draws.
            for point in &plan.points {
                let (one, three) = (run(&point.model_text, 1), run(&point.model_text, 3));
                assert_eq!(one.values, three.values);
                assert_eq!(one.digests, three.digests);
            }
        }
    }
    counts
}

#[test]
fn a_grid_scan_changes_only_the_scanned_cells_with_one_and_several_workers() {
    let counts = check_scan_against_engine(&fixture("grid_task.json"), &["syn_type_id"]);
    // 6 points × 2 worker counts; point 0 is the base (nothing differs).
    assert_eq!(counts.len(), 12);
    assert_eq!(counts[0].1, 0);
    assert!(counts[1..6].iter().all(|&(same, diff)| same > 0 && diff > 0), "{counts:?}");
    let plan = plan_scan(&fixture("grid_task.json"), None).unwrap();
    let expected = |i: usize, j: usize| {
        let mut cells = Vec::new();
        if i > 0 {
            cells.push(cell("conductance", "EXC", "INH"));
        }
        if j > 0 {
            cells.push(cell("u_syn", "INH", "EXC"));
        }
        some(cells)
    };
    for (k, point) in plan.points.iter().enumerate() {
        assert_eq!(point.changes, expected(k / 2, k % 2), "{}", point.name);
    }
}

#[test]
fn a_coupled_scan_changes_only_the_scanned_cells_and_a_seed_axis_everything() {
    let counts = check_scan_against_engine(&fixture("coupled_task.json"), &[]);
    assert_eq!(counts.len(), 6);
    let plan = plan_scan(&fixture("coupled_task.json"), None).unwrap();
    assert_eq!(
        plan.points[1].changes,
        some(vec![cell("conductance", "INH", "INH"), cell("n_rrp_vesicles", "EXC", "EXC")])
    );
    // Point 2 has val back at the base's: only the correlated conductance's marginal changes,
    // depression_time (the other correlated property) keeps its bits.
    assert_eq!(plan.points[2].changes, some(vec![cell("conductance", "INH", "INH")]));

    // A seed axis changes everything.
    let mut config: Value = serde_json::from_str(&fixture("coupled_task.json")).unwrap();
    config["random_seed"] = json!([3, 4, 5]);
    let config = config.to_string();
    let plan = plan_scan(&config, None).unwrap();
    assert!(matches!(&plan.points[1].changes, Changes::Everything { reasons } if reasons[0] == "random_seed: 3 → 4"));
    let counts = check_scan_against_engine(&config, &[]);
    // Values of random laws differ at another seed (identical only by chance, for integer laws).
    assert!(counts[1].0 * 2 < counts[1].1, "{counts:?}");
}

// ---------------------------------------------------------------- expansion

#[test]
fn a_grid_expands_in_order_with_names_labels_and_scan_json() {
    let text = fixture("grid_task.json");
    assert!(is_scan_config(&text));
    let plan = plan_scan(&text, None).unwrap();
    assert_eq!((plan.mode, plan.kind, plan.count()), (ScanMode::Grid, ConfigKind::Task, 6));
    let paths: Vec<&str> = plan.axes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        ["pathway_param_dict.prop_stats.conductance.EXC.INH.mean", "pathway_param_dict.prop_stats.u_syn.INH.EXC"]
    );
    let labels: Vec<&str> = plan.axes.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(labels, ["mean", "EXC"]);
    let names: Vec<&str> = plan.points.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "0_mean=0.5_EXC=v0",
            "1_mean=0.5_EXC=v1",
            "2_mean=1.0_EXC=v0",
            "3_mean=1.0_EXC=v1",
            "4_mean=2.0_EXC=v0",
            "5_mean=2.0_EXC=v1"
        ]
    );
    assert_eq!(plan.points[3].value_indices, [1, 1]);
    // Each point is a plain config: no scan key, no list where a value belongs, -Infinity kept.
    for point in &plan.points {
        assert!(!is_scan_config(&point.model_text));
        let task = synparam::config::parse_task(&point.model_text).unwrap();
        assert_eq!(task.seed, Some(7));
        assert!(point.model_text.contains("\"min\": -Infinity"));
        assert_eq!(point.config_sha256, synparam::output::sidecar::config_sha256(&point.model_text));
    }
    let document = plan.scan_json();
    assert_eq!(document["count"], 6);
    assert_eq!(document["mode"], "grid");
    assert_eq!(document["base"], "0_mean=0.5_EXC=v0");
    assert_eq!(document["axes"][0]["values"], json!([0.5, 1.0, 2.0]));
    assert_eq!(document["points"][2]["values"]["pathway_param_dict.prop_stats.conductance.EXC.INH.mean"], 1.0);
    assert_eq!(
        document["points"][1]["changes"],
        json!({"kind": "some", "changed": [{"property": "u_syn", "source": "INH", "target": "EXC"}]})
    );
    let reread: Value = serde_json::from_str(&plan.scan_json_text()).unwrap();
    assert_eq!(reread, document);
    // Stable: the same config gives the same plan.
    assert_eq!(plan_scan(&text, None).unwrap(), plan);
}

#[test]
fn list_values_are_not_axes_and_lists_of_them_are() {
    let plan = plan_scan(&fixture("coupled_task.json"), None).unwrap();
    let paths: Vec<&str> = plan.axes.iter().map(|a| a.label.as_str()).collect();
    // src_types, prop_cov.props, the matrices and p are values; val as a list of lists is an axis.
    assert_eq!(paths, ["std", "val"]);
    let model = |changes: &str| {
        let mut config: Value = serde_json::from_str(&fixture("coupled_task.json")).unwrap();
        let model = &mut config["pathway_param_dict"];
        model["prop_stats"]["conductance"]["INH"]["INH"]["std"] = json!(0.2);
        model["prop_stats"]["n_rrp_vesicles"]["EXC"]["EXC"]["val"] = json!([1, 2, 3]);
        let value: Value = serde_json::from_str(changes).unwrap();
        for (path, v) in value.as_object().unwrap() {
            let mut at = &mut *model;
            for key in path.split('.') {
                at = &mut at[key];
            }
            *at = v.clone();
        }
        config.to_string()
    };
    // A list of matrices is an axis.
    let plan =
        plan_scan(&model(r#"{"prop_cov.cov.EXC.EXC": [[[1.0, 0.5], [0.5, 1.0]], [[1.0, 0.9], [0.9, 1.0]]]}"#), None)
            .unwrap();
    assert_eq!(plan.axes[0].path, "pathway_param_dict.prop_cov.cov.EXC.EXC");
    assert_eq!(
        plan.points[1].changes,
        some(vec![cell("conductance", "EXC", "EXC"), cell("depression_time", "EXC", "EXC")])
    );
    // src_types as a list of lists is an axis (each point its own pathway values).
    let plan = plan_scan(&model(r#"{"src_types": [["EXC", "INH"], ["INH", "EXC"]]}"#), None).unwrap();
    assert_eq!(plan.axes[0].label, "src_types");
    // Mixed, empty and nested lists are refused, naming the place.
    let mixed = error(plan_scan(&model(r#"{"prop_stats.n_rrp_vesicles.EXC.EXC.val": [1, [2, 3], 3]}"#), None));
    assert!(mixed.starts_with("pathway_param_dict.prop_stats.n_rrp_vesicles.EXC.EXC.val: mixes lists"), "{mixed}");
    let empty = error(plan_scan(&model(r#"{"prop_stats.conductance.EXC.EXC.mean": []}"#), None));
    assert_eq!(
        empty,
        "pathway_param_dict.prop_stats.conductance.EXC.EXC.mean: an empty list: a scan axis needs at least one value"
    );
    let nested = error(plan_scan(
        &model(
            r#"{"prop_stats.conductance.EXC.EXC": [{"type": "gamma", "mean": [1, 2], "std": 0.1}, {"type": "zero"}]}"#,
        ),
        None,
    ));
    assert!(nested.starts_with("pathway_param_dict.prop_stats.conductance.EXC.EXC[0]: holds a scan axis"), "{nested}");
}

#[test]
fn coupled_lists_of_unequal_length_the_limit_and_duplicates_are_refused() {
    let mut config: Value = serde_json::from_str(&fixture("coupled_task.json")).unwrap();
    config["pathway_param_dict"]["prop_stats"]["conductance"]["INH"]["INH"]["std"] = json!([0.2, 0.4]);
    assert_eq!(
        error(plan_scan(&config.to_string(), None)),
        "pathway_param_dict.prop_stats.n_rrp_vesicles.EXC.EXC.val: a coupled scan needs lists of equal length: \
         pathway_param_dict.prop_stats.conductance.INH.INH.std has 2, pathway_param_dict.prop_stats.n_rrp_vesicles.EXC.EXC.val has 3"
    );
    // 6 points against a limit of 5, from the caller or the config.
    let grid = fixture("grid_task.json");
    assert!(error(plan_scan(&grid, Some(5))).starts_with("scan: 6 points (pathway_param_dict.prop_stats.conductance.EXC.INH.mean × 3, pathway_param_dict.prop_stats.u_syn.INH.EXC × 2) exceed the limit of 5: set max_points"));
    let mut limited: Value = grid_value();
    limited["max_points"] = json!(5);
    assert!(error(plan_scan(&limited.to_string(), None)).contains("exceed the limit of 5"));
    assert_eq!(plan_scan(&limited.to_string(), Some(6)).unwrap().count(), 6);
    // A grid of 101 × 100 points is refused by default, before any point is built.
    let mut big: Value = grid_value();
    let model = &mut big["pathway_param_dict"]["prop_stats"];
    model["conductance"]["EXC"]["INH"]["mean"] = json!((1..=101).map(f64::from).collect::<Vec<_>>());
    model["u_syn"]["INH"]["EXC"] =
        json!({"type": "normal", "mean": (1..=100).map(|i| f64::from(i) / 100.0).collect::<Vec<_>>(), "std": 0.1});
    let refused = error(plan_scan(&big.to_string(), None));
    assert!(
        refused.contains("10100 points") && refused.contains(&format!("limit of {DEFAULT_MAX_POINTS}")),
        "{refused}"
    );
    // A value listed twice.
    let mut twice: Value = grid_value();
    twice["pathway_param_dict"]["prop_stats"]["conductance"]["EXC"]["INH"]["mean"] = json!([0.5, 1.0, 0.5]);
    assert!(error(plan_scan(&twice.to_string(), None)).starts_with("scan: points 0 and 4 have the same values"));
    // No scan key, or a wrong one.
    assert!(error(plan_scan(r#"{"src_types": ["A"], "tgt_types": ["A"], "prop_stats": {}}"#, None))
        .starts_with("scan: missing"));
    assert_eq!(
        error(plan_scan(r#"{"scan": "random", "src_types": ["A"]}"#, None)),
        "scan: must be \"grid\" or \"coupled\", got \"random\""
    );
    // BBP recipes are refused with what to do.
    assert!(error(plan_scan(r#"{"scan": "grid", "synapse_properties": {}}"#, None)).contains("export it as rules JSON"));
}

#[test]
fn a_run_option_setting_what_an_axis_scans_is_refused_naming_both() {
    let host = |pairs: &[(&str, &str)]| ScanHost {
        max_points_option: Some("--max-points".into()),
        settings: pairs.iter().map(|(s, o)| (s.to_string(), o.to_string())).collect(),
    };
    let mut seeds: Value = grid_value();
    seeds["random_seed"] = json!([1, 2]);
    assert_eq!(
        error(plan_scan_for(&seeds.to_string(), None, &host(&[("seed", "--seed")]))),
        "random_seed: a scan axis, and --seed sets random_seed for every point (each point would draw with \
         --seed's value, not the axis's): drop --seed, or the axis"
    );
    let mut overwrite: Value = grid_value();
    overwrite["overwrite_if_exists"] = json!([true, false]);
    let message = error(plan_scan_for(&overwrite.to_string(), None, &host(&[("overwrite", "overwrite=")])));
    assert!(
        message.starts_with("overwrite_if_exists: a scan axis, and overwrite= sets overwrite_if_exists"),
        "{message}"
    );
    for (key, value, setting) in [
        ("pathway_property", json!(["synapse_class", "mtype"]), "pathway_property"),
        ("fallback_pathway_value", json!(["EXC", "INH"]), "fallback"),
        // An axis inside a per-population fallback: the option would replace the whole table.
        ("fallback_pathway_value", json!({"VPM": ["EXC", "INH"]}), "fallback"),
        ("edge_populations", json!([["a"], ["b"]]), "populations"),
    ] {
        let mut config: Value = grid_value();
        config[key] = value;
        let message = error(plan_scan_for(&config.to_string(), None, &host(&[(setting, "--x")])));
        assert!(message.starts_with(key) && message.contains(&format!("a scan axis, and --x sets {key}")), "{message}");
        // The same option beside a scan that does not scan it is fine, and so is the axis alone.
        assert!(plan_scan_for(&grid_value().to_string(), None, &host(&[(setting, "--x")])).is_ok());
        assert!(plan_scan_for(&config.to_string(), None, &host(&[])).is_ok(), "{key}");
    }
    // The limit's error names the host's option.
    let message = error(plan_scan_for(&fixture("grid_task.json"), Some(5), &host(&[])));
    assert!(message.ends_with("set --max-points (or the config's max_points) to allow more"), "{message}");
}

#[test]
fn an_invalid_point_is_named_with_its_axis_values_and_json_path() {
    let mut config: Value = grid_value();
    config["pathway_param_dict"]["prop_stats"]["conductance"]["EXC"]["INH"]["mean"] = json!([1.0, -1.0]);
    assert_eq!(
        error(plan_scan(&config.to_string(), None)),
        "pathway_param_dict.prop_stats.conductance.EXC.INH.mean: gamma mean must be > 0, got -1 (in scan point \
         2_mean=-1.0_EXC=v0: pathway_param_dict.prop_stats.conductance.EXC.INH.mean = -1.0, \
         pathway_param_dict.prop_stats.u_syn.INH.EXC = {\"type\":\"normal\",\"mean\":0.25,\"std\":0.05})"
    );
}

#[test]
fn rules_and_obi_one_configs_scan_with_their_list_values_kept() {
    let plan = plan_scan(&fixture("rules_scan.json"), None).unwrap();
    assert_eq!(plan.kind, ConfigKind::Rules);
    let paths: Vec<&str> = plan.axes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["classes[0].props.u_syn.mean", "rules[1].assign.conductance.mean"]);
    let every = |property: &str| Change { property: property.into(), source: None, target: None };
    assert_eq!(plan.points[1].changes, some(vec![every("conductance")]));
    assert_eq!(plan.points[2].changes, some(vec![every("u_syn")]));
    assert_eq!(plan.points[3].changes, some(vec![every("conductance"), every("u_syn")]));
    assert!(plan.points[3].changes.affects("u_syn", "anything", "else"));
    for point in &plan.points {
        synparam::rules::parse_rules(&point.model_text).unwrap();
    }
    // An invalid spec in a rule is named by the rule.
    let mut bad: Value = serde_json::from_str(&fixture("rules_scan.json")).unwrap();
    bad["rules"][0]["assign"]["conductance"]["std"] = json!([0.3, -1.0]);
    let message = error(plan_scan(&bad.to_string(), None));
    assert!(message.starts_with("rules[0] (all).conductance.std: "), "{message}");
    assert!(message.contains("in scan point 2_u_syn.mean=0.4_std=-1.0_conductance.mean=2.0"), "{message}");

    // obi-one: a distribution's field as a list is an axis; values/probabilities and filter values
    // are values; the distributions' random_seed changes nothing synparam draws (a note says so).
    let mut obi: Value = serde_json::from_str(&recipe("obi_one_notebook_config.json")).unwrap();
    obi["scan"] = json!("grid");
    let distributions = obi["distributions"].as_object_mut().unwrap();
    let first = distributions.keys().next().unwrap().clone();
    distributions[&first]["shape"] = json!([4.0, 6.0]);
    distributions[&first]["random_seed"] = json!([1, 2]);
    distributions.insert(
        "Vesicles".into(),
        json!({"type": "IntDiscreteDistribution", "values": [1, 2, 3], "probabilities": [0.2, 0.3, 0.5]}),
    );
    let plan = plan_scan(&obi.to_string(), None).unwrap();
    assert_eq!(plan.kind, ConfigKind::ObiOne);
    assert_eq!(plan.count(), 4);
    assert_eq!(plan.axes.iter().map(|a| a.label.as_str()).collect::<Vec<_>>(), ["shape", "random_seed"]);
    assert_eq!(plan.points[1].changes, some(vec![]));
    assert_eq!(plan.points[2].changes, some(vec![every("conductance")]));
    assert!(
        plan.notes[0].starts_with("1 point(s) draw exactly what point 0_shape=4.0_random_seed=1 draws"),
        "{:?}",
        plan.notes
    );
}

// ---------------------------------------------------------------- patches

fn recorded_model() -> String {
    let plan = plan_scan(&fixture("grid_task.json"), None).unwrap();
    plan.points[0].model_text.clone()
}

/// The page's *Re-run changes only*: the patch between a recorded model and the edited one is the
/// changed specs (merged back, it gives the edited model), and a change no patch can make is
/// refused, saying why.
#[test]
fn the_patch_between_a_recorded_and_an_edited_model_is_exactly_the_edit() {
    // Strict JSON throughout (serde_json writes no bare -Infinity).
    let recorded = recorded_model().replace("-Infinity", "-1e308");
    let mut edited: Value = serde_json::from_str(&recorded).unwrap();
    edited["pathway_param_dict"]["prop_stats"]["conductance"]["EXC"]["INH"] =
        json!({"type": "gamma", "mean": 3.0, "std": 0.3});
    let edited_text = serde_json::to_string(&edited).unwrap();
    let patch = patch_between(&recorded, &edited_text).unwrap();
    let patch_value: Value = serde_json::from_str(&patch).unwrap();
    assert_eq!(
        patch_value,
        json!({"prop_stats": {"conductance": {"EXC": {"INH": {"type": "gamma", "mean": 3.0, "std": 0.3}}}}}),
        "only the edited cell"
    );
    assert_eq!(
        changed_by_patch(&recorded, &patch).unwrap(),
        some(vec![cell("conductance", "EXC", "INH")]),
        "and it changes that cell only"
    );
    assert!(error(patch_between(&recorded, &recorded)).contains("nothing to change"));
    let mut seed = edited.clone();
    seed["random_seed"] = json!(99);
    let seed_text = serde_json::to_string(&seed).unwrap();
    assert!(
        error(patch_between(&recorded, &seed_text)).starts_with("random_seed: changed"),
        "{}",
        error(patch_between(&recorded, &seed_text))
    );
    let mut removed = edited.clone();
    removed["pathway_param_dict"]["prop_stats"].as_object_mut().unwrap().remove("conductance");
    let removed_text = serde_json::to_string(&removed).unwrap();
    assert!(error(patch_between(&recorded, &removed_text)).starts_with("prop_stats.conductance: was removed"));
    // Rules: rules added last are the patch; an edited rule is refused.
    let rules = r#"{"rules_version": 1, "rules": [{"assign": {"conductance": {"type": "constant", "mean": 1}}}]}"#;
    let added = r#"{"rules_version": 1, "rules": [{"assign": {"conductance": {"type": "constant", "mean": 1}}},
        {"source": {"synapse_class": "INH"}, "assign": {"conductance": {"type": "constant", "mean": 2}}}]}"#;
    let rules_patch: Value = serde_json::from_str(&patch_between(rules, added).unwrap()).unwrap();
    assert_eq!(rules_patch["rules"].as_array().unwrap().len(), 1);
    let edited_rule =
        r#"{"rules_version": 1, "rules": [{"assign": {"conductance": {"type": "constant", "mean": 5}}}]}"#;
    assert!(error(patch_between(rules, edited_rule)).starts_with("rules: the recorded rules were edited or removed"));
    assert!(error(patch_between(rules, &recorded)).contains("changed form"));
}

#[test]
fn a_patch_replaces_specs_adds_pathways_and_is_refused_when_wrong() {
    let recorded = recorded_model();
    let patch = r#"{"prop_stats": {"conductance": {"EXC": {"INH": {"type": "gamma", "mean": 3.0, "std": 0.3}}}}}"#;
    let merged = merge_patch(&recorded, patch).unwrap();
    let value: Value = serde_json::from_str(&merged.replace("-Infinity", "null")).unwrap();
    assert_eq!(
        value["pathway_param_dict"]["prop_stats"]["conductance"]["EXC"]["INH"],
        json!({"type": "gamma", "mean": 3.0, "std": 0.3})
    );
    assert!(merged.contains("-Infinity"), "bare non-finite numbers are kept");
    assert_eq!(changed_by_patch(&recorded, patch).unwrap(), some(vec![cell("conductance", "EXC", "INH")]));
    // The same patch under pathway_param_dict.
    let wrapped = format!(r#"{{"pathway_param_dict": {patch}}}"#);
    assert_eq!(merge_patch(&recorded, &wrapped).unwrap(), merged);
    // A new property needs every pathway (a misspelt one is named as not in the recorded model);
    // a new value must be added to src_types.
    let new_property = r#"{"prop_stats": {"delay": {"EXC": {"EXC": {"type": "constant", "mean": 1}}}}}"#;
    assert_eq!(
        error(merge_patch(&recorded, new_property)),
        "patch.prop_stats.delay: 'delay' is not a property of the recorded model (conductance, u_syn, n_rrp_vesicles, \
         syn_type_id): a new property needs a spec for every pathway (every source in src_types, every target in tgt_types)"
    );
    let misspelt = r#"{"prop_stats": {"conductanse": {"EXC": {"INH": {"type": "gamma", "mean": 3.0, "std": 0.3}}}}}"#;
    assert!(error(merge_patch(&recorded, misspelt))
        .starts_with("patch.prop_stats.conductanse: 'conductanse' is not a property of the recorded model"));
    let wrapped_misspelt = format!(r#"{{"pathway_param_dict": {misspelt}}}"#);
    assert!(error(merge_patch(&recorded, &wrapped_misspelt))
        .starts_with("patch.pathway_param_dict.prop_stats.conductanse: 'conductanse' is not"));
    let complete = r#"{"prop_stats": {"delay": {"EXC": {"EXC": {"type": "constant", "mean": 1}, "INH": {"type": "constant", "mean": 1}},
        "INH": {"EXC": {"type": "constant", "mean": 1}, "INH": {"type": "constant", "mean": 2}}}}}"#;
    assert!(merge_patch(&recorded, complete).is_ok());
    // A scan is not a patch.
    assert!(error(merge_patch(&recorded, r#"{"scan": "grid", "prop_stats": {}}"#))
        .starts_with("patch.scan: a patch is one change of a recorded run, not a scan"));
    let glia = r#"{"prop_stats": {"conductance": {"GLIA": {"EXC": {"type": "zero"}}}}}"#;
    assert_eq!(
        error(merge_patch(&recorded, glia)),
        "patch.prop_stats.conductance.GLIA: 'GLIA' is not in the recorded src_types (EXC, INH): add it to src_types in the patch to add a pathway"
    );
    let zero = json!({"type": "zero"});
    let mut added = json!({"src_types": ["GLIA"], "prop_stats": {}});
    for property in ["conductance", "u_syn", "n_rrp_vesicles", "syn_type_id"] {
        added["prop_stats"][property] = json!({"GLIA": {"EXC": zero, "INH": zero}});
    }
    let merged = merge_patch(&recorded, &added.to_string()).unwrap();
    assert_eq!(synparam::config::parse_task(&merged).unwrap().model.src_types, ["EXC", "INH", "GLIA"]);
    let changes = changed_by_patch(&recorded, &added.to_string()).unwrap();
    assert_eq!(changes.properties().unwrap().len(), 4);
    assert!(changes.affects("u_syn", "GLIA", "INH") && !changes.affects("u_syn", "EXC", "INH"));
    // An invalid spec, the wrong form, settings.
    let invalid = r#"{"prop_stats": {"conductance": {"EXC": {"INH": {"type": "gamma", "mean": 0, "std": 1}}}}}"#;
    assert_eq!(
        error(merge_patch(&recorded, invalid)),
        "pathway_param_dict.prop_stats.conductance.EXC.INH.mean: gamma mean must be > 0, got 0 (in the patched config)"
    );
    assert_eq!(error(merge_patch(&recorded, "[1]")), "patch: must be a JSON object (a partial config)");
    assert_eq!(error(merge_patch(&recorded, "{}")), "patch: is empty: it changes nothing");
    assert!(error(merge_patch(&recorded, r#"{"prop_stats": {"conductance": {"EXC": {"INH": 1}}}}"#))
        .starts_with("patch.prop_stats.conductance.EXC.INH: must be a spec object"));
    assert!(
        error(merge_patch(&recorded, r#"{"random_seed": 2}"#)).starts_with("patch.random_seed: a patch changes specs")
    );
    assert!(error(merge_patch(&recorded, r#"{"rules": []}"#)).starts_with("patch.rules: unknown key in a model patch"));
}

#[test]
fn rules_and_obi_one_patches_append_or_replace_blocks() {
    let rules = plan_scan(&fixture("rules_scan.json"), None).unwrap().points[0].model_text.clone();
    let patch = r#"{"rules": [{"name": "late", "target": {"synapse_class": "EXC"}, "assign": {"decay_time": {"type": "constant", "mean": 1.7}}}]}"#;
    let merged = merge_patch(&rules, patch).unwrap();
    let parsed = synparam::rules::parse_rules(&merged).unwrap();
    assert_eq!(parsed.rules.len(), 3);
    assert_eq!(parsed.rules[2].label, "rules[2] (late)");
    assert_eq!(
        changed_by_patch(&rules, patch).unwrap(),
        some(vec![Change { property: "decay_time".into(), source: None, target: None }])
    );
    assert!(error(merge_patch(&rules, r#"{"prop_stats": {}}"#))
        .starts_with("patch.prop_stats: unknown key in a rules patch"));

    let obi = recipe("obi_one_notebook_config.json");
    let value: Value = serde_json::from_str(&obi).unwrap();
    let first = value["distributions"].as_object().unwrap().keys().next().unwrap().clone();
    let patch = json!({"distributions": {first.clone(): {"type": "GammaDistribution", "shape": 6.0, "scale": 0.25}}});
    let merged = merge_patch(&obi, &patch.to_string()).unwrap();
    let merged_value: Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(merged_value["distributions"][&first]["shape"], 6.0);
    assert_eq!(
        changed_by_patch(&obi, &patch.to_string()).unwrap(),
        some(vec![Change { property: "conductance".into(), source: None, target: None }])
    );
    // Rules appended to an obi-one config: merged over its export as rules JSON.
    let appended = merge_patch(&obi, patch_rules()).unwrap();
    assert!(appended.contains("\"rules_version\": 1"));
}

fn patch_rules() -> &'static str {
    r#"{"rules": [{"name": "late", "assign": {"u_syn": {"type": "constant", "mean": 0.5}}}]}"#
}

#[test]
fn a_patched_run_differs_from_the_recorded_run_exactly_where_the_patch_says() {
    let recorded = recorded_model();
    let patch = r#"{"prop_stats": {"conductance": {"EXC": {"INH": {"type": "gamma", "mean": 3.0, "std": 0.3, "shared_within": false}}},
                                   "u_syn": {"INH": {"INH": {"type": "normal", "mean": 0.4, "std": 0.05}}}}}"#;
    // Recorded as a sidecar records it, then re-parameterized from that sidecar.
    let config_text = recorded.replace("-Infinity", "-1e308");
    let sidecar = json!({
        "tool": "synparam", "format": 2, "version": "0.1.0", "seed": 7, "pathway_property": "synapse_class",
        "fallback_value": null, "overwrite_if_exists": false, "edge_populations": null,
        "model_config": serde_json::from_str::<Value>(&config_text).unwrap(),
        "model_config_sha256": synparam::output::sidecar::config_sha256(&config_text),
        "inputs": {"circuit_config.json": "a".repeat(64)}
    })
    .to_string();
    let change = reparameterize(&sidecar, patch).unwrap();
    assert_eq!(change.recorded.seed, 7);
    assert_eq!(change.parent.changes, some(vec![cell("conductance", "EXC", "INH"), cell("u_syn", "INH", "INH")]));
    assert_eq!(change.parent.model_config_sha256, synparam::output::sidecar::config_sha256(&config_text));
    let record = change.parent.to_json();
    assert_eq!(record["patch"]["prop_stats"]["u_syn"]["INH"]["INH"]["mean"], 0.4);
    assert_eq!(record["changes"]["kind"], "some");
    assert_eq!(record["sidecar_sha256"].as_str().unwrap().len(), 64);
    for workers in [1, 2] {
        let (before, after) = (run(&change.recorded.config_text, workers), run(&change.model_text, workers));
        let (same, different) = check_against_base(&before, &after, &change.parent.changes, &[]);
        assert!(same > 0 && different > 0);
        assert_eq!(before.digests["n_rrp_vesicles"], after.digests["n_rrp_vesicles"]);
        assert_eq!(before.digests["syn_type_id"], after.digests["syn_type_id"]);
        assert_ne!(before.digests["conductance"], after.digests["conductance"]);
    }
    // A parent sidecar whose model was edited is refused.
    let edited = sidecar.replace("\"random_seed\":7", "\"random_seed\":8");
    assert!(error(reparameterize(&edited, patch)).contains("the recorded model was edited"));
    // Nothing changes for a patch that restates a spec.
    let restated =
        r#"{"prop_stats": {"syn_type_id": {"EXC": {"EXC": {"type": "constant", "mean": 113.0, "dtype": "int"}}}}}"#;
    assert!(changes_between(&recorded, &merge_patch(&recorded, restated).unwrap()).unwrap().is_empty());
}

#[test]
fn by_synapse_cases_and_synapse_conditions_are_values_not_axes_and_their_changes_count() {
    // A by_synapse spec's cases (a list) and a where test's values stay as written; a list of
    // range ends is an axis.
    let by_synapse = json!({"type": "by_synapse", "cases": [
        {"where": {"afferent_section_type": ["axon", "soma"], "distance_soma": {"max": [100, 200]}}, "spec": {"type": "constant", "mean": 2}}],
        "otherwise": {"type": "gamma", "mean": [1.0, 1.5], "std": 0.3}});
    let config = json!({"scan": "grid", "src_types": ["A"], "tgt_types": ["A"], "prop_stats": {"conductance": {"A": {"A": by_synapse}}}});
    let plan = plan_scan(&config.to_string(), None).unwrap();
    let paths: Vec<&str> = plan.axes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        ["prop_stats.conductance.A.A.cases[0].where.distance_soma.max", "prop_stats.conductance.A.A.otherwise.mean"]
    );
    assert_eq!(plan.count(), 4);
    // Rules: a synapse condition's list of values is one condition, not an axis.
    let rules = json!({"scan": "grid", "rules_version": 1, "random_seed": [1, 2], "rules": [
        {"name": "all", "assign": {"conductance": {"type": "gamma", "mean": 1, "std": 0.3}}},
        {"name": "soma and axon", "synapse": {"afferent_section_type": ["axon", "soma"]}, "assign": {"conductance": {"type": "constant", "mean": 3}}}]});
    let plan = plan_scan(&rules.to_string(), None).unwrap();
    assert_eq!(plan.axes.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(), ["random_seed"]);
    // A rule whose synapse condition changed changes its properties.
    let base = json!({"rules_version": 1, "rules": [
        {"name": "all", "assign": {"conductance": {"type": "gamma", "mean": 1, "std": 0.3}}},
        {"name": "soma", "synapse": {"afferent_section_type": ["soma"]}, "assign": {"conductance": {"type": "constant", "mean": 3}}}]});
    let mut other = base.clone();
    other["rules"][1]["synapse"] = json!({"afferent_section_type": ["axon"]});
    let changes = changes_between(&base.to_string(), &other.to_string()).unwrap();
    assert_eq!(
        changes,
        Changes::Some { changed: vec![Change { property: "conductance".into(), source: None, target: None }] }
    );
}

// ---------------------------------------------------------------- redrawing over a copy

/// The datasets a whole run of `config` writes into the test network, in order (as a host reads
/// back the first point's).
fn written(config: &str) -> Vec<WrittenDataset> {
    let mut run = Parameterizer::new(config, None).unwrap();
    run.add_edge_population("pop", nodes(), nodes(), "synapse_class", None).unwrap();
    let plan = run.plan_output("pop", network().len() as u64, &[], &[0], false, None).unwrap();
    plan.datasets
        .iter()
        .map(|d| WrittenDataset { property: d.property.clone(), storage: d.storage.to_string() })
        .collect()
}

#[test]
fn a_point_redraws_only_what_it_changes_with_the_bits_of_the_whole_run() {
    for name in ["grid_task.json", "coupled_task.json"] {
        let plan = plan_scan(&fixture(name), None).unwrap();
        let first_written = written(&plan.points[0].model_text);
        let first = redraw_config(&plan.points[0].model_text, &plan.points[0].changes, &first_written).unwrap();
        assert_eq!(first.reason.as_deref(), Some("no property is changed"));
        assert!(first.config_text.is_none());
        for point in &plan.points[1..] {
            let redraw = redraw_config(&point.model_text, &point.changes, &first_written).unwrap();
            let text = redraw.config_text.as_deref().unwrap_or_else(|| panic!("{}: {:?}", point.name, redraw.reason));
            for workers in [1, 3] {
                let (whole, part) = (run(&point.model_text, workers), run(text, workers));
                let drawn: Vec<&str> = part.digests.keys().map(String::as_str).collect();
                let mut expected: Vec<&str> = redraw.properties.iter().map(String::as_str).collect();
                expected.sort();
                assert_eq!(drawn, expected, "{name} {}", point.name);
                for (property, digest) in &part.digests {
                    assert_eq!(&whole.digests[property], digest, "{name} {} {property}", point.name);
                }
                for ((property, edge), bits) in &part.values {
                    assert_eq!(
                        whole.values[&(property.clone(), *edge)],
                        *bits,
                        "{name} {} {property} {edge}",
                        point.name
                    );
                }
            }
        }
    }
    // A changed correlated property redraws its whole group (the copula draws them together), in
    // prop_stats order.
    let plan = plan_scan(&fixture("coupled_task.json"), None).unwrap();
    let first_written = written(&plan.points[0].model_text);
    let redraw = redraw_config(&plan.points[2].model_text, &plan.points[2].changes, &first_written).unwrap();
    assert_eq!(redraw.properties, ["conductance", "depression_time"]);
    let text: Value = serde_json::from_str(redraw.config_text.as_deref().unwrap()).unwrap();
    assert_eq!(text["pathway_param_dict"]["prop_cov"]["props"], json!(["conductance", "depression_time"]));
    assert_eq!(text["random_seed"], json!(3), "the settings are kept");
}

#[test]
fn a_point_that_cannot_redraw_alone_says_why() {
    let plan = plan_scan(&fixture("coupled_task.json"), None).unwrap();
    let text = &plan.points[1].model_text;
    let first = written(&plan.points[0].model_text);
    let reason =
        |text: &str, changes: &Changes, first: &[WrittenDataset]| redraw_config(text, changes, first).unwrap().reason;
    let everything = Changes::Everything { reasons: vec!["random_seed: 3 → 4".into()] };
    assert_eq!(reason(text, &everything, &first).as_deref(), Some("everything changes (random_seed: 3 → 4)"));
    let unknown = some(vec![cell("u_syn", "EXC", "EXC")]);
    assert_eq!(reason(text, &unknown, &first).as_deref(), Some("'u_syn' is not a property of the model drawn"));
    let conductance = some(vec![cell("conductance", "INH", "INH")]);
    // A property the first point did not write (an axis adding one), or another order: a whole
    // run would create other datasets.
    let mut added: Value = serde_json::from_str(text).unwrap();
    added["pathway_param_dict"]["prop_stats"]["u_syn"] =
        added["pathway_param_dict"]["prop_stats"]["depression_time"].clone();
    assert_eq!(
        reason(&added.to_string(), &conductance, &first).as_deref(),
        Some("its properties (conductance, n_rrp_vesicles, depression_time, u_syn) are not those the first point wrote (conductance, n_rrp_vesicles, depression_time), in that order")
    );
    let reordered: Vec<WrittenDataset> = [2, 0, 1].iter().map(|&i| first[i].clone()).collect();
    assert!(reason(text, &conductance, &reordered)
        .unwrap()
        .starts_with("its properties (conductance, n_rrp_vesicles, depression_time) are not those"));
    // A redrawn dataset stored in another type than a whole run of this point creates.
    let mut float64 = first.clone();
    float64[0].storage = "float64".into();
    assert_eq!(
        reason(text, &conductance, &float64).as_deref(),
        Some("the first point stored 'conductance' as float64, a whole run of this point creates float32")
    );
    // A model reading a per-synapse attribute would read it from the copy.
    let mut config: Value = serde_json::from_str(text).unwrap();
    config["pathway_param_dict"]["prop_stats"]["n_rrp_vesicles"]["INH"]["INH"] = json!({"type": "poisson", "mean": 4.0, "scale_by": {"attribute": "afferent_section_pos", "linear": [1.0, 0.5]}});
    assert_eq!(
        reason(&config.to_string(), &conductance, &first).as_deref(),
        Some("the model reads per-synapse attributes (afferent_section_pos)")
    );
    assert!(error(redraw_config("{", &unknown, &first)).contains("JSON"), "a config that does not parse is an error");
}

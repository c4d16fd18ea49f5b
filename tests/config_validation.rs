//! Every validation rule, each asserting the JSON path its error names (design §2.1, issue 2).
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use synparam::config::{
    parse_pathway_spec, parse_task, spec_schema, ColumnType, Fallback, IntType, RunOverrides, SettingSource,
    DEFAULT_PATHWAY_PROPERTY,
};
use synparam::Error;

/// A valid two-value model (EXC/INH) whose `conductance` EXC→INH spec is `spec`.
fn model_with_spec(spec: Value) -> Value {
    let good = json!({"type": "gamma", "mean": 1.0, "std": 0.5});
    json!({
        "src_types": ["EXC", "INH"],
        "tgt_types": ["EXC", "INH"],
        "prop_stats": {
            "conductance": {
                "EXC": {"EXC": good, "INH": spec},
                "INH": {"EXC": good, "INH": good}
            }
        }
    })
}

/// The path and message of the error `config` produces.
fn error_of(config: &Value) -> (String, String) {
    match parse_task(&config.to_string()) {
        Err(Error::Config { path, message }) => (path, message),
        other => panic!("expected a config error, got {other:?}"),
    }
}

fn assert_error(config: Value, path: &str, message_part: &str) {
    let (actual_path, message) = error_of(&config);
    assert_eq!(actual_path, path, "message: {message}");
    assert!(message.contains(message_part), "message '{message}' lacks '{message_part}'");
}

const CELL: &str = "prop_stats.conductance.EXC.INH";

#[test]
fn a_valid_model_and_task_parse() {
    let task = parse_task(&model_with_spec(json!({"type": "normal", "mean": 1, "std": 0.1})).to_string()).unwrap();
    assert_eq!(task.model.properties.len(), 1);
    assert_eq!(task.model.pathway_count(), 4);
    let wrapped = json!({"pathway_property": "synapse_class", "random_seed": 3, "overwrite_if_exists": true,
        "pathway_param_dict": model_with_spec(json!({"type": "zero"}))});
    let task = parse_task(&wrapped.to_string()).unwrap();
    assert_eq!(task.seed, Some(3));
    assert_eq!(task.overwrite_if_exists, Some(true));
    assert_eq!(task.pathway_property.as_deref(), Some("synapse_class"));
}

#[test]
fn invalid_json_is_reported_at_the_root() {
    let err = parse_task("{\"src_types\": [").unwrap_err();
    assert_eq!(err.path(), Some("$"));
    assert!(err.to_string().contains("not valid JSON"));
}

#[test]
fn missing_and_malformed_type_lists() {
    let mut config = model_with_spec(json!({"type": "zero"}));
    config.as_object_mut().unwrap().remove("tgt_types");
    assert_error(config, "tgt_types", "missing");
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["src_types"] = json!(["EXC", "EXC"]);
    assert_error(config, "src_types[1]", "duplicate");
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["src_types"] = json!([]);
    assert_error(config, "src_types", "at least one");
}

#[test]
fn missing_source_and_target_entries() {
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_stats"]["conductance"].as_object_mut().unwrap().remove("INH");
    assert_error(config, "prop_stats.conductance.INH", "missing");
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_stats"]["conductance"]["EXC"].as_object_mut().unwrap().remove("INH");
    assert_error(config, CELL, "missing");
}

#[test]
fn extra_source_target_and_top_level_keys() {
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_stats"]["conductance"]["L5"] = json!({});
    assert_error(config, "prop_stats.conductance.L5", "not in src_types");
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_stats"]["conductance"]["EXC"]["L5"] = json!({"type": "zero"});
    assert_error(config, "prop_stats.conductance.EXC.L5", "not in tgt_types");
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_covariance"] = json!({});
    assert_error(config, "prop_covariance", "unknown key");
    let task = json!({"pathway_param_dict": model_with_spec(json!({"type": "zero"})), "random_sead": 1});
    assert_error(task, "random_sead", "unknown key");
}

#[test]
fn task_form_paths_are_prefixed() {
    let task = json!({"pathway_property": "synapse_class",
        "pathway_param_dict": model_with_spec(json!({"type": "gamma", "mean": 1.0}))});
    assert_error(task, "pathway_param_dict.prop_stats.conductance.EXC.INH.std", "missing");
    let task = json!({"pathway_param_dict": model_with_spec(json!({"type": "zero"})), "random_seed": -1});
    assert_error(task, "random_seed", "non-negative integer");
    let task = json!({"pathway_param_dict": model_with_spec(json!({"type": "zero"})), "overwrite_if_exists": "yes"});
    assert_error(task, "overwrite_if_exists", "true/false");
}

#[test]
fn distribution_type_is_required_and_known() {
    assert_error(model_with_spec(json!({"mean": 1.0})), &format!("{CELL}.type"), "missing");
    assert_error(model_with_spec(json!({"type": "weibull"})), &format!("{CELL}.type"), "unknown distribution type");
}

#[test]
fn missing_and_extra_spec_keys() {
    assert_error(model_with_spec(json!({"type": "normal", "mean": 1.0})), &format!("{CELL}.std"), "missing");
    assert_error(
        model_with_spec(json!({"type": "truncnorm", "norm_loc": 0, "norm_scale": 1, "min": 0})),
        &format!("{CELL}.max"),
        "missing",
    );
    assert_error(model_with_spec(json!({"type": "discrete", "val": [1]})), &format!("{CELL}.p"), "missing");
    assert_error(
        model_with_spec(json!({"type": "gamma", "mean": 1, "std": 1, "shape": 2})),
        &format!("{CELL}.shape"),
        "unknown key",
    );
}

#[test]
fn descriptive_keys_of_fitted_models_are_accepted_with_a_notice() {
    let task = parse_task(
        &model_with_spec(json!({"type": "constant", "mean": 1, "std": 0.2, "std-within": 0.1, "min": 0, "max": 3}))
            .to_string(),
    )
    .unwrap();
    assert!(task.model.notices.iter().any(|n| n.contains(&format!("{CELL}.std-within"))));
    assert!(task.model.notices.iter().any(|n| n.contains(&format!("{CELL}.std:"))));
}

#[test]
fn n_syn_per_conn_is_accepted_and_ignored() {
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["prop_stats"]["n_syn_per_conn"] = json!({"whatever": "is here"});
    let task = parse_task(&config.to_string()).unwrap();
    assert_eq!(task.model.properties.len(), 1);
    assert!(task.model.notices.iter().any(|n| n.contains("n_syn_per_conn")));
}

#[test]
fn non_finite_numbers_are_named() {
    // Python's json.dumps writes bare NaN / Infinity.
    let text =
        model_with_spec(json!({"type": "normal", "mean": 1.0, "std": 0.25})).to_string().replace("0.25}", "NaN}");
    let err = parse_task(&text).unwrap_err();
    assert_eq!(err.path(), Some("prop_stats.conductance.EXC.INH.std"), "{err}");
    assert!(err.to_string().contains("finite"));
    let text = model_with_spec(json!({"type": "constant", "mean": 7.0})).to_string().replace("7.0", "-Infinity");
    assert_eq!(parse_task(&text).unwrap_err().path(), Some("prop_stats.conductance.EXC.INH.mean"));
    // Strings that merely contain the word are untouched.
    let mut config = model_with_spec(json!({"type": "zero"}));
    config["src_types"] = json!(["EXC", "INH"]);
    config["prop_stats"]["NaN_Infinity"] = config["prop_stats"]["conductance"].clone();
    assert!(parse_task(&config.to_string()).is_ok());
}

#[test]
fn one_sided_truncnorm_accepts_infinite_edges() {
    let text = model_with_spec(json!({"type": "truncnorm", "norm_loc": 0, "norm_scale": 1, "min": 2.0, "max": 99.0}))
        .to_string()
        .replace("99.0", "Infinity");
    assert!(parse_task(&text).is_ok());
}

#[test]
fn range_errors_of_each_distribution() {
    let cases = [
        (json!({"type": "gamma", "mean": 0.0, "std": 1.0}), "mean", "gamma mean must be > 0"),
        (json!({"type": "gamma", "mean": -1.0, "std": 1.0}), "mean", "> 0"),
        (json!({"type": "gamma", "mean": 1.0, "std": -1.0}), "std", "≥ 0"),
        (json!({"type": "normal", "mean": 1.0, "std": -0.1}), "std", "≥ 0"),
        (
            json!({"type": "truncnorm", "norm_loc": 0, "norm_scale": 1, "min": 2, "max": 1}),
            "min",
            "must not exceed max",
        ),
        (json!({"type": "truncnorm", "norm_loc": 0, "norm_scale": -1, "min": 0, "max": 1}), "norm_scale", "≥ 0"),
        (json!({"type": "poisson", "mean": -0.5}), "mean", "≥ 0"),
        (json!({"type": "ztpoisson", "mean": 0.5}), "mean", "≥ 1"),
        (json!({"type": "lognormal", "mean": 0, "sigma": -1}), "sigma", "≥ 0"),
        (json!({"type": "exponential", "scale": -1}), "scale", "≥ 0"),
        (json!({"type": "uniform", "low": 2, "high": 1}), "low", "must not exceed high"),
    ];
    for (spec, key, message) in cases {
        assert_error(model_with_spec(spec), &format!("{CELL}.{key}"), message);
    }
}

#[test]
fn discrete_lists_are_checked() {
    assert_error(
        model_with_spec(json!({"type": "discrete", "val": [1, 2, 3], "p": [0.5, 0.5]})),
        &format!("{CELL}.p"),
        "same length",
    );
    assert_error(
        model_with_spec(json!({"type": "discrete", "val": [1, 2], "p": [0.5, 0.4]})),
        &format!("{CELL}.p"),
        "sum to 0.9",
    );
    assert_error(
        model_with_spec(json!({"type": "discrete", "val": [1, 2], "p": [1.5, -0.5]})),
        &format!("{CELL}.p[1]"),
        "≥ 0",
    );
    assert_error(model_with_spec(json!({"type": "discrete", "val": [], "p": []})), &format!("{CELL}.val"), "empty");
    assert_error(
        model_with_spec(json!({"type": "discrete", "val": [1, "two"], "p": [0.5, 0.5]})),
        &format!("{CELL}.val[1]"),
        "must be a number",
    );
    // Within 1e-8 relative of 1 is fine.
    assert!(parse_task(
        &model_with_spec(json!({"type": "discrete", "val": [1, 2], "p": [0.5, 0.500000001]})).to_string()
    )
    .is_ok());
}

#[test]
fn bounds_dtype_and_shared_within_are_checked() {
    assert_error(
        model_with_spec(json!({"type": "zero", "lower_bound": 2, "upper_bound": 1})),
        &format!("{CELL}.lower_bound"),
        "must not exceed upper_bound",
    );
    assert_error(
        model_with_spec(json!({"type": "zero", "dtype": "complex128"})),
        &format!("{CELL}.dtype"),
        "unknown dtype",
    );
    assert_error(
        model_with_spec(json!({"type": "zero", "shared_within": "no"})),
        &format!("{CELL}.shared_within"),
        "true/false",
    );
    // 1.0 / 0.0 are accepted as ConnPropsModel stores them.
    let task = parse_task(&model_with_spec(json!({"type": "zero", "shared_within": 0.0})).to_string()).unwrap();
    assert!(!task.model.properties[0].pathways[1].shared_within);
    assert!(task.model.properties[0].pathways[0].shared_within, "default is true");
}

#[test]
fn column_types_follow_dtype_and_promote_across_pathways() {
    let config = model_with_spec(json!({"type": "constant", "mean": 3, "dtype": "uint32"}));
    // Other cells are gamma (float64): promotion gives float64.
    assert_eq!(parse_task(&config.to_string()).unwrap().model.properties[0].column_type, ColumnType::Float64);
    let all_int = json!({"src_types": ["A"], "tgt_types": ["A"],
        "prop_stats": {"n": {"A": {"A": {"type": "poisson", "mean": 2}}}, "m": {"A": {"A": {"type": "gamma", "mean": 2, "std": 1, "dtype": "int"}}}}});
    let model = parse_task(&all_int.to_string()).unwrap().model;
    assert_eq!(model.properties[0].column_type, ColumnType::Int(IntType::I64));
    assert_eq!(model.properties[1].column_type, ColumnType::Int(IntType::I64));
}

fn correlated_model(cov: Value) -> Value {
    let mut config = model_with_spec(json!({"type": "gamma", "mean": 1.0, "std": 0.5}));
    let n = json!({"type": "normal", "mean": 0.5, "std": 0.1});
    config["prop_stats"]["u_syn"] = json!({"EXC": {"EXC": n, "INH": n}, "INH": {"EXC": n, "INH": n}});
    config["prop_cov"] = cov;
    config
}

fn cov_everywhere(matrix: Value) -> Value {
    json!({"props": ["conductance", "u_syn"], "cov": {
        "EXC": {"EXC": matrix, "INH": matrix}, "INH": {"EXC": matrix, "INH": matrix}}})
}

#[test]
fn prop_cov_is_validated() {
    assert!(parse_task(&correlated_model(cov_everywhere(json!([[1.0, 0.5], [0.5, 1.0]]))).to_string()).is_ok());
    assert!(parse_task(&correlated_model(json!({})).to_string()).unwrap().model.correlation.is_none());
    let path = "prop_cov.cov.EXC.EXC";
    assert_error(correlated_model(cov_everywhere(json!([[1.0, 0.5]]))), path, "got 1 rows");
    assert_error(
        correlated_model(cov_everywhere(json!([[1.0, 0.5, 0.0], [0.5, 1.0]]))),
        &format!("{path}[0]"),
        "must have 2 entries",
    );
    assert_error(
        correlated_model(cov_everywhere(json!([[1.0, 0.5], [0.4, 1.0]]))),
        &format!("{path}[1][0]"),
        "symmetric",
    );
    assert_error(
        correlated_model(cov_everywhere(json!([[2.0, 0.5], [0.5, 1.0]]))),
        &format!("{path}[0][0]"),
        "diagonal must be 1",
    );
    assert_error(
        correlated_model(cov_everywhere(json!([[1.0, 1.5], [1.5, 1.0]]))),
        &format!("{path}[1][0]"),
        "[-1, 1]",
    );
    let three = json!({"props": ["conductance", "u_syn", "conductance"], "cov": {}});
    assert_error(correlated_model(three), "prop_cov.props[2]", "listed twice");
    let unknown = json!({"props": ["conductance", "delay"], "cov": {}});
    assert_error(correlated_model(unknown), "prop_cov.props[1]", "not a property");
    let no_cov = json!({"props": ["conductance", "u_syn"]});
    assert_error(correlated_model(no_cov), "prop_cov.cov", "missing");
    let mut missing_target = cov_everywhere(json!([[1.0, 0.5], [0.5, 1.0]]));
    missing_target["cov"]["INH"].as_object_mut().unwrap().remove("EXC");
    assert_error(correlated_model(missing_target), "prop_cov.cov.INH.EXC", "missing");
}

#[test]
fn prop_cov_must_be_positive_semidefinite() {
    // Three properties with pairwise correlations that no Gaussian vector can have.
    let mut config = correlated_model(json!({}));
    let n = json!({"type": "normal", "mean": 0.0, "std": 1.0});
    config["prop_stats"]["delay"] = json!({"EXC": {"EXC": n, "INH": n}, "INH": {"EXC": n, "INH": n}});
    let bad = json!([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]);
    config["prop_cov"] = json!({"props": ["conductance", "u_syn", "delay"], "cov": {
        "EXC": {"EXC": bad, "INH": bad}, "INH": {"EXC": bad, "INH": bad}}});
    assert_error(config, "prop_cov.cov.EXC.EXC", "positive semi-definite");
    // A singular but semi-definite matrix (perfect correlation) is fine.
    assert!(parse_task(&correlated_model(cov_everywhere(json!([[1.0, 1.0], [1.0, 1.0]]))).to_string()).is_ok());
}

#[test]
fn correlated_properties_must_agree_on_shared_within() {
    let mut config = correlated_model(cov_everywhere(json!([[1.0, 0.5], [0.5, 1.0]])));
    config["prop_stats"]["u_syn"]["INH"]["EXC"]["shared_within"] = json!(false);
    assert_error(config, "prop_stats.u_syn.INH.EXC.shared_within", "inconsistent shared_within");
}

#[test]
fn n_syn_per_conn_cannot_be_correlated() {
    let mut config = correlated_model(json!({"props": ["n_syn_per_conn"], "cov": {}}));
    config["prop_stats"]["n_syn_per_conn"] = json!({});
    assert_error(config, "prop_cov.props[0]", "cannot be correlated");
}

#[test]
fn run_settings_take_the_override_then_the_task_form_then_the_default() {
    let model = model_with_spec(json!({"type": "zero"}));
    let bare = parse_task(&model.to_string()).unwrap().settings(&RunOverrides::default());
    assert_eq!((bare.seed.value, bare.seed.source), (None, SettingSource::Default));
    assert_eq!(bare.pathway_property.value, DEFAULT_PATHWAY_PROPERTY);
    assert_eq!(bare.pathway_property.source, SettingSource::Default);
    assert_eq!((bare.fallback.value, bare.overwrite.value, bare.populations.value), (None, false, None));

    let task = json!({"pathway_property": "mtype", "random_seed": 7, "overwrite_if_exists": false,
        "fallback_pathway_value": "EXC", "edge_populations": ["a"], "pathway_param_dict": model});
    let task = parse_task(&task.to_string()).unwrap();
    let from_config = task.settings(&RunOverrides::default());
    assert_eq!((from_config.seed.value, from_config.seed.source), (Some(7), SettingSource::Config));
    assert_eq!(from_config.pathway_property.value, "mtype");
    assert_eq!(from_config.fallback.value, Some(Fallback::every("EXC")));
    // An explicit false in the config is the config's, not the default.
    assert_eq!((from_config.overwrite.value, from_config.overwrite.source), (false, SettingSource::Config));
    assert_eq!(from_config.populations.value, Some(vec!["a".to_string()]));

    let overrides = RunOverrides {
        seed: Some(0),
        pathway_property: Some("synapse_class".into()),
        fallback: Some(Fallback::every("INH")),
        overwrite: Some(true),
        populations: Some(vec!["b".into()]),
    };
    let overridden = task.settings(&overrides);
    assert_eq!((overridden.seed.value, overridden.seed.source), (Some(0), SettingSource::Override));
    assert_eq!(overridden.pathway_property.source, SettingSource::Override);
    assert_eq!(overridden.fallback.value, Some(Fallback::every("INH")));
    assert_eq!((overridden.overwrite.value, overridden.overwrite.source), (true, SettingSource::Override));
    assert_eq!(overridden.populations.value, Some(vec!["b".to_string()]));
}

#[test]
fn the_spec_schema_is_what_the_parser_accepts() {
    let schema = spec_schema();
    assert_eq!(schema.distributions.len(), 16); // with functionalizer's fz_truncnorm, fz_nrrp, fz_delay, lin_delay and empirical
    for (kind, parameters) in &schema.distributions {
        // Every listed parameter is accepted; a spec missing one names it.
        for missing in parameters {
            let mut spec = serde_json::Map::new();
            spec.insert("type".into(), json!(kind));
            for p in parameters.iter().filter(|p| *p != missing) {
                let value = match p.as_str() {
                    "val" | "p" | "values" => json!([1.0]),
                    "table" => json!("t"),
                    _ => json!(1.0),
                };
                spec.insert(p.clone(), value);
            }
            let error = parse_pathway_spec(&Value::Object(spec).to_string()).unwrap_err().to_string();
            assert!(error.contains(missing.as_str()), "{kind} without {missing}: {error}");
        }
    }
    for dtype in &schema.dtypes {
        let spec = json!({"type": "constant", "mean": 1, "dtype": dtype});
        assert!(parse_pathway_spec(&spec.to_string()).is_ok(), "dtype {dtype}");
    }
    assert_eq!(
        schema.common_keys,
        ["shared_within", "lower_bound", "upper_bound", "dtype", "shift", "truncate", "scale_by"]
    );
    // The per-synapse laws are exactly those whose shared_within the parser refuses.
    for kind in &schema.per_synapse {
        let parameters = &schema.distributions.iter().find(|(k, _)| k == kind).unwrap().1;
        let mut spec: serde_json::Map<String, Value> = parameters.iter().map(|p| (p.clone(), json!(1.0))).collect();
        spec.insert("type".into(), json!(kind));
        spec.insert("shared_within".into(), json!(true));
        assert!(parse_pathway_spec(&Value::Object(spec).to_string()).is_err(), "{kind} shared within a connection");
    }
    assert_eq!(schema.derived_attributes, ["distance_soma"]);
}

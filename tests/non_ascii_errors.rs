//! Every config error path, reached with non-ASCII names and values (Greek, accented, CJK, RTL,
//! emoji, long strings): each must come back as a `ConfigError` naming the path, never a panic
//! (issue 11: a byte-index slice of a non-ASCII value used to trap the wasm module).
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use synparam::config::{parse_pathway_spec, parse_task};
use synparam::Error;

const E: &str = "ÉXC→興奮";
const I: &str = "İNH‏עכבה";
const PROP: &str = "κ_conductance🧠";
const LONG: &str = "éééééééééééééééééééééééééééééééééééééééééééééééééééééé";

fn good() -> Value {
    json!({"type": "gamma", "mean": 1.0, "std": 0.5})
}

/// A valid task whose names are all non-ASCII, with a correlated pair.
fn base() -> Value {
    let row = json!({E: good(), I: good()});
    let normal = json!({"type": "normal", "mean": 0.5, "std": 0.1});
    json!({
        "pathway_property": "クラス",
        "random_seed": 7,
        "fallback_pathway_value": E,
        "pathway_param_dict": {
            "src_types": [E, I],
            "tgt_types": [E, I],
            "prop_stats": {
                PROP: {E: row.clone(), I: row},
                "ü_syn": {E: {E: normal.clone(), I: normal.clone()}, I: {E: normal.clone(), I: normal}}
            },
            "prop_cov": {"props": [PROP, "ü_syn"], "cov": {
                E: {E: [[1.0, 0.3], [0.3, 1.0]], I: [[1.0, 0.3], [0.3, 1.0]]},
                I: {E: [[1.0, 0.3], [0.3, 1.0]], I: [[1.0, 0.3], [0.3, 1.0]]}
            }}
        }
    })
}

fn model(config: &mut Value) -> &mut Value {
    &mut config["pathway_param_dict"]
}

fn cov(config: &mut Value) -> &mut Value {
    &mut config["pathway_param_dict"]["prop_cov"]
}

fn cell(config: &mut Value) -> &mut Value {
    &mut config["pathway_param_dict"]["prop_stats"][PROP][E][I]
}

/// Apply `change` to the base task and expect a config error whose path contains `path_part`
/// and whose message contains `message_part`.
fn expect(change: impl FnOnce(&mut Value), path_part: &str, message_part: &str) {
    let mut config = base();
    change(&mut config);
    let text = config.to_string();
    let outcome = std::panic::catch_unwind(|| parse_task(&text));
    match outcome {
        Err(_) => panic!("panicked on {text}"),
        Ok(Err(Error::Config { path, message })) => {
            assert!(path.contains(path_part), "path '{path}' lacks '{path_part}' (message: {message})");
            assert!(message.contains(message_part), "message '{message}' lacks '{message_part}'");
        }
        Ok(other) => panic!("expected a config error for {text}, got {other:?}"),
    }
}

#[test]
fn the_non_ascii_base_task_is_valid() {
    let task = parse_task(&base().to_string()).unwrap();
    assert_eq!(task.model.src_types, [E, I]);
    assert_eq!(task.pathway_property.as_deref(), Some("クラス"));
}

#[test]
fn type_and_value_errors_shorten_long_non_ascii_values_by_characters() {
    expect(|c| cell(c)["mean"] = json!(LONG), "mean", "must be a number, got \"ééé");
    expect(|c| cell(c)["mean"] = json!("éééééééééééééééééééééééééééééé"), "mean", "must be a number");
    expect(|c| cell(c)["std"] = json!([LONG, LONG]), "std", "must be a number");
    expect(|c| cell(c)["shared_within"] = json!(LONG), "shared_within", "must be true/false");
    expect(|c| cell(c)["dtype"] = json!({LONG: LONG}), "dtype", "must be a string");
    expect(|c| c["random_seed"] = json!(LONG), "random_seed", "non-negative integer");
    expect(|c| c["pathway_property"] = json!([LONG]), "pathway_property", "must be a string");
    expect(
        |c| c["fallback_pathway_value"] = json!(1.5),
        "fallback_pathway_value",
        "must be a pathway value, or an object",
    );
    expect(|c| c["edge_populations"] = json!(LONG), "edge_populations", "list of strings");
    expect(|c| c["edge_populations"] = json!([1]), "edge_populations[0]", "must be a string");
}

#[test]
fn structure_errors_name_non_ascii_paths() {
    expect(|c| c[LONG] = json!(1), LONG, "unknown key in task config");
    expect(|c| model(c)["ключ"] = json!(1), "ключ", "unknown key in ConnPropsModel");
    expect(|c| model(c)["model"] = json!("模型"), "model", "only ConnPropsModel");
    expect(|c| *model(c) = json!("模型"), "pathway_param_dict", "must be a JSON object");
    expect(|c| model(c).as_object_mut().unwrap().remove("src_types").map(drop).unwrap(), "src_types", "missing");
    expect(|c| model(c)["src_types"] = json!([]), "src_types", "at least one");
    expect(|c| model(c)["tgt_types"] = json!([E, E]), "tgt_types[1]", "duplicate pathway value 'ÉXC→興奮'");
    expect(|c| model(c)["src_types"] = json!(E), "src_types", "list of strings");
    expect(|c| model(c)["prop_stats"] = json!(LONG), "prop_stats", "must be an object");
    expect(|c| model(c)["prop_stats"] = json!({}), "prop_stats", "no property to draw");
    expect(|c| model(c)["prop_stats"][PROP] = json!(3), PROP, "must be an object");
    expect(|c| model(c)["prop_stats"][PROP]["Ωmega"] = json!({}), "Ωmega", "'Ωmega' is not in src_types");
    expect(|c| model(c)["prop_stats"][PROP].as_object_mut().unwrap().remove(I).map(drop).unwrap(), I, "needs a spec");
    expect(|c| model(c)["prop_stats"][PROP][E] = json!([]), E, "must be an object {target: spec}");
    expect(|c| model(c)["prop_stats"][PROP][E]["Ωmega"] = json!({}), "Ωmega", "is not in tgt_types");
    expect(
        |c| model(c)["prop_stats"][PROP][E].as_object_mut().unwrap().remove(I).map(drop).unwrap(),
        I,
        "needs a spec",
    );
}

#[test]
fn spec_errors_name_non_ascii_paths() {
    expect(|c| *cell(c) = json!(LONG), I, "must be an object {\"type\"");
    expect(|c| cell(c).as_object_mut().unwrap().remove("type").map(drop).unwrap(), "type", "missing (one of");
    expect(|c| cell(c)["type"] = json!("ガンマ"), "type", "unknown distribution type 'ガンマ'");
    expect(|c| cell(c)["形"] = json!(1), "形", "unknown key for a gamma spec");
    expect(
        |c| cell(c).as_object_mut().unwrap().remove("std").map(drop).unwrap(),
        "std",
        "missing (required for gamma)",
    );
    expect(|c| cell(c)["std"] = json!(-1), "std", "must be ≥ 0");
    expect(|c| cell(c)["mean"] = json!(0), "mean", "gamma mean must be > 0");
    expect(
        |c| *cell(c) = json!({"type": "gamma", "mean": 1e300, "std": 1e-200}),
        "std",
        "outside what float64 can draw",
    );
    expect(
        |c| *cell(c) = json!({"type": "truncnorm", "norm_loc": 0, "norm_scale": 1, "min": 2, "max": 1}),
        "min",
        "must not exceed max",
    );
    expect(|c| *cell(c) = json!({"type": "poisson", "mean": 1e12}), "mean", "poisson mean must be ≤");
    expect(|c| *cell(c) = json!({"type": "ztpoisson", "mean": 0.5}), "mean", "ztpoisson mean must be ≥ 1");
    expect(|c| *cell(c) = json!({"type": "ztpoisson", "mean": 1e13}), "mean", "ztpoisson mean must be ≤");
    expect(|c| *cell(c) = json!({"type": "uniform", "low": 2, "high": 1}), "low", "must not exceed high");
    expect(|c| *cell(c) = json!({"type": "uniform", "low": -1e308, "high": 1e308}), I, "beyond the float64 range");
    expect(|c| *cell(c) = json!({"type": "lognormal", "mean": 1000, "sigma": 1}), I, "beyond the float64 range");
    expect(
        |c| {
            cell(c)["lower_bound"] = json!(2);
            cell(c)["upper_bound"] = json!(1);
        },
        "lower_bound",
        "must not exceed upper_bound",
    );
    expect(|c| cell(c)["upper_bound"] = json!("上"), "upper_bound", "must be a number");
    expect(|c| cell(c)["dtype"] = json!("整数"), "dtype", "unknown dtype '整数'");
    expect(|c| *cell(c) = json!({"type": "discrete", "val": LONG, "p": [1]}), "val", "must be a list of numbers");
    expect(|c| *cell(c) = json!({"type": "discrete", "val": [], "p": []}), "val", "must not be empty");
    expect(|c| *cell(c) = json!({"type": "discrete", "val": [1, 2], "p": [1]}), "p", "must have the same length");
    expect(
        |c| *cell(c) = json!({"type": "discrete", "val": [1, 2], "p": [1.5, -0.5]}),
        "p[1]",
        "probability must be ≥ 0",
    );
    expect(|c| *cell(c) = json!({"type": "discrete", "val": [1, 2], "p": [0.5, 0.4]}), "p", "sum to");
}

#[test]
fn correlation_errors_name_non_ascii_paths() {
    expect(|c| *cov(c) = json!(LONG), "prop_cov", "must be an object");
    expect(|c| cov(c)["ключ"] = json!(1), "ключ", "unknown key in prop_cov");
    expect(|c| cov(c)["props"] = json!([]), "props", "at least one property");
    expect(|c| cov(c)["props"] = json!([PROP, PROP]), "props[1]", "listed twice");
    expect(|c| cov(c)["props"] = json!([PROP, "n_syn_per_conn"]), "props[1]", "cannot be correlated");
    expect(|c| cov(c)["props"] = json!([PROP, "ωmega"]), "props[1]", "'ωmega' is not a property");
    expect(|c| cov(c)["cov"] = json!(LONG), "cov", "must be an object {source");
    expect(|c| cov(c)["cov"].as_object_mut().unwrap().remove(I).map(drop).unwrap(), I, "every source value needs");
    expect(|c| cov(c)["cov"][E] = json!(1), E, "must be an object {target: matrix}");
    expect(|c| cov(c)["cov"][E].as_object_mut().unwrap().remove(I).map(drop).unwrap(), I, "every target value needs");
    expect(|c| cov(c)["cov"][E][I] = json!(LONG), I, "matrix (list of lists)");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 0.3]]), I, "got 1 rows");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 0.3], LONG]), "[1]", "must be a list of numbers");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 0.3], [0.3]]), "[1]", "must have 2 entries");
    expect(|c| cov(c)["cov"][E][I] = json!([[2.0, 0.3], [0.3, 1.0]]), "[0][0]", "diagonal must be 1");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 0.3], [0.4, 1.0]]), "[1][0]", "symmetric");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 1.5], [1.5, 1.0]]), "[1][0]", "must lie in [-1, 1]");
    expect(|c| cov(c)["cov"][E][I] = json!([[1.0, 0.3, 0.1], [0.3, 1.0, 0.1], [0.1, 0.1, 1.0]]), I, "got 3 rows");
    expect(
        |c| {
            cov(c)["props"] = json!([PROP, "ü_syn", "x"]);
            c["pathway_param_dict"]["prop_stats"]["x"] = c["pathway_param_dict"]["prop_stats"]["ü_syn"].clone();
            for (s, t) in [(E, E), (E, I), (I, E), (I, I)] {
                c["pathway_param_dict"]["prop_cov"]["cov"][s][t] =
                    json!([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]);
            }
        },
        E,
        "positive semi-definite",
    );
    expect(
        |c| c["pathway_param_dict"]["prop_stats"]["ü_syn"][I][E]["shared_within"] = json!(false),
        "shared_within",
        "inconsistent shared_within",
    );
}

#[test]
fn json_and_number_errors_with_non_ascii_text() {
    for text in ["{\"κ\": [", "«»", "{\"src_types\": [\"É\"], NaN: 1}", "\u{202e}{}", "{\"a\":\"\u{0}\"}"] {
        let outcome = std::panic::catch_unwind(|| parse_task(text));
        let error = outcome.unwrap_or_else(|_| panic!("panicked on {text:?}")).unwrap_err();
        assert_eq!(error.path(), Some("$"), "{text:?}: {error}");
    }
    expect(|c| *c = json!(["ä"]), "$", "must be a JSON object");
    let text = base().to_string().replace("\"std\":0.5", "\"std\":NaN");
    let error = parse_task(&text).unwrap_err().to_string();
    assert!(error.contains("must be a finite number, got NaN"), "{error}");
    let text = base().to_string().replace("\"mean\":1.0", "\"mean\":-Infinity");
    assert!(parse_task(&text).is_err());
    for spec in [format!("{{\"type\": \"normal\", \"mean\": \"{LONG}\", \"std\": 1}}"), "\"é\"".to_string()] {
        let outcome = std::panic::catch_unwind(|| parse_pathway_spec(&spec));
        assert!(outcome.expect("no panic").is_err());
    }
}

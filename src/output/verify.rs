//! The checks an output passes before it is published (design §5.3), decided once for every host:
//! which SHA-256 the sidecar records for each output file, and that every copy of an input is that
//! input. The hosts hash the files (in worker threads, while they read back the datasets); the
//! rule, and the message when it fails, are here.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::js_json::sha256_hex;
use super::paths::printable;

/// An output file as a host's plan has it, for the check.
#[derive(Debug, Clone, Deserialize)]
pub struct PlannedFile {
    /// Its path under the output root.
    pub output: String,
    /// `config`, `written` or `input` (as [`super::layout::output_files`] says).
    pub from: String,
    /// The loader's name of the input it comes from (not for the config).
    #[serde(default)]
    pub input: Option<String>,
    /// Whether it is a file of a named folder (those are checked by size, not recorded).
    #[serde(default)]
    pub in_folder: bool,
}

/// The sidecar's `outputs`: the config's SHA-256 (of the text planned), and for every file named
/// by the circuit the SHA-256 its host computed of the output — each copy of an input required to
/// equal that input's. Errors name the output and the input it should equal.
pub fn recorded_output_hashes(
    config_text: Option<&str>,
    plan: &[PlannedFile],
    input_hashes: &Map<String, Value>,
    output_hashes: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut outputs = Map::new();
    for file in plan {
        if file.in_folder {
            continue;
        }
        let hash = if file.from == "config" {
            sha256_hex(config_text.ok_or_else(|| {
                format!("{}: the plan names a config the layout does not have", printable(&file.output))
            })?)
        } else {
            let found = output_hashes.get(&file.output).and_then(Value::as_str).ok_or_else(|| {
                format!("{}: verification failed: the output file was not hashed", printable(&file.output))
            })?;
            if file.from == "input" {
                let input = file.input.as_deref().unwrap_or("");
                if input_hashes.get(input).and_then(Value::as_str) != Some(found) {
                    return Err(format!(
                        "{}: verification failed: the output copy differs from its input {}",
                        printable(&file.output),
                        printable(input)
                    ));
                }
            }
            found.to_string()
        };
        outputs.insert(file.output.clone(), Value::String(hash));
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Vec<PlannedFile> {
        serde_json::from_value(json!([
            {"output": "circuit_config.json", "from": "config"},
            {"output": "edges.h5", "from": "written", "input": "edges.h5"},
            {"output": "nodes.h5", "from": "input", "input": "nodes.h5"},
            {"output": "morph/a.swc", "from": "input", "input": "morph", "in_folder": true}
        ]))
        .unwrap()
    }

    #[test]
    fn copies_must_equal_their_inputs_and_the_config_is_hashed_as_planned() {
        let inputs = json!({"nodes.h5": "n", "edges.h5": "e0"}).as_object().unwrap().clone();
        let outputs = json!({"edges.h5": "e1", "nodes.h5": "n"}).as_object().unwrap().clone();
        let recorded = recorded_output_hashes(Some("{}"), &plan(), &inputs, &outputs).unwrap();
        assert_eq!(recorded.keys().collect::<Vec<_>>(), ["circuit_config.json", "edges.h5", "nodes.h5"]);
        assert_eq!(recorded["circuit_config.json"], json!(sha256_hex("{}")));
        let changed = json!({"edges.h5": "e1", "nodes.h5": "x"}).as_object().unwrap().clone();
        assert_eq!(
            recorded_output_hashes(Some("{}"), &plan(), &inputs, &changed).unwrap_err(),
            "nodes.h5: verification failed: the output copy differs from its input nodes.h5"
        );
        let missing = json!({"edges.h5": "e1"}).as_object().unwrap().clone();
        assert!(recorded_output_hashes(Some("{}"), &plan(), &inputs, &missing).unwrap_err().contains("was not hashed"));
    }
}

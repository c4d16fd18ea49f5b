//! A `ConnPropsModel` dict (design §2.1): `src_types`, `tgt_types`, `prop_stats` with a spec per
//! property and pathway, property names a SONATA edge group can hold, and `prop_cov`'s correlation
//! matrices (design §2.3).

use serde_json::Value;

use super::json::*;
use super::spec::parse_spec;
use super::types::*;
use crate::error::{Error, Num, Result};

pub(super) fn parse_model_value(root: &Value, path: &JsonPath) -> Result<Model> {
    let object = root.as_object().ok_or_else(|| path.error("the model must be a JSON object"))?;
    reject_unknown_keys(
        object,
        &["src_types", "tgt_types", "prop_stats", "prop_cov", "model"],
        path,
        "ConnPropsModel",
    )?;
    if let Some(model_name) = optional(object, "model") {
        let name = string(model_name, &path.key("model"))?;
        if name != "ConnPropsModel" {
            return Err(path.key("model").error(format!("only ConnPropsModel is supported, got '{name}'")));
        }
    }
    let src_types = type_list(object, "src_types", path)?;
    let tgt_types = type_list(object, "tgt_types", path)?;
    let stats_path = path.key("prop_stats");
    let stats = required(object, "prop_stats", path, "ConnPropsModel")?
        .as_object()
        .ok_or_else(|| stats_path.error("must be an object {property: {source: {target: spec}}}"))?;
    let mut notices = Vec::new();
    let mut properties = Vec::new();
    for (name, by_source) in stats {
        let property_path = stats_path.key(name);
        if name == N_SYN_PER_CONN {
            notices.push(format!("{}: ignored (synapses per connection come from the circuit)", property_path.0));
            continue;
        }
        check_property_name(name, &property_path.0)?;
        properties.push(parse_property(name, by_source, &src_types, &tgt_types, &property_path, &mut notices)?);
    }
    if properties.is_empty() {
        return Err(stats_path.error("no property to draw"));
    }
    let mut model = Model { src_types, tgt_types, properties, correlation: None, notices };
    check_empirical_tables(&model, &stats_path)?;
    if let Some(cov) = optional(object, "prop_cov") {
        model.correlation = parse_correlation(cov, &model, &path.key("prop_cov"), &stats_path)?;
    }
    Ok(model)
}

/// Datasets of an edge population that SONATA reserves: a property of that name would be written
/// into the edge group beside (or, for a tool reading the group, instead of) the real one.
pub const RESERVED_EDGE_DATASETS: [&str; 5] =
    ["source_node_id", "target_node_id", "edge_type_id", "edge_group_id", "edge_group_index"];

/// A property name that can be an edge group's dataset: not one SONATA reserves, not an HDF5
/// path or attribute-like name (`@library`, `a/b`, `.`), not a group SONATA defines
/// (`dynamics_params`). Errors at `path`.
pub fn check_property_name(name: &str, path: &str) -> Result<()> {
    let problem = if RESERVED_EDGE_DATASETS.contains(&name) {
        Some("is a dataset SONATA reserves for an edge population's ids and groups, not a synapse property".to_string())
    } else if name.starts_with('@') {
        Some("starts with '@', which SONATA reserves (e.g. @library)".to_string())
    } else if name == "dynamics_params" {
        Some("is the group SONATA reserves for dynamics parameters, not a synapse property".to_string())
    } else if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        Some("is not a dataset name (empty, '.', '..', or containing '/' or a NUL character)".to_string())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::config(path, format!("property '{name}' {problem}"))),
        None => Ok(()),
    }
}

fn parse_property(
    name: &str,
    by_source: &Value,
    src_types: &[String],
    tgt_types: &[String],
    path: &JsonPath,
    notices: &mut Vec<String>,
) -> Result<PropertyModel> {
    let by_source = by_source.as_object().ok_or_else(|| path.error("must be an object {source: {target: spec}}"))?;
    for key in by_source.keys() {
        if !src_types.iter().any(|s| s == key) {
            return Err(path.key(key).error(format!("'{key}' is not in src_types")));
        }
    }
    let mut pathways = Vec::with_capacity(src_types.len() * tgt_types.len());
    for source in src_types {
        let source_path = path.key(source);
        let by_target = by_source
            .get(source)
            .ok_or_else(|| {
                source_path.error(format!("missing: every source value in src_types needs a spec (here '{source}')"))
            })?
            .as_object()
            .ok_or_else(|| source_path.error("must be an object {target: spec}"))?;
        for key in by_target.keys() {
            if !tgt_types.iter().any(|t| t == key) {
                return Err(source_path.key(key).error(format!("'{key}' is not in tgt_types")));
            }
        }
        for target in tgt_types {
            let spec_path = source_path.key(target);
            let spec = by_target.get(target).ok_or_else(|| {
                spec_path.error(format!("missing: every target value in tgt_types needs a spec (here '{target}')"))
            })?;
            pathways.push(parse_spec(spec, &spec_path, notices)?);
        }
    }
    let column_type =
        pathways.iter().map(|p| p.natural_type).reduce(ColumnType::promote).expect("at least one pathway");
    Ok(PropertyModel { name: name.to_string(), pathways, column_type })
}

/// The `empirical` specs naming one table on one pathway share its rows (design §2.2): they must
/// have as many values and the same `shared_within` (one row per connection, or per synapse).
fn check_empirical_tables(model: &Model, stats_path: &JsonPath) -> Result<()> {
    for pathway in 0..model.pathway_count() {
        // Table name → (first property naming it, its rows, its sharing).
        let mut tables: Vec<(&str, &str, usize, bool)> = Vec::new();
        for property in &model.properties {
            let spec = &property.pathways[pathway];
            let Some(table) = &spec.empirical else { continue };
            let (source, target) = model.pathway_names(pathway);
            let spec_path = stats_path.key(&property.name).key(source).key(target);
            match tables.iter().find(|t| t.0 == table.name) {
                None => tables.push((&table.name, &property.name, table.values.len(), spec.shared_within)),
                Some(&(name, first, rows, shared)) => {
                    if table.values.len() != rows {
                        return Err(spec_path.key("values").error(format!(
                            "has {} values but {first} has {rows} in table '{name}' on this pathway: the properties of one table take one row, so they need one value per row each",
                            table.values.len()
                        )));
                    }
                    if spec.shared_within != shared {
                        return Err(spec_path.key("shared_within").error(format!(
                            "is {} but {first} has {shared} in table '{name}' on this pathway: the properties of one table take one row per connection, or one per synapse, together",
                            spec.shared_within
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Tolerance for symmetry and for semi-definite pivots in correlation matrices.
const MATRIX_TOLERANCE: f64 = 1e-12;

fn parse_correlation(
    value: &Value,
    model: &Model,
    path: &JsonPath,
    stats_path: &JsonPath,
) -> Result<Option<Correlation>> {
    let object = value.as_object().ok_or_else(|| path.error("must be an object {props: [...], cov: {...}}"))?;
    if object.is_empty() {
        return Ok(None);
    }
    reject_unknown_keys(object, &["props", "cov"], path, "prop_cov")?;
    let props_path = path.key("props");
    let names = string_list(required(object, "props", path, "prop_cov")?, &props_path)?;
    if names.is_empty() {
        return Err(props_path.error("must name at least one property"));
    }
    let mut properties = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if name == N_SYN_PER_CONN {
            return Err(props_path.index(i).error(format!("{N_SYN_PER_CONN} cannot be correlated")));
        }
        if names[..i].contains(name) {
            return Err(props_path.index(i).error(format!("'{name}' is listed twice")));
        }
        let index = model
            .property_index(name)
            .ok_or_else(|| props_path.index(i).error(format!("'{name}' is not a property in prop_stats")))?;
        properties.push(index);
    }
    let k = names.len();
    let cov_path = path.key("cov");
    let cov = required(object, "cov", path, "prop_cov")?
        .as_object()
        .ok_or_else(|| cov_path.error("must be an object {source: {target: matrix}}"))?;
    let mut factors = Vec::with_capacity(model.pathway_count());
    let mut matrices = Vec::with_capacity(model.pathway_count());
    for (s, source) in model.src_types.iter().enumerate() {
        let source_path = cov_path.key(source);
        let by_target = cov
            .get(source)
            .ok_or_else(|| source_path.error("missing: every source value needs a correlation matrix"))?
            .as_object()
            .ok_or_else(|| source_path.error("must be an object {target: matrix}"))?;
        for (t, target) in model.tgt_types.iter().enumerate() {
            let matrix_path = source_path.key(target);
            let matrix_value = by_target
                .get(target)
                .ok_or_else(|| matrix_path.error("missing: every target value needs a correlation matrix"))?;
            let matrix = parse_matrix(matrix_value, k, &matrix_path)?;
            factors.push(cholesky(&matrix, k).ok_or_else(|| matrix_path.error("must be positive semi-definite"))?);
            matrices.push(matrix);
            let pathway = model.pathway_index(s, t);
            for (i, &p) in properties.iter().enumerate() {
                if model.properties[p].pathways[pathway].empirical.is_some() {
                    return Err(stats_path.key(&names[i]).key(source).key(target).key("type").error(
                        "empirical cannot be in prop_cov: its table's rows keep the observed joint structure already (leave the property out of prop_cov)",
                    ));
                }
                if model.properties[p].pathways[pathway].depends_on_attributes() {
                    return Err(stats_path.key(&names[i]).key(source).key(target).error(
                        "depends on an edge attribute, so it cannot be in prop_cov (the copula draws through a law known before the run)",
                    ));
                }
            }
            let first = model.properties[properties[0]].pathways[pathway].shared_within;
            for (i, &p) in properties.iter().enumerate().skip(1) {
                if model.properties[p].pathways[pathway].shared_within != first {
                    return Err(stats_path.key(&names[i]).key(source).key(target).key("shared_within").error(format!(
                        "inconsistent shared_within among correlated properties ({} has {first})",
                        names[0]
                    )));
                }
            }
        }
    }
    Ok(Some(Correlation { properties, factors, matrices }))
}

fn parse_matrix(value: &Value, k: usize, path: &JsonPath) -> Result<Vec<f64>> {
    let rows = value.as_array().ok_or_else(|| path.error(format!("must be a {k}×{k} matrix (list of lists)")))?;
    if rows.len() != k {
        return Err(path.error(format!("must be {k}×{k} (one row per correlated property), got {} rows", rows.len())));
    }
    let mut matrix = Vec::with_capacity(k * k);
    for (i, row) in rows.iter().enumerate() {
        let row_path = path.index(i);
        let row = row.as_array().ok_or_else(|| row_path.error("must be a list of numbers"))?;
        if row.len() != k {
            return Err(row_path.error(format!("must have {k} entries, got {}", row.len())));
        }
        for (j, entry) in row.iter().enumerate() {
            matrix.push(finite_number(entry, &row_path.index(j))?);
        }
    }
    for i in 0..k {
        if matrix[i * k + i] != 1.0 {
            return Err(path
                .index(i)
                .index(i)
                .error(format!("diagonal must be 1 (a correlation matrix), got {}", matrix[i * k + i])));
        }
        for j in 0..i {
            let (a, b) = (matrix[i * k + j], matrix[j * k + i]);
            if (a - b).abs() > MATRIX_TOLERANCE {
                return Err(path.index(i).index(j).error(format!(
                    "matrix must be symmetric: [{i}][{j}] = {} but [{j}][{i}] = {}",
                    Num(a),
                    Num(b)
                )));
            }
            if a.abs() > 1.0 {
                return Err(path.index(i).index(j).error(format!("correlation must lie in [-1, 1], got {}", Num(a))));
            }
        }
    }
    Ok(matrix)
}

/// Lower Cholesky factor of a positive semi-definite matrix (zero columns for zero pivots), or
/// `None` when the matrix is not semi-definite.
fn cholesky(matrix: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut factor = vec![0.0; k * k];
    for j in 0..k {
        let mut pivot = matrix[j * k + j];
        for m in 0..j {
            pivot -= factor[j * k + m] * factor[j * k + m];
        }
        if pivot < -MATRIX_TOLERANCE {
            return None;
        }
        let diagonal = if pivot <= MATRIX_TOLERANCE { 0.0 } else { libm::sqrt(pivot) };
        factor[j * k + j] = diagonal;
        for i in j + 1..k {
            let mut sum = matrix[i * k + j];
            for m in 0..j {
                sum -= factor[i * k + m] * factor[j * k + m];
            }
            if diagonal == 0.0 {
                if sum.abs() > 1e-9 {
                    return None;
                }
            } else {
                factor[i * k + j] = sum / diagonal;
            }
        }
    }
    Some(factor)
}

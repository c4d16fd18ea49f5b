//! Empirical mode (design §10): the observed property vectors of each pathway written as
//! `empirical` specs (design §2.2), so that a run draws whole observed rows and keeps the joint
//! structure of the data exactly — the fallback when no law fits.
//!
//! **Rows.** The extraction keeps, per pathway, the correlation sample (`correlation_sample`
//! connections with the smallest keys: a keyed uniform subsample, the same for any chunking and
//! number of workers) with, for each connection, every synapse's values (`keep_rows`). Properties
//! shared within connections take table `connections`: one row per sampled connection, its
//! first synapse's values. The others take table `synapses`: one row per synapse of the sampled
//! connections (all synapses of uniformly sampled connections: a sample of the pathway's
//! synapses), drawn per synapse. So the joint law of the shared properties is kept per
//! connection, that of the other properties per synapse; what links a connection's shared values
//! to its synapses' other values, and a connection's synapses to each other, is not.
//!
//! **Pathways without enough connections** take the rows of the pathways their fallback level
//! merges (as every other statistic, `build.rs`): those with the smallest keys among them, at
//! most `correlation_sample` connections, with their synapses. `n_syn_per_conn` keeps its law
//! (`laws`, else connectome-manipulator's discrete), as in cm mode.

use serde_json::{json, Map, Value};

use super::build::{cm_build, fill, report, storage_keys, value_number, BuildOptions, Filled, FitMode, FitOutput, Law};
use super::extract::{trim_rows, CorrelationRow};
use super::fitter::FitData;
use super::report::TableRows;
use crate::config::N_SYN_PER_CONN;
use crate::error::{Error, Result};

/// The table of properties drawn once per connection.
pub const CONNECTION_TABLE: &str = "connections";
/// The table of properties drawn per synapse.
pub const SYNAPSE_TABLE: &str = "synapses";

/// Build the empirical model: `n_syn_per_conn` and the fallback levels as cm mode has them, every
/// fitted property an `empirical` spec over its pathway's rows; the report counts the rows.
pub(super) fn build_empirical(data: &FitData, options: &BuildOptions) -> Result<FitOutput> {
    let keep = match data.settings.correlation_keep() {
        Some(keep) if data.settings.keep_rows => keep,
        _ => {
            return Err(Error::config(
                "mode",
                "empirical mode draws observed rows: extract with keep_rows and correlation_sample (the hosts set them for this mode)",
            ))
        }
    };
    // cm mode with a law for n_syn_per_conn only: its spec, the fill, the report's frame.
    let mut cm = options.clone();
    cm.mode = FitMode::Cm;
    cm.correlations = false;
    cm.default_law = Law::Normal;
    cm.laws = [(N_SYN_PER_CONN.to_string(), options.laws.get(N_SYN_PER_CONN).copied().unwrap_or(Law::Discrete))]
        .into_iter()
        .collect();
    let mut model = cm_build(data, &cm)?.model;
    let Filled { props, blocks, fallbacks, .. } = fill(data, &cm)?;
    let t_count = data.tgt_types.len();
    let mut table_rows = Vec::with_capacity(data.pathways.len());
    for i in 0..data.pathways.len() {
        let rows = rows_of(data, i, &blocks[i], keep);
        let synapse_rows: Vec<&Vec<f64>> = rows.iter().flat_map(|r| &r.synapses).collect();
        table_rows.push(TableRows { connections: rows.len() as u64, synapses: synapse_rows.len() as u64 });
        let (source, target) = (&data.src_types[i / t_count], &data.tgt_types[i % t_count]);
        for (p, property) in data.settings.properties.iter().enumerate() {
            let path = format!("prop_stats.{}.{source}.{target}", property.name);
            let cell =
                props[p][i].as_ref().ok_or_else(|| Error::config(&path, "no data and nothing to fill it from"))?;
            let shared = options.shared_within.get(&property.name).copied().unwrap_or(cell.shared == 1.0);
            let values: Vec<Value> = if shared {
                rows.iter().map(|r| value_number(r.values[p], property.kind)).collect()
            } else {
                synapse_rows.iter().map(|r| value_number(r[p], property.kind)).collect()
            };
            let table = if shared { CONNECTION_TABLE } else { SYNAPSE_TABLE };
            let mut spec = Map::new();
            spec.insert("type".into(), json!(crate::config::EMPIRICAL));
            spec.insert("values".into(), Value::Array(values));
            spec.insert("table".into(), json!(table));
            spec.insert("shared_within".into(), json!(shared));
            // Sharing is written above; the law argument matters only to sharing.
            storage_keys(&mut spec, &path, &property.name, Law::Normal, cell, options, false)?;
            model["prop_stats"][&property.name][source][target] = Value::Object(spec);
        }
    }
    let text = serde_json::to_string(&model).map_err(|e| Error::input("fitted model", e.to_string()))?;
    crate::config::parse_model(&text)?;
    // The report's entries describe the specs written (the data against the rows' law).
    let mut report = report(data, options, &model, &fallbacks)?;
    for (pathway, rows) in report.pathways.iter_mut().zip(table_rows) {
        pathway.rows = Some(rows);
    }
    if options.correlations || data.settings.folds >= 2 {
        report.notes.push(
            "empirical mode: the tables keep the observed joint structure, so no prop_cov is fitted and no law is cross-validated"
                .to_string(),
        );
    }
    Ok(FitOutput { model, report })
}

/// Pathway `i`'s rows: its own, else those with the smallest keys among the pathways its fallback
/// level merged (`block`), at most `keep`.
fn rows_of<'a>(data: &'a FitData, i: usize, block: &[usize], keep: u64) -> std::borrow::Cow<'a, [CorrelationRow]> {
    let own = |k: usize| data.pathways[k].statistics.as_ref().and_then(|s| s.rows.as_deref());
    if let Some(rows) = own(i) {
        return std::borrow::Cow::Borrowed(rows);
    }
    let mut merged: Vec<CorrelationRow> = block.iter().filter_map(|&k| own(k)).flatten().cloned().collect();
    trim_rows(&mut merged, keep);
    std::borrow::Cow::Owned(merged)
}

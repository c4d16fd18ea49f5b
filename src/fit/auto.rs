//! `build` in auto mode, and the cross-validation of any mode's entries.
//!
//! Auto mode keeps connectome-manipulator's structure — the same pathways, the same fallback
//! hierarchy for pathways without data, `shared_within` from the data (majority over the level
//! for filled pathways), the user's `dtype`, bounds and `shared_within` — and changes how each
//! spec is made: per pathway and property, the law chosen by the data (`select.rs`) or the one
//! the user fixed in `laws`, with maximum-likelihood parameters (`laws.rs`). A pathway filled
//! from a level gets the law chosen on the level's pooled data (the sufficient statistics of its
//! pathways merged: the ML of "these pathways share one law"), where connectome-manipulator
//! averages the pathways' statistics; pooled samples have no common histogram bins, so the KS
//! check runs only where their distinct values were kept.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::build::{
    check_options, columns, fill, lin_delay_spec, report, storage_keys, storage_only, BuildOptions, FitMode, FitOutput,
    Law,
};
use super::crossval::{cross_validate, Entry, Method};
use super::fitter::{FitData, Histogram};
use super::numpy::ValueKind;
use super::select::{choose, ChoiceInput};
use super::sufficient::LawSample;
use crate::config::N_SYN_PER_CONN;
use crate::error::{Error, Result};

/// Auto mode: fill like connectome-manipulator, then choose each entry's law by the data.
pub(super) fn build_auto(data: &FitData, options: &BuildOptions) -> Result<FitOutput> {
    check_options(data, options)?;
    let missing = data
        .pathways
        .iter()
        .filter_map(|p| p.statistics.as_ref())
        .any(|s| s.n_syn_per_conn_folds.is_none() || s.properties.iter().any(|p| p.folds.is_none()));
    if missing {
        return Err(Error::config(
            "mode",
            "auto mode needs the extraction's law statistics: set law_statistics (or folds ≥ 2) in the fit settings",
        ));
    }
    let filled = fill(data, options)?;
    let mut prop_stats = Map::new();
    let mut selections = Vec::new();
    for (index, (name, kind, cells)) in columns(data, options, &filled.props).into_iter().enumerate() {
        let property = cells.is_some().then_some(index);
        let mut by_source = Map::new();
        for (s, source) in data.src_types.iter().enumerate() {
            let mut by_target = Map::new();
            for (t, target) in data.tgt_types.iter().enumerate() {
                let i = s * data.tgt_types.len() + t;
                let path = format!("prop_stats.{name}.{source}.{target}");
                let cell = match cells {
                    Some(cells) => cells[i].as_ref(),
                    None => filled.nsyn[i].as_ref(),
                };
                let cell = cell.ok_or_else(|| Error::config(&path, "no data and nothing to fill it from"))?;
                if options.laws.get(name) == Some(&Law::LinDelay) {
                    let spec = lin_delay_spec(data, options, (name, &path), cell, &filled.blocks[i], i)?;
                    by_target.insert(target.clone(), spec);
                    selections.push(None);
                    continue;
                }
                let pooled = entry_sample(data, &filled.blocks[i], property, i);
                let storage = storage_only(&path, name, options)?;
                let input = ChoiceInput {
                    sample: &pooled.0,
                    histogram: pooled.1,
                    kind,
                    storage: &storage,
                    significance: options.significance,
                    fixed: options.laws.get(name).copied(),
                };
                let choice =
                    choose(&input).map_err(|why| Error::config(format!("{path}.type"), format!("{name}: {why}")))?;
                let mut spec = choice.params.spec(kind).map_err(|(key, x)| {
                    Error::config(format!("{path}.{key}"), format!("fitted value is not finite ({x})"))
                })?;
                storage_keys(&mut spec, &path, name, choice.params.law(), cell, options, cells.is_some())?;
                by_target.insert(target.clone(), Value::Object(spec));
                selections.push(Some(choice.selection));
            }
            by_source.insert(source.clone(), Value::Object(by_target));
        }
        prop_stats.insert(name.to_string(), Value::Object(by_source));
    }
    let model = json!({"src_types": data.src_types, "tgt_types": data.tgt_types, "prop_stats": prop_stats});
    let text = serde_json::to_string(&model).map_err(|e| Error::input("fitted model", e.to_string()))?;
    crate::config::parse_model(&text)?;
    let mut report = report(data, options, &model, &filled.fallbacks)?;
    for (entry, selection) in report.entries.iter_mut().zip(selections) {
        entry.selection = selection;
    }
    report.notes.push(format!(
        "auto: per pathway and property, the lowest AIC (exact likelihood) among the laws passing a KS check at α = {}; \
         maximum-likelihood parameters; pathways without data pool their fallback level's data",
        options.significance
    ));
    Ok(FitOutput { model, report })
}

/// An entry's sample: the pathway's own (with its histogram), or its fallback block's pooled.
/// `property` is the settings index (`None`: synapses per connection).
fn entry_sample<'a>(
    data: &'a FitData,
    block: &[usize],
    property: Option<usize>,
    pathway: usize,
) -> (LawSample, Option<&'a Histogram>) {
    let own = |k: usize| -> Option<(LawSample, &'a Histogram)> {
        let stats = data.pathways[k].statistics.as_ref()?;
        match property {
            Some(p) => Some((stats.properties[p].law_sample()?, &stats.properties[p].sample.histogram)),
            None => {
                let folds = stats.n_syn_per_conn_folds.as_ref()?;
                Some((LawSample::merged(folds.iter().map(|f| &f.stats)), &stats.n_syn_per_conn.histogram))
            }
        }
    };
    if let Some((sample, histogram)) = own(pathway) {
        return (sample, Some(histogram));
    }
    let parts: Vec<LawSample> = block.iter().filter_map(|&k| own(k).map(|x| x.0)).collect();
    (LawSample::merged(&parts), None)
}

/// Cross-validate every entry with data of its own (the data were extracted with folds): the
/// written law refitted on k − 1 folds by the mode's method and scored on the held-out fold.
pub(super) fn cross_validate_report(data: &FitData, options: &BuildOptions, output: &mut FitOutput) -> Result<()> {
    let method = match options.mode {
        // Empirical mode writes no law to cross-validate (`build` does not call this for it).
        FitMode::Cm | FitMode::Empirical => Method::ConnectomeManipulator,
        FitMode::Auto => Method::MaximumLikelihood,
    };
    let pathways: HashMap<(&str, &str), usize> =
        data.pathways.iter().enumerate().map(|(i, p)| ((p.source.as_str(), p.target.as_str()), i)).collect();
    for entry in &mut output.report.entries {
        let Some(&i) = pathways.get(&(entry.source.as_str(), entry.target.as_str())) else { continue };
        let Some(stats) = data.pathways[i].statistics.as_ref() else { continue };
        let (folds, histogram, kind) = if entry.property == N_SYN_PER_CONN {
            (stats.n_syn_per_conn_folds.as_ref(), &stats.n_syn_per_conn.histogram, ValueKind::Int)
        } else {
            let Some(p) = data.settings.properties.iter().position(|p| p.name == entry.property) else { continue };
            (
                stats.properties[p].folds.as_ref(),
                &stats.properties[p].sample.histogram,
                data.settings.properties[p].kind,
            )
        };
        let Some(folds) = folds.filter(|f| f.len() >= 2) else { continue };
        let path = format!("prop_stats.{}.{}.{}", entry.property, entry.source, entry.target);
        let law: Law = serde_json::from_value(entry.spec["type"].clone())
            .map_err(|e| Error::config(format!("{path}.type"), e.to_string()))?;
        let storage = storage_only(&path, &entry.property, options)?;
        let cv_entry = Entry { folds, edges: &histogram.edges, kind, storage: &storage };
        entry.cross_validation = Some(cross_validate(&cv_entry, law, method));
    }
    Ok(())
}

//! Synapses per pathway of a circuit before any model is applied: the matrix the page shows when
//! a circuit loads, counted with the run's own rules (a node's value of the pathway property,
//! the fallback value for nodes without it, node ids checked against their populations), so that
//! what is shown before a run is what the run will see (design §6.1, §6.3).

use std::collections::BTreeMap;

use crate::config::Fallback;
use crate::engine::{Ids, PathwayColumn, MISSING};
use crate::error::{Error, Result};

/// One edge population's source and target pathway columns, and its counts per code pair.
struct PopulationTally {
    source: PathwayColumn,
    target: PathwayColumn,
    /// `(source code, target code)` → synapses, over `(source values + 1) × (target values + 1)`
    /// cells; the last code of each side stands for nodes without a value.
    counts: Vec<u64>,
}

/// Synapses per (source value, target value) over several edge populations.
#[derive(Default)]
pub struct PathwayTally {
    populations: BTreeMap<String, PopulationTally>,
}

/// One cell of the tally: `None` for nodes without the pathway property (and no fallback).
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct PathwayCount {
    /// Source node value.
    pub source: Option<String>,
    /// Target node value.
    pub target: Option<String>,
    /// Synapses of that pathway.
    pub synapses: u64,
}

impl PathwayTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add edge population `name` with its source and target nodes' pathway columns.
    pub fn add_population(&mut self, name: &str, source: PathwayColumn, target: PathwayColumn) -> Result<()> {
        for column in [&source, &target] {
            if let Some(&code) = column.codes.iter().find(|&&c| c != MISSING && c as usize >= column.dictionary.len()) {
                return Err(Error::input(
                    format!("node population '{}'", column.population),
                    format!("pathway code {code} outside its dictionary of {} values", column.dictionary.len()),
                ));
            }
        }
        let cells = (source.dictionary.len() + 1) * (target.dictionary.len() + 1);
        self.populations.insert(name.to_string(), PopulationTally { source, target, counts: vec![0; cells] });
        Ok(())
    }

    /// Count the edges of one chunk of population `name` (source and target node ids, in any
    /// order). A node id outside its node population is an error, as in a run.
    pub fn add(&mut self, name: &str, source_ids: Ids<'_>, target_ids: Ids<'_>) -> Result<()> {
        let tally = self
            .populations
            .get_mut(name)
            .ok_or_else(|| Error::input(format!("edge population '{name}'"), "not added to the pathway tally"))?;
        if source_ids.len() != target_ids.len() {
            return Err(Error::input(
                format!("edge chunk of '{name}'"),
                format!("source_node_id has {} ids, target_node_id {}", source_ids.len(), target_ids.len()),
            ));
        }
        let source_codes = codes_of(&tally.source, source_ids, name, "source_node_id")?;
        let target_codes = codes_of(&tally.target, target_ids, name, "target_node_id")?;
        let width = tally.target.dictionary.len() + 1;
        for (s, t) in source_codes.into_iter().zip(target_codes) {
            tally.counts[s * width + t] += 1;
        }
        Ok(())
    }

    /// The non-empty cells, summed over populations by value, sorted by source then target;
    /// nodes without a value count under their population's `fallback` value when given.
    pub fn counts(&self, fallback: Option<&Fallback>) -> Vec<PathwayCount> {
        let mut sums: BTreeMap<(Option<String>, Option<String>), u64> = BTreeMap::new();
        for tally in self.populations.values() {
            let width = tally.target.dictionary.len() + 1;
            let value = |column: &PathwayColumn, code: usize| {
                let fallback = fallback.and_then(|f| f.for_population(&column.population));
                column.dictionary.get(code).map(String::as_str).or(fallback).map(str::to_string)
            };
            for (cell, &synapses) in tally.counts.iter().enumerate().filter(|(_, &n)| n > 0) {
                let key = (value(&tally.source, cell / width), value(&tally.target, cell % width));
                *sums.entry(key).or_insert(0) += synapses;
            }
        }
        sums.into_iter().map(|((source, target), synapses)| PathwayCount { source, target, synapses }).collect()
    }
}

/// Per edge, the dictionary code of its node (the dictionary's length for nodes without a value).
fn codes_of(column: &PathwayColumn, ids: Ids<'_>, edges: &str, dataset: &str) -> Result<Vec<usize>> {
    let missing = column.dictionary.len();
    let code = |id: u64| -> Result<usize> {
        match column.codes.get(usize::try_from(id).unwrap_or(usize::MAX)) {
            Some(&MISSING) => Ok(missing),
            Some(&c) => Ok(c as usize),
            None => Err(Error::input(
                format!("edge population '{edges}' column {dataset}"),
                format!(
                    "refers to node {id} but node population '{}' has {} nodes",
                    column.population,
                    column.codes.len()
                ),
            )),
        }
    };
    match ids {
        Ids::U32(ids) => ids.iter().map(|&id| code(u64::from(id))).collect(),
        Ids::U64(ids) => ids.iter().map(|&id| code(id)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(population: &str, values: &[Option<&str>]) -> PathwayColumn {
        PathwayColumn::from_values(population, values)
    }

    #[test]
    fn counts_by_value_over_populations_with_missing_values_under_the_fallback() {
        let mut tally = PathwayTally::new();
        let cells = column("cells", &[Some("EXC"), Some("INH"), None]);
        tally.add_population("a", cells.clone(), cells.clone()).unwrap();
        // Another population whose dictionary orders the values differently.
        tally.add_population("b", column("other", &[Some("INH"), Some("EXC")]), cells).unwrap();
        tally.add("a", Ids::U32(&[0, 0, 1, 2]), Ids::U32(&[1, 1, 0, 0])).unwrap();
        tally.add("b", Ids::U64(&[1, 0]), Ids::U64(&[1, 2])).unwrap();
        let shown = |fallback: Option<Fallback>| {
            tally
                .counts(fallback.as_ref())
                .into_iter()
                .map(|c| (c.source.unwrap_or("-".into()), c.target.unwrap_or("-".into()), c.synapses))
                .collect::<Vec<_>>()
        };
        let s = |x: &str| x.to_string();
        assert_eq!(
            shown(None),
            vec![(s("-"), s("EXC"), 1), (s("EXC"), s("INH"), 3), (s("INH"), s("-"), 1), (s("INH"), s("EXC"), 1)]
        );
        // With a fallback, missing nodes join that value's cells.
        let exc = Fallback::every("EXC");
        assert_eq!(shown(Some(exc)), vec![(s("EXC"), s("EXC"), 1), (s("EXC"), s("INH"), 3), (s("INH"), s("EXC"), 2)]);
        // A fallback of another node population leaves these nodes without a value.
        let elsewhere = Fallback::every("EXC").with_population("cells", Some("INH"));
        assert_eq!(
            shown(Some(Fallback::default().with_population("thalamus", Some("EXC")))),
            shown(None),
            "a fallback for another population changes nothing here"
        );
        assert_eq!(
            shown(Some(elsewhere)),
            vec![(s("EXC"), s("INH"), 3), (s("INH"), s("EXC"), 2), (s("INH"), s("INH"), 1)],
            "'cells' takes its own value INH"
        );
    }

    #[test]
    fn node_ids_outside_their_population_are_errors() {
        let mut tally = PathwayTally::new();
        let cells = column("cells", &[Some("EXC")]);
        tally.add_population("a", cells.clone(), cells).unwrap();
        let error = tally.add("a", Ids::U32(&[0]), Ids::U32(&[5])).unwrap_err().to_string();
        assert!(
            error.contains("target_node_id") && error.contains("node 5") && error.contains("has 1 nodes"),
            "{error}"
        );
        assert!(tally.add("b", Ids::U32(&[0]), Ids::U32(&[0])).is_err());
        assert!(tally.add("a", Ids::U32(&[0, 0]), Ids::U32(&[0])).is_err());
    }
}

//! Where a synapse sits (issue #26, design §2.7): per-synapse inputs a model may read — edge
//! datasets such as `afferent_section_type`, `afferent_section_pos` or `spine_length`, and the
//! derived `distance_soma` — and the laws and factors that depend on them.
//!
//! Hosts ask the core which edge datasets to read ([`plan_reads`], through
//! `Parameterizer::plan_edge_attributes`), give the source nodes' soma positions once per edge
//! population, and pass the datasets' values as `f64` columns with every chunk. The core derives
//! `distance_soma` itself, so every host computes it with the same bits.

use std::borrow::Cow;

use rand_core::RngCore;
use serde::Serialize;

use crate::distributions::TruncatedNormal;
use crate::engine::Ids;
use crate::error::{Error, Num, Result};

/// The derived attribute: Euclidean distance (µm) from the presynaptic soma (the source node's
/// `x`, `y`, `z`) to the synapse (`afferent_center_x/y/z`, else `efferent_center_x/y/z`), as
/// connectome-manipulator's delay model measures it.
pub const DISTANCE_SOMA: &str = "distance_soma";

/// The synapse position on the target's side: what connectome-manipulator reads for distances.
pub const AFFERENT_CENTER: [&str; 3] = ["afferent_center_x", "afferent_center_y", "afferent_center_z"];

/// The synapse position on the source's side, used when the afferent one is not in the file.
pub const EFFERENT_CENTER: [&str; 3] = ["efferent_center_x", "efferent_center_y", "efferent_center_z"];

/// Names of `afferent_section_type` / `efferent_section_type` values, in SONATA's numbering
/// (MorphIO's section types: 1 soma, 2 axon, 3 basal dendrite, 4 apical dendrite). Files written
/// by TouchDetector/functionalizer before its converter 0.6.1 number them from 0 (functionalizer
/// tells the two apart by the columns' range): give numbers, not names, for those.
pub const SECTION_TYPES: [(&str, u32); 4] = [("soma", 1), ("axon", 2), ("basal", 3), ("apical", 4)];

/// Distances over which an attribute-dependent law's histogram bins are laid out (0 … this, µm):
/// bins must be known before the first chunk, so they cannot come from the data.
pub const REFERENCE_DISTANCE: f64 = 1000.0;

/// The SONATA number of a section type given by name (`"basal"`: 3).
pub fn section_type_code(text: &str) -> Option<u32> {
    SECTION_TYPES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, code)| *code)
        .or_else(|| text.parse::<u32>().ok().filter(|code| SECTION_TYPES.iter().any(|(_, c)| c == code)))
}

/// Whether `name` can be an edge attribute: the derived [`DISTANCE_SOMA`], or the name of an edge
/// dataset (not one SONATA reserves for ids and groups). Errors at `path`.
pub fn check_attribute_name(name: &str, path: &str) -> Result<()> {
    if name == DISTANCE_SOMA {
        return Ok(());
    }
    crate::config::check_property_name(name, path).map_err(|_| {
        Error::config(path, format!("'{name}' is not an edge attribute (an edge dataset's name or {DISTANCE_SOMA})"))
    })
}

/// A law whose value depends on one per-synapse attribute (today: the delay laws, on
/// [`DISTANCE_SOMA`]). Drawn once per synapse, from the synapse's keyed stream.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeLaw {
    /// connectome-manipulator's `LinDelayModel`: N(a + b·d, std) truncated below at `min`
    /// (`scipy.stats.truncnorm` with α = (min − mean)/std, β = ∞); `std` 0 gives max(a + b·d, min).
    LinDelay {
        /// `delay_mean_coeff_a` (ms).
        a: f64,
        /// `delay_mean_coeff_b` (ms/µm).
        b: f64,
        /// `delay_std` (ms, ≥ 0).
        std: f64,
        /// `delay_min` (ms, ≥ 0).
        min: f64,
    },
    /// functionalizer's delay: `neural_transmitter_release_delay + d / axonal_conduction_velocity`,
    /// both parameters rounded to float32 as its rules table holds them, the sum in float64.
    FzDelay {
        /// Release delay (ms), as float32.
        release_delay: f64,
        /// Conduction velocity (µm/ms, > 0), as float32.
        velocity: f64,
    },
}

impl AttributeLaw {
    /// The attribute the law reads.
    pub fn attribute(&self) -> &'static str {
        DISTANCE_SOMA
    }

    /// Whether the value is a function of the attribute only (no random numbers).
    pub fn is_deterministic(&self) -> bool {
        match self {
            AttributeLaw::LinDelay { std, .. } => *std == 0.0,
            AttributeLaw::FzDelay { .. } => true,
        }
    }

    /// The value at attribute value `x`, drawing from `rng` when the law is random.
    #[inline]
    pub fn sample<R: RngCore>(&self, x: f64, rng: &mut R) -> f64 {
        match *self {
            AttributeLaw::LinDelay { a, b, std, min } => {
                // connectome-manipulator: mean = b * distance + a.
                let mean = b * x + a;
                if std > 0.0 {
                    TruncatedNormal::new(mean, std, min, f64::INFINITY).sample_law(rng)
                } else if mean > min {
                    mean
                } else {
                    min
                }
            }
            AttributeLaw::FzDelay { release_delay, velocity } => release_delay + x / velocity,
        }
    }

    /// The law's conditional mean and standard deviation at attribute value `x`.
    pub fn moments_at(&self, x: f64) -> (f64, f64) {
        match *self {
            AttributeLaw::LinDelay { a, b, std, min } => {
                let mean = b * x + a;
                if std > 0.0 {
                    TruncatedNormal::new(mean, std, min, f64::INFINITY).law_moments()
                } else {
                    (mean.max(min), 0.0)
                }
            }
            AttributeLaw::FzDelay { .. } => (self.sample(x, &mut crate::streams::Stream::new(0)), 0.0),
        }
    }

    /// The range of values over distances 0 … [`REFERENCE_DISTANCE`] (four standard deviations
    /// beyond the means), never empty: where histogram bins are laid out.
    pub fn reference_range(&self) -> (f64, f64) {
        let (low, high) = match *self {
            AttributeLaw::LinDelay { a, b, std, min } => {
                let (m0, m1) = (a, b * REFERENCE_DISTANCE + a);
                ((m0.min(m1) - 4.0 * std).max(min), (m0.max(m1) + 4.0 * std).max(min))
            }
            AttributeLaw::FzDelay { release_delay, velocity } => {
                (release_delay, release_delay + REFERENCE_DISTANCE / velocity)
            }
        };
        if high > low {
            (low, high)
        } else {
            (low, low + low.abs().max(1.0) * 0.1)
        }
    }

    /// The law as one line, with its formula spelled out.
    pub fn formula(&self) -> String {
        let g = |x: f64| format!("{}", Num((x * 1e9).round() / 1e9));
        match *self {
            AttributeLaw::LinDelay { a, b, std, min } => format!(
                "lin_delay: N(μ = {} + {}·distance_soma, σ = {}) truncated below at {} (connectome-manipulator's LinDelayModel)",
                g(a),
                g(b),
                g(std),
                g(min)
            ),
            AttributeLaw::FzDelay { release_delay, velocity } => format!(
                "fz_delay: {} + distance_soma / {} (functionalizer's release delay + distance / conduction velocity)",
                g(release_delay),
                g(velocity)
            ),
        }
    }
}

/// A factor a drawn value is multiplied by, as a function of one edge attribute (`scale_by`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleBy {
    /// The attribute the factor reads.
    pub attribute: String,
    /// The function of the attribute.
    pub function: ScaleFunction,
}

/// The function of a [`ScaleBy`].
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleFunction {
    /// `a + b·x`.
    Linear {
        /// Intercept.
        a: f64,
        /// Slope.
        b: f64,
    },
    /// Linear interpolation between points `(x_i, y_i)` (x strictly increasing), constant
    /// (`y_0`, `y_n`) beyond the first and last point.
    Table {
        /// The points' x, strictly increasing.
        x: Vec<f64>,
        /// The points' y.
        y: Vec<f64>,
    },
}

impl ScaleBy {
    /// The factor at attribute value `x`.
    #[inline]
    pub fn factor(&self, x: f64) -> f64 {
        match &self.function {
            ScaleFunction::Linear { a, b } => a + b * x,
            ScaleFunction::Table { x: xs, y: ys } => {
                let last = xs.len() - 1;
                if x <= xs[0] {
                    return ys[0];
                }
                if x >= xs[last] {
                    return ys[last];
                }
                let i = xs.partition_point(|&p| p <= x) - 1;
                ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
            }
        }
    }

    /// The factor as one line.
    pub fn formula(&self) -> String {
        match &self.function {
            ScaleFunction::Linear { a, b } => format!("× ({} + {}·{})", Num(*a), Num(*b), self.attribute),
            ScaleFunction::Table { x, .. } => format!(
                "× f({}), f linear between {} points ({} … {}), constant beyond",
                self.attribute,
                x.len(),
                Num(x[0]),
                Num(x[x.len() - 1])
            ),
        }
    }
}

/// What a host reads for one edge population's attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeReads {
    /// Edge datasets to read per chunk (in edge order, as `f64`), in the order the run takes the
    /// columns.
    pub datasets: Vec<String>,
    /// Whether the source node population's soma positions (`x`, `y`, `z`) must be given.
    pub source_positions: bool,
    /// Where `distance_soma` ends: `afferent_center` (connectome-manipulator's choice, used when
    /// the file has all three datasets) or `efferent_center` (when only that side is there).
    pub synapse_position: Option<&'static str>,
}

/// How one attribute is evaluated from the columns a host passes.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A dataset column as it is.
    Column(usize),
    /// The distance from the source soma to the point in three columns.
    Distance([usize; 3]),
}

/// Soma positions (µm) of a source node population, node id = row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SomaPositions {
    /// x per node.
    pub x: Vec<f64>,
    /// y per node.
    pub y: Vec<f64>,
    /// z per node.
    pub z: Vec<f64>,
}

/// One edge population's attribute plan: the reads, how each model attribute is evaluated from
/// them, and the source positions once given.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSetup {
    /// What the host reads.
    pub reads: AttributeReads,
    sources: Vec<Source>,
    positions: Option<SomaPositions>,
}

/// Plan the reads of edge population `population` for `attributes` (the model's, in its order),
/// given the datasets its edges file has. Errors name every dataset the file lacks.
pub fn plan_reads(population: &str, attributes: &[String], available: &[&str]) -> Result<AttributeSetup> {
    let mut datasets: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut synapse_position = None;
    let column = |name: &str, datasets: &mut Vec<String>| -> usize {
        match datasets.iter().position(|d| d == name) {
            Some(i) => i,
            None => {
                datasets.push(name.to_string());
                datasets.len() - 1
            }
        }
    };
    let has_all = |names: &[&str; 3]| names.iter().all(|n| available.contains(n));
    let mut sources = Vec::with_capacity(attributes.len());
    for attribute in attributes {
        if attribute == DISTANCE_SOMA {
            let side = if has_all(&AFFERENT_CENTER) {
                synapse_position = Some("afferent_center");
                AFFERENT_CENTER
            } else if has_all(&EFFERENT_CENTER) {
                synapse_position = Some("efferent_center");
                EFFERENT_CENTER
            } else {
                let lacking: Vec<&str> = AFFERENT_CENTER.iter().filter(|n| !available.contains(n)).copied().collect();
                missing.push(format!("{} (or efferent_center_x/y/z; for {DISTANCE_SOMA})", lacking.join(", ")));
                continue;
            };
            let [x, y, z] = side.map(|name| column(name, &mut datasets));
            sources.push(Source::Distance([x, y, z]));
        } else if available.contains(&attribute.as_str()) {
            sources.push(Source::Column(column(attribute, &mut datasets)));
        } else {
            missing.push(attribute.clone());
        }
    }
    if !missing.is_empty() {
        return Err(Error::input(
            format!("edge population '{population}'"),
            format!("the model reads edge datasets this population lacks: {}", missing.join("; ")),
        ));
    }
    let source_positions = synapse_position.is_some();
    Ok(AttributeSetup {
        reads: AttributeReads { datasets, source_positions, synapse_position },
        sources,
        positions: None,
    })
}

impl AttributeSetup {
    /// Set the source nodes' soma positions (`nodes` of them). Errors when the lengths differ or a
    /// position is not finite.
    pub fn set_positions(&mut self, population: &str, nodes: usize, positions: SomaPositions) -> Result<()> {
        for (axis, values) in [("x", &positions.x), ("y", &positions.y), ("z", &positions.z)] {
            if values.len() != nodes {
                return Err(Error::input(
                    format!("source positions of edge population '{population}'"),
                    format!("{} values of {axis} for {nodes} source nodes", values.len()),
                ));
            }
            if let Some(node) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::input(
                    format!("source positions of edge population '{population}'"),
                    format!("node {node} has no finite {axis} ({})", Num(values[node])),
                ));
            }
        }
        self.positions = Some(positions);
        Ok(())
    }

    /// Take the positions another plan of the same population was given, if this one needs them.
    pub fn keep_positions_of(&mut self, previous: AttributeSetup) {
        if self.reads.source_positions {
            self.positions = previous.positions;
        }
    }

    /// Whether everything a chunk needs is there (the positions, when distances are read).
    pub fn ready(&self, population: &str) -> Result<()> {
        if self.reads.source_positions && self.positions.is_none() {
            return Err(Error::input(
                format!("edge population '{population}'"),
                format!("{DISTANCE_SOMA} needs the source nodes' positions (x, y, z): give them first"),
            ));
        }
        Ok(())
    }

    /// The model's attributes for one chunk, in the model's order: the host's columns borrowed,
    /// distances computed. `columns` are the planned datasets' values, one per edge.
    pub fn evaluate<'a>(
        &self,
        population: &str,
        source_ids: Ids<'_>,
        edge_id: Ids<'_>,
        columns: &[&'a [f64]],
    ) -> Result<Vec<Cow<'a, [f64]>>> {
        self.ready(population)?;
        let context = || format!("edge chunk of '{population}'");
        if columns.len() != self.reads.datasets.len() {
            return Err(Error::input(
                context(),
                format!(
                    "{} attribute columns given, the plan reads {} ({})",
                    columns.len(),
                    self.reads.datasets.len(),
                    self.reads.datasets.join(", ")
                ),
            ));
        }
        for (column, name) in columns.iter().zip(&self.reads.datasets) {
            if column.len() != edge_id.len() {
                return Err(Error::input(
                    context(),
                    format!("column {name} has {} values for {} edges", column.len(), edge_id.len()),
                ));
            }
        }
        Ok(self
            .sources
            .iter()
            .map(|source| match *source {
                Source::Column(i) => Cow::Borrowed(columns[i]),
                Source::Distance([x, y, z]) => {
                    let positions = self.positions.as_ref().expect("checked by ready");
                    let (cx, cy, cz) = (columns[x], columns[y], columns[z]);
                    Cow::Owned(
                        (0..edge_id.len())
                            .map(|i| {
                                let node = source_ids.get(i) as usize;
                                let dx = cx[i] - positions.x[node];
                                let dy = cy[i] - positions.y[node];
                                let dz = cz[i] - positions.z[node];
                                (dx * dx + dy * dy + dz * dz).sqrt()
                            })
                            .collect(),
                    )
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_types_by_name_and_number() {
        assert_eq!(section_type_code("soma"), Some(1));
        assert_eq!(section_type_code("axon"), Some(2));
        assert_eq!(section_type_code("basal"), Some(3));
        assert_eq!(section_type_code("apical"), Some(4));
        assert_eq!(section_type_code("3"), Some(3));
        assert_eq!(section_type_code("4"), Some(4));
        assert_eq!(section_type_code("0"), None);
        assert_eq!(section_type_code("5"), None);
        assert_eq!(section_type_code("dendrite"), None);
    }

    #[test]
    fn tables_interpolate_linearly_and_hold_their_ends() {
        let scale = ScaleBy {
            attribute: DISTANCE_SOMA.into(),
            function: ScaleFunction::Table { x: vec![0.0, 100.0, 300.0], y: vec![1.0, 0.5, 0.1] },
        };
        assert_eq!(scale.factor(-5.0), 1.0);
        assert_eq!(scale.factor(0.0), 1.0);
        assert_eq!(scale.factor(50.0), 0.75);
        assert_eq!(scale.factor(100.0), 0.5);
        assert!((scale.factor(200.0) - 0.3).abs() < 1e-15);
        assert_eq!(scale.factor(300.0), 0.1);
        assert_eq!(scale.factor(1e9), 0.1);
        let linear = ScaleBy { attribute: "x".into(), function: ScaleFunction::Linear { a: 2.0, b: -0.5 } };
        assert_eq!(linear.factor(2.0), 1.0);
    }

    #[test]
    fn reads_prefer_the_afferent_side_and_name_what_is_missing() {
        let attributes = vec![DISTANCE_SOMA.to_string(), "spine_length".to_string()];
        let all = [
            "afferent_center_x",
            "afferent_center_y",
            "afferent_center_z",
            "efferent_center_x",
            "efferent_center_y",
            "efferent_center_z",
            "spine_length",
        ];
        let setup = plan_reads("p", &attributes, &all).unwrap();
        assert_eq!(setup.reads.synapse_position, Some("afferent_center"));
        assert_eq!(
            setup.reads.datasets,
            ["afferent_center_x", "afferent_center_y", "afferent_center_z", "spine_length"]
        );
        let efferent = plan_reads("p", &attributes, &all[3..]).unwrap();
        assert_eq!(efferent.reads.synapse_position, Some("efferent_center"));
        let error = plan_reads("p", &attributes, &["afferent_center_x"]).unwrap_err().to_string();
        assert!(
            error.contains("afferent_center_y, afferent_center_z (or efferent_center_x/y/z; for distance_soma)"),
            "{error}"
        );
        assert!(error.contains("spine_length"), "{error}");
    }

    #[test]
    fn distances_are_euclidean_from_the_source_soma() {
        let mut setup = plan_reads("p", &[DISTANCE_SOMA.to_string()], &AFFERENT_CENTER).unwrap();
        assert!(setup.ready("p").is_err());
        let positions = SomaPositions { x: vec![0.0, 10.0], y: vec![0.0, 0.0], z: vec![0.0, 0.0] };
        setup.set_positions("p", 2, positions).unwrap();
        let (x, y, z) = ([3.0, 10.0], [4.0, 5.0], [0.0, 12.0]);
        let values = setup.evaluate("p", Ids::U64(&[0, 1]), Ids::U64(&[0, 1]), &[&x, &y, &z]).unwrap();
        assert_eq!(&*values[0], &[5.0, 13.0]);
    }

    #[test]
    fn lin_delay_without_spread_is_the_clipped_mean() {
        let law = AttributeLaw::LinDelay { a: 0.5, b: 0.01, std: 0.0, min: 1.0 };
        let mut rng = crate::streams::Stream::new(1);
        assert_eq!(law.sample(10.0, &mut rng), 1.0);
        assert_eq!(law.sample(100.0, &mut rng), 1.5);
        let fz = AttributeLaw::FzDelay { release_delay: 0.1, velocity: 300.0 };
        assert_eq!(fz.sample(150.0, &mut rng), 0.6);
    }
}

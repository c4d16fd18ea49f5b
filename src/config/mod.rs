//! Parsing and validation of connectome-manipulator's `ConnPropsModel` dict and of obi-one's task
//! form (design §2.1). Every error names the JSON path of the offending key.
//!
//! By concern, each using only those before it: `json` (reading with paths), `types` (what a
//! validated model is), `spec` (one spec), `model` (a `ConnPropsModel`), `fallback` (the
//! value of nodes without the pathway property), `task` (the task form and the run settings).

mod fallback;
mod json;
mod model;
mod spec;
mod task;
mod types;

pub use fallback::{Fallback, EVERY_OTHER_POPULATION};
pub use model::{check_property_name, RESERVED_EDGE_DATASETS};
pub use spec::{parse_pathway_spec, spec_schema, SpecSchema, BY_SYNAPSE, DISTRIBUTIONS, DTYPE_NAMES, EMPIRICAL};
pub use task::*;
pub use types::*;

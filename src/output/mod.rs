//! The output circuit, owned by the core for every host (design §5): how a circuit config's paths
//! become file names, where each file goes in the output and which config entries change, the
//! sidecar document (one writer, a format version, older sidecars still read), and the byte-level
//! rule that makes written HDF5 files reproducible, and a scan's layout (points, shared files). The hosts (the command, the page's worker,
//! Python and Dask) only touch their file systems: copy, lock, rename, read back.

pub mod circuit_config;
pub mod js_json;
pub mod layout;
pub mod paths;
pub mod scan_layout;
pub mod sidecar;
pub mod timestamps;
pub mod verify;

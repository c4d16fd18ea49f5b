//! Keyed random streams (design §2.5): every drawn value has its own generator, seeded from a
//! hash of (seed, edge population, property, and the connection or the edge id). Results thus
//! do not depend on chunking, edge order, worker count or the other properties' specs.

use rand_core::SeedableRng;
use rand_xoshiro::SplitMix64;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The generator behind each stream. A stream yields only a handful of numbers from a start
/// point hashed by xxh3, so SplitMix64 (one 64-bit state, seeding for free, passes BigCrush) is
/// enough; it is specified bit for bit and the same on every platform.
pub type Stream = SplitMix64;

/// Domain tags keep the per-connection and per-synapse key spaces apart.
const CONNECTION_DOMAIN: u64 = 0x636f_6e6e_6563_7469; // "connecti"
const SYNAPSE_DOMAIN: u64 = 0x7379_6e61_7073_6573; // "synapses"

/// The key of one named stream family (a property, or a group of correlated properties) in one
/// edge population.
pub fn family_key(seed: u64, edge_population: &str, family: &str) -> u64 {
    let mut text = Vec::with_capacity(edge_population.len() + family.len() + 1);
    text.extend_from_slice(edge_population.as_bytes());
    text.push(0);
    text.extend_from_slice(family.as_bytes());
    xxh3_64_with_seed(&text, seed)
}

/// The stream shared by all synapses of the connection `source → target`.
///
/// Two chained 8-byte hashes rather than one 16-byte hash: xxh3's 9–16-byte path needs a
/// 128-bit product, which wasm emulates slowly; the 8-byte path is 64-bit arithmetic only.
#[inline]
pub fn connection_stream(family: u64, source: u64, target: u64) -> Stream {
    let source_key = xxh3_64_with_seed(&source.to_le_bytes(), family ^ CONNECTION_DOMAIN);
    Stream::seed_from_u64(xxh3_64_with_seed(&target.to_le_bytes(), source_key))
}

/// The stream of one synapse, by its global edge id.
#[inline]
pub fn synapse_stream(family: u64, edge_id: u64) -> Stream {
    Stream::seed_from_u64(xxh3_64_with_seed(&edge_id.to_le_bytes(), family ^ SYNAPSE_DOMAIN))
}

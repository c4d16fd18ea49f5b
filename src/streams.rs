//! Keyed random streams (design §2.5): every drawn value has its own generator, seeded from a
//! hash of (seed, edge population, property, and the connection or the edge id). Results thus
//! do not depend on chunking, edge order, worker count or the other properties' specs.

use rand_core::RngCore;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The generator behind each stream: SplitMix64 (Steele, Lea & Flood 2014; one 64-bit state,
/// seeding for free, passes BigCrush), bit for bit `rand_xoshiro::SplitMix64`. A stream yields only
/// a handful of numbers from a start point hashed by xxh3, so nothing bigger is needed. It is
/// written out here, always inlined, because the wasm build would otherwise call out of the draw
/// loop to seed every stream and keep its state in linear memory (a third of a gamma draw's time).
#[derive(Clone, Debug)]
pub struct Stream {
    state: u64,
}

impl Stream {
    /// The stream whose first output is SplitMix64's first output from `state`.
    #[inline(always)]
    pub fn new(state: u64) -> Self {
        Stream { state }
    }
}

impl RngCore for Stream {
    #[inline(always)]
    fn next_u32(&mut self) -> u32 {
        // SplitMix64's 32-bit output: Stafford's "Mix4" finalizer.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 33)).wrapping_mul(0x62a9_d9ed_7997_05f5);
        z = (z ^ (z >> 28)).wrapping_mul(0xcb24_d0a5_c88c_35b3);
        (z >> 32) as u32
    }

    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest)
    }
}

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
    Stream::new(xxh3_64_with_seed(&target.to_le_bytes(), source_key))
}

/// The stream of one synapse, by its global edge id.
#[inline]
pub fn synapse_stream(family: u64, edge_id: u64) -> Stream {
    Stream::new(xxh3_64_with_seed(&edge_id.to_le_bytes(), family ^ SYNAPSE_DOMAIN))
}

/// The family of an `empirical` table's rows (design §2.2): its own key space, apart from every
/// property's (a table may be named like a property).
pub fn table_key(seed: u64, edge_population: &str, table: &str) -> u64 {
    family_key(seed, edge_population, &format!("empirical table:{table}"))
}

/// A row index uniform over `0..rows` (`rows` ≥ 1) from the stream: Lemire's multiply-shift
/// with rejection (exactly uniform; a second draw is needed with probability below rows / 2⁶⁴).
#[inline]
pub fn uniform_row(stream: &mut Stream, rows: usize) -> usize {
    let n = rows as u64;
    loop {
        let product = u128::from(stream.next_u64()) * u128::from(n);
        let low = product as u64;
        // Reject the first 2⁶⁴ mod n low words, which would make some rows likelier.
        if low >= n || low >= n.wrapping_neg() % n {
            return (product >> 64) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xoshiro::SplitMix64;

    #[test]
    fn stream_is_splitmix64_bit_for_bit() {
        for seed in [0, 1, 42, u64::MAX, 0x9e37_79b9_7f4a_7c15, xxh3_64_with_seed(b"synparam", 7)] {
            let (mut ours, mut reference) = (Stream::new(seed), SplitMix64::seed_from_u64(seed));
            for _ in 0..64 {
                assert_eq!(ours.next_u64(), reference.next_u64(), "seed {seed}");
                assert_eq!(ours.next_u32(), reference.next_u32(), "seed {seed}");
            }
            let (mut a, mut b) = ([0u8; 37], [0u8; 37]);
            ours.fill_bytes(&mut a);
            reference.fill_bytes(&mut b);
            assert_eq!(a, b);
        }
    }
}

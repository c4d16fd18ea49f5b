//! Reproducible HDF5 bytes (design §5): HDF5 stamps the version-2 object headers it creates or
//! changes with the wall-clock time (h5wasm and h5py cannot switch that off), so two identical runs
//! would differ in those bytes. Every such header whose checksum verifies and whose timestamps
//! differ from the input file's bytes at the same place gets timestamps 0 and a recomputed checksum;
//! headers the run did not touch keep theirs. The host reads and writes the file; the decisions are
//! here: where the candidate headers are in a block, how long a header is, how it is patched.

/// `OHDR`: a version-2 object header's signature.
const SIGNATURE: &[u8; 4] = b"OHDR";

/// Jenkins' lookup3 hash (`hashlittle`), as HDF5 uses it for metadata checksums.
pub fn lookup3(bytes: &[u8], initval: u32) -> u32 {
    let mut a = 0xdead_beef_u32.wrapping_add(bytes.len() as u32).wrapping_add(initval);
    let (mut b, mut c) = (a, a);
    let word = |chunk: &[u8]| {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        u32::from_le_bytes(w)
    };
    let mut rest = bytes;
    while rest.len() > 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(4);
        b = b.wrapping_add(a);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return c;
    }
    let tail = |from: usize| if rest.len() > from { word(&rest[from..rest.len().min(from + 4)]) } else { 0 };
    a = a.wrapping_add(tail(0));
    b = b.wrapping_add(tail(4));
    c = c.wrapping_add(tail(8));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// Offsets (from the file's start, `block` starting at `start`) of every `OHDR` that begins in the
/// first `scan` bytes of `block` (a host reads blocks overlapping by 3 bytes, so none is missed).
pub fn header_candidates(block: &[u8], start: u64, scan: usize) -> Vec<u64> {
    let end = scan.min(block.len().saturating_sub(3));
    memchr::memmem::find_iter(&block[..(end + 3).min(block.len())], SIGNATURE)
        .take_while(|&at| at < end)
        .map(|at| start + at as u64)
        .collect()
}

/// The bytes a version-2 object header with timestamps spans, checksum included, from its first
/// 40 bytes (`head`); `None` when it is not one (an `OHDR` in data, no times stored).
pub fn header_length(head: &[u8]) -> Option<usize> {
    if head.len() < 8 || &head[..4] != SIGNATURE || head[4] != 2 || head[5] & 0x20 == 0 {
        return None;
    }
    let size_bytes = 1usize << (head[5] & 3);
    let size_at = 6 + 16 + if head[5] & 0x10 != 0 { 4 } else { 0 };
    if head.len() < size_at + size_bytes {
        return None;
    }
    let chunk_size = head[size_at..size_at + size_bytes]
        .iter()
        .rev()
        .fold(0usize, |n, &b| n.wrapping_mul(256).wrapping_add(b as usize));
    Some(size_at + size_bytes + chunk_size + 4)
}

/// Zero the timestamps of the object header `header` (its [`header_length`] bytes) and recompute
/// its checksum, unless its checksum does not verify, its times are already 0, or they equal the
/// input's 16 bytes at the same place (`input_times`: a header the run did not touch). Returns
/// whether it changed `header`.
pub fn pin_header(header: &mut [u8], input_times: Option<&[u8]>) -> bool {
    if header.len() < 26 {
        return false;
    }
    let covered = header.len() - 4;
    let stored = u32::from_le_bytes(header[covered..].try_into().expect("4 bytes"));
    if lookup3(&header[..covered], 0) != stored {
        return false;
    }
    let times = &header[6..22];
    if times.iter().all(|&t| t == 0) || input_times.is_some_and(|before| before == times) {
        return false;
    }
    header[6..22].fill(0);
    let checksum = lookup3(&header[..covered], 0);
    header[covered..].copy_from_slice(&checksum.to_le_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_matches_its_reference_values() {
        // Bob Jenkins' driver values for hashlittle.
        assert_eq!(lookup3(b"", 0), 0xdeadbeef);
        assert_eq!(lookup3(b"", 0xdeadbeef), 0xbd5b7dde);
        assert_eq!(lookup3(b"Four score and seven years ago", 0), 0x17770551);
        assert_eq!(lookup3(b"Four score and seven years ago", 1), 0xcd628161);
    }

    #[test]
    fn a_stamped_header_is_pinned_and_an_untouched_one_kept() {
        // OHDR v2, flags: times stored (0x20), 1-byte chunk size; 16 bytes of times; size 3; body.
        let mut header = b"OHDR\x02\x20".to_vec();
        header.extend_from_slice(&[7u8; 16]);
        header.push(3);
        header.extend_from_slice(&[1, 2, 3]);
        let checksum = lookup3(&header, 0);
        header.extend_from_slice(&checksum.to_le_bytes());
        assert_eq!(header_length(&header[..header.len().min(40)]), Some(header.len()));
        assert_eq!(header_candidates(&[b"xxOHDRyyOHDR".as_slice(), &[0; 3]].concat(), 100, 12), [102, 108]);
        let untouched = header.clone();
        assert!(!pin_header(&mut header.clone(), Some(&untouched[6..22])), "the input's own times are kept");
        assert!(pin_header(&mut header, Some(&[0; 16])));
        assert!(header[6..22].iter().all(|&t| t == 0));
        let covered = header.len() - 4;
        assert_eq!(u32::from_le_bytes(header[covered..].try_into().unwrap()), lookup3(&header[..covered], 0));
        assert!(!pin_header(&mut header, None), "already pinned");
    }
}

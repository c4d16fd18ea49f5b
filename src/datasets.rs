//! What a dataset of a SONATA file may claim, checked from its metadata before a host reads it
//! (design §4): the ids and group columns are one-dimensional, and a dataset's size is one its
//! file can hold. A hostile or damaged file can claim 10¹² rows in a few kilobytes (HDF5 reads
//! unwritten chunks as fill values): reading it would run for hours or, worse, hand a run a
//! trillion zero ids. Both hosts ask this one check, with their file's size as the storage bound
//! (h5py could give the storage allocated, h5wasm cannot: one bound, so one message everywhere).

/// HDF5's deflate filter (`H5Z_FILTER_DEFLATE`).
const DEFLATE: i64 = 1;
/// Filters that never shrink data: shuffle and the Fletcher-32 checksum.
const NOT_COMPRESSING: [i64; 2] = [2, 3];
/// `H5Z_FILTER_NBIT` and `H5Z_FILTER_SCALEOFFSET`: at most 64 stored bits down to one.
const BIT_PACKING: [i64; 2] = [5, 6];
/// Deflate's largest ratio: one 258-byte match per (at best) 2-bit code, about 1032:1.
const DEFLATE_MAX_RATIO: f64 = 1032.0;
/// A bound for any other compressor (szip, LZF, Blosc, Zstandard, …): none reaches it on the
/// chunks of a real dataset, and a trillion-row claim in a small file exceeds it by far.
const OTHER_MAX_RATIO: f64 = 100_000.0;

/// The most the filter pipeline `filters` (HDF5 filter ids, in order) can shrink data.
fn max_compression(filters: &[i64]) -> f64 {
    filters.iter().fold(1.0, |ratio, &id| {
        ratio
            * match id {
                DEFLATE => DEFLATE_MAX_RATIO,
                id if NOT_COMPRESSING.contains(&id) => 1.0,
                id if BIT_PACKING.contains(&id) => 64.0,
                _ => OTHER_MAX_RATIO,
            }
    })
}

/// `1,000,000,000,000`: a count with thousands separators.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 KB`, `8 TB`: bytes as a reader takes them in.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} bytes", n as u64)
    } else {
        format!("{:.3} {}", value, UNITS[unit]).replace(".000 ", " ")
    }
}

/// The rows of a one-dimensional dataset whose metadata a host read: its `shape`, the bytes of
/// one element, an upper bound on the storage it occupies (`storage_bound`: the storage allocated
/// to it, or its file's size) and its filter pipeline. Else what is wrong, for a dataset that is
/// not one-dimensional or that claims more data than that storage can hold under its filters'
/// best compression: a message the host shows after the file, population and dataset it names.
pub fn check_dataset_extent(
    shape: &[u64],
    element_bytes: u64,
    storage_bound: u64,
    filters: &[i64],
) -> Result<u64, String> {
    let rows = match shape {
        [rows] => *rows,
        _ => {
            let shown: Vec<String> = shape.iter().map(u64::to_string).collect();
            return Err(format!(
                "is {}-dimensional (shape [{}]); SONATA stores it as one value per row (one dimension)",
                shape.len(),
                shown.join(", ")
            ));
        }
    };
    let claimed = rows as f64 * element_bytes.max(1) as f64;
    let ratio = max_compression(filters);
    if claimed > storage_bound as f64 * ratio {
        let filtered = if filters.is_empty() {
            "unfiltered".to_string()
        } else {
            format!("at most {}:1 compressed by its filters", ratio)
        };
        return Err(format!(
            "claims {} rows ({} of data) but its storage holds at most {} ({filtered}): the file is damaged or not what it says",
            grouped(rows),
            bytes(claimed),
            bytes(storage_bound as f64)
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trillion_rows_in_kilobytes_are_refused_with_both_numbers() {
        let error = check_dataset_extent(&[1_000_000_000_000], 8, 12_288, &[]).unwrap_err();
        assert_eq!(
            error,
            "claims 1,000,000,000,000 rows (8 TB of data) but its storage holds at most 12.288 KB (unfiltered): the file is damaged or not what it says"
        );
        let error = check_dataset_extent(&[1_000_000_000_000], 8, 12_288, &[2, 1]).unwrap_err();
        assert!(error.contains("at most 1032:1 compressed by its filters"), "{error}");
    }

    #[test]
    fn real_datasets_pass_compressed_or_not() {
        // 10 M uint64 ids in 80 MB; sorted target ids deflated 500:1; an empty population.
        assert_eq!(check_dataset_extent(&[10_000_000], 8, 80_000_000, &[]).unwrap(), 10_000_000);
        assert_eq!(check_dataset_extent(&[10_000_000], 8, 160_000, &[2, 1]).unwrap(), 10_000_000);
        assert_eq!(check_dataset_extent(&[0], 8, 0, &[]).unwrap(), 0);
    }

    #[test]
    fn more_than_one_dimension_is_refused() {
        let error = check_dataset_extent(&[10, 2], 8, 1 << 20, &[]).unwrap_err();
        assert_eq!(error, "is 2-dimensional (shape [10, 2]); SONATA stores it as one value per row (one dimension)");
        assert!(check_dataset_extent(&[], 8, 8, &[]).unwrap_err().contains("0-dimensional"));
    }
}

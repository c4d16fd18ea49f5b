//! Special functions (normal and gamma families) computed with the pure-Rust `libm` crate only.
//!
//! Every transcendental call goes through `libm` explicitly, never through `f64::ln` and friends:
//! those lower to the platform's C library natively but to a different implementation in wasm,
//! and then native and browser runs would disagree in the last bit (design §2.5).

// AS 241 coefficients are kept as published (grouped after the decimal point only).
#![allow(clippy::inconsistent_digit_grouping, clippy::excessive_precision)]

use std::f64::consts::FRAC_1_SQRT_2;

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    INV_SQRT_2PI * libm::exp(-0.5 * x * x)
}

/// Standard normal CDF Φ(x), accurate in the lower tail.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// Standard normal survival function 1 − Φ(x), accurate in the upper tail.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * FRAC_1_SQRT_2)
}

/// Standard normal quantile Φ⁻¹(p) (Wichura's AS 241, relative accuracy about 1e-16).
///
/// Small `p` keeps its full relative precision, so lower-tail probabilities down to the smallest
/// positive double map to the right quantile; use `-normal_quantile(q)` for upper tails.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.080_928_730_122_7 + 33430.575_583_588_128) * r + 67265.770_927_008_700_853) * r
                + 45921.953_931_549_871_457)
                * r
                + 13731.693_765_509_461_125)
                * r
                + 1971.590_950_306_551_442_7)
                * r
                + 133.141_667_891_784_377_449_7)
                * r
                + 3.387_132_872_796_366_608)
            / (((((((r * 5226.495_278_852_545_925 + 28729.085_735_721_942_674) * r + 39307.895_800_092_710_61)
                * r
                + 21213.794_301_586_595_867)
                * r
                + 5394.196_021_424_751_077_1)
                * r
                + 687.187_007_492_057_908_7)
                * r
                + 42.313_330_701_600_911_252)
                * r
                + 1.0);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = libm::sqrt(-libm::log(tail));
    let value = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.745_450_142_783_414_076_4e-4 + 0.022_723_844_989_269_184_583) * r
            + 0.241_780_725_177_450_611_77)
            * r
            + 1.270_458_252_452_368_382_58)
            * r
            + 3.647_848_324_763_204_605_04)
            * r
            + 5.769_497_221_460_691_405_5)
            * r
            + 4.630_337_846_156_545_295_9)
            * r
            + 1.423_437_110_749_683_577_34)
            / (((((((r * 1.050_750_071_644_416_843_24e-9 + 5.475_938_084_995_344_946e-4) * r
                + 0.015_198_666_563_616_457_2)
                * r
                + 0.148_103_976_427_480_074_59)
                * r
                + 0.689_767_334_985_100_004_55)
                * r
                + 1.676_384_830_183_803_849_4)
                * r
                + 2.053_191_626_637_758_821_87)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.010_334_399_292_288_132_65e-7 + 2.711_555_568_743_487_578_87e-5) * r
            + 0.001_242_660_947_388_078_438_6)
            * r
            + 0.026_532_189_526_576_123_093)
            * r
            + 0.296_560_571_828_504_891_23)
            * r
            + 1.784_826_539_917_291_335_8)
            * r
            + 5.463_784_911_164_114_369_9)
            * r
            + 6.657_904_643_501_103_777_2)
            / (((((((r * 2.044_263_103_389_939_785_64e-15 + 1.421_511_758_316_445_887_88e-7) * r
                + 1.846_318_317_510_054_681_87e-5)
                * r
                + 7.868_691_311_456_132_591e-4)
                * r
                + 0.014_875_361_290_850_614_852_5)
                * r
                + 0.136_929_880_922_735_805_31)
                * r
                + 0.599_832_206_555_887_937_69)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

/// Natural log of the gamma function.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Regularized incomplete gamma functions `(P(a, x), Q(a, x))`, each computed where it is accurate
/// (series below `a + 1`, Lentz continued fraction above), the other as its complement.
pub fn regularized_gamma(a: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    let log_prefactor = a * libm::log(x) - x - ln_gamma(a);
    if x < a + 1.0 {
        // Series: P = e^{-x} x^a / Γ(a+1) Σ x^n / ((a+1)…(a+n)).
        let mut ap = a;
        let mut term = 1.0 / a;
        let mut sum = term;
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        let p = (sum * libm::exp(log_prefactor)).min(1.0);
        (p, 1.0 - p)
    } else {
        // Continued fraction for Q (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let q = (libm::exp(log_prefactor) * h).min(1.0);
        (1.0 - q, q)
    }
}

/// Quantile of the standard gamma distribution with shape `a`: the `x` with `P(a, x) = p`, where
/// `q = 1 − p` is passed too so that upper-tail quantiles keep their precision.
///
/// Halley's iteration from Wilson–Hilferty / small-shape starting points (as in Numerical
/// Recipes' `invgammp`), with the residual taken on whichever tail is smaller.
pub fn gamma_quantile(a: f64, p: f64, q: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if q <= 0.0 {
        return f64::INFINITY;
    }
    let a1 = a - 1.0;
    let gln = ln_gamma(a);
    let (lna1, afac) = if a > 1.0 {
        let lna1 = libm::log(a1);
        (lna1, libm::exp(a1 * (lna1 - 1.0) - gln))
    } else {
        (0.0, 0.0)
    };
    let mut x = if a > 1.0 {
        let pp = p.min(q);
        let t = libm::sqrt(-2.0 * libm::log(pp));
        let mut z = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t;
        if p >= 0.5 {
            z = -z;
        }
        let w = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * libm::sqrt(a));
        (a * w * w * w).max(1e-3)
    } else {
        let t = 1.0 - a * (0.253 + a * 0.12);
        if p < t {
            libm::pow(p / t, 1.0 / a)
        } else {
            1.0 - libm::log(q / (1.0 - t))
        }
    };
    for _ in 0..100 {
        if x <= 0.0 {
            return 0.0;
        }
        let (lower, upper) = regularized_gamma(a, x);
        let residual = if p < 0.5 { lower - p } else { q - upper };
        let density = if a > 1.0 {
            afac * libm::exp(-(x - a1) + a1 * (libm::log(x) - lna1))
        } else {
            libm::exp(-x + a1 * libm::log(x) - gln)
        };
        if density == 0.0 {
            break;
        }
        let u = residual / density;
        let step = u / (1.0 - 0.5 * (u * (a1 / x - 1.0)).min(1.0));
        let previous = x;
        x -= step;
        if x <= 0.0 {
            x = 0.5 * previous;
        }
        if (x - previous).abs() <= 1e-15 * x.max(1e-300) {
            break;
        }
    }
    x
}

/// Poisson CDF `P(X ≤ k)` and survival `P(X > k)` for mean `lambda`.
pub fn poisson_cdf_sf(k: f64, lambda: f64) -> (f64, f64) {
    if k < 0.0 {
        return (0.0, 1.0);
    }
    if lambda == 0.0 {
        return (1.0, 0.0);
    }
    let (lower, upper) = regularized_gamma(libm::floor(k) + 1.0, lambda);
    (upper, lower)
}

/// Poisson probability mass at `k`.
pub fn poisson_pmf(k: f64, lambda: f64) -> f64 {
    if k < 0.0 || k != libm::floor(k) {
        return 0.0;
    }
    if lambda == 0.0 {
        return if k == 0.0 { 1.0 } else { 0.0 };
    }
    libm::exp(k * libm::log(lambda) - lambda - ln_gamma(k + 1.0))
}

/// Smallest `k` with `P(X ≤ k) ≥ p` for a Poisson variable, where `q = 1 − p` is used on the upper
/// side so that the quantile stays right far into the tail (like scipy's `poisson.isf(q)`).
pub fn poisson_quantile(lambda: f64, p: f64, q: f64) -> f64 {
    if lambda == 0.0 || p <= 0.0 {
        return 0.0;
    }
    if q <= 0.0 {
        return f64::INFINITY;
    }
    let z = if p < 0.5 { normal_quantile(p) } else { -normal_quantile(q) };
    let start = libm::floor(lambda + libm::sqrt(lambda) * z).max(0.0);
    let reached = |k: f64| {
        if k < 0.0 {
            return false;
        }
        let (cdf, sf) = poisson_cdf_sf(k, lambda);
        if p < 0.5 {
            cdf >= p
        } else {
            sf <= q
        }
    };
    // Bracket the answer from the normal approximation by doubling steps, then bisect: a bounded
    // number of CDF evaluations for any λ (a step-by-step walk never ends once k + 1 == k).
    let (mut below, mut above) = if reached(start) {
        let (mut above, mut step) = (start, 1.0);
        loop {
            let candidate = above - step;
            if candidate < 0.0 {
                break (-1.0, above);
            }
            if !reached(candidate) {
                break (candidate, above);
            }
            above = candidate;
            step *= 2.0;
        }
    } else {
        let (mut below, mut step) = (start, 1.0);
        loop {
            let candidate = below + step;
            if !candidate.is_finite() {
                return f64::INFINITY;
            }
            if reached(candidate) {
                break (below, candidate);
            }
            below = candidate;
            step *= 2.0;
        }
    };
    // Invariant: not reached at `below` (or below = −1), reached at `above`.
    while above - below > 1.0 {
        let middle = libm::floor(0.5 * (below + above));
        if middle <= below || middle >= above {
            break;
        }
        if reached(middle) {
            above = middle;
        } else {
            below = middle;
        }
    }
    above
}

/// Gamma density with shape `a` and unit scale.
pub fn gamma_pdf(x: f64, a: f64) -> f64 {
    if x < 0.0 {
        return 0.0;
    }
    if x == 0.0 {
        return if a < 1.0 {
            f64::INFINITY
        } else if a == 1.0 {
            1.0
        } else {
            0.0
        };
    }
    libm::exp((a - 1.0) * libm::log(x) - x - ln_gamma(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_inverts_cdf_in_both_tails() {
        for &x in &[-37.0, -20.0, -8.5, -3.0, -0.3, 0.0, 0.7, 2.5] {
            let p = normal_cdf(x);
            let back = normal_quantile(p);
            assert!((back - x).abs() <= 1e-12 * x.abs().max(1.0), "x={x} back={back}");
        }
        for &x in &[6.0, 8.0, 9.0, 20.0, 37.0] {
            let back = -normal_quantile(normal_sf(x));
            assert!((back - x).abs() <= 1e-12 * x, "x={x} back={back}");
        }
    }

    #[test]
    fn incomplete_gamma_known_values() {
        // P(1, x) = 1 − e^{−x}; P(0.5, x) = erf(√x).
        for &x in &[0.01, 0.5, 1.0, 3.0, 20.0] {
            let (p, _) = regularized_gamma(1.0, x);
            assert!((p - (1.0 - libm::exp(-x))).abs() < 1e-14);
            let (p, q) = regularized_gamma(0.5, x);
            assert!((p - libm::erf(libm::sqrt(x))).abs() < 1e-14);
            assert!((q - libm::erfc(libm::sqrt(x))).abs() < 1e-14 * q.max(1e-300) + 1e-300);
        }
    }

    #[test]
    fn gamma_quantile_inverts_cdf() {
        for &a in &[0.2, 0.9, 1.0, 4.0, 11.56, 1995.11] {
            for &p in &[1e-12, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.99, 1.0 - 1e-9] {
                let x = gamma_quantile(a, p, 1.0 - p);
                let (lower, upper) = regularized_gamma(a, x);
                let err = if p < 0.5 { (lower - p) / p } else { (upper - (1.0 - p)) / (1.0 - p) };
                assert!(err.abs() < 1e-7, "a={a} p={p} x={x} err={err}");
            }
        }
    }

    #[test]
    fn poisson_quantile_matches_cdf() {
        for &lambda in &[0.3, 2.0, 15.0, 400.0] {
            for &p in &[0.001, 0.2, 0.5, 0.9, 0.9999] {
                let k = poisson_quantile(lambda, p, 1.0 - p);
                assert!(poisson_cdf_sf(k, lambda).0 >= p - 1e-12);
                if k > 0.0 {
                    assert!(poisson_cdf_sf(k - 1.0, lambda).0 < p + 1e-12);
                }
            }
        }
    }
}

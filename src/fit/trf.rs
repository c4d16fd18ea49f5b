//! connectome-manipulator's `_norm_fitting`: a scaled normal density fitted by least squares to a
//! histogram's counts at its bin centres — scipy's `curve_fit` with bounds, i.e. `least_squares`
//! with the Trust Region Reflective method (`trf_bounds`, exact trust-region solver, 2-point
//! finite-difference Jacobian, `ftol = xtol = gtol = 1e-8`, `max_nfev = 30`) — ported step for
//! step from scipy 1.17 (`scipy/optimize/_lsq/trf.py`, `common.py`, `_numdiff.py`,
//! `_minpack_py.py`), so that the same histogram converges (or runs out of evaluations) the same
//! way and the fit is accepted or rejected by the same relative-error test. The values agree with
//! scipy's to the optimizer's tolerance; the last bits may differ (numpy's `exp`, BLAS sums).

/// Parameters: mean, standard deviation, scale.
const N: usize = 3;
/// Machine epsilon of f64.
const EPS: f64 = f64::EPSILON;
/// scipy's default tolerances for `least_squares`.
const FTOL: f64 = 1e-8;
const XTOL: f64 = 1e-8;
const GTOL: f64 = 1e-8;

/// The outcome of one normal fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormFit {
    /// Fitted (or fallback) location.
    pub loc: f64,
    /// Fitted (or fallback) scale.
    pub scale: f64,
    /// Whether the fit was accepted (converged within `max_nfev`, relative errors ≤ threshold).
    pub accepted: bool,
    /// Function evaluations the optimizer used (0 when it could not start).
    pub evaluations: u32,
}

/// `_norm_fitting(centers, counts, max_nfev, rel_fit_err_th=0.5, def_mn, def_sd)`: the fitted
/// (loc, scale), or (`default_mean`, `default_std`) when the fit fails or is too uncertain.
/// `start_mean` is `np.mean(centers)` in the histogram's arithmetic (float32 for float32 data).
pub fn norm_fitting(
    centers: &[f64],
    counts: &[f64],
    start_mean: f64,
    max_evaluations: u32,
    default_mean: f64,
    default_std: f64,
) -> NormFit {
    let fallback = |evaluations| NormFit { loc: default_mean, scale: default_std, accepted: false, evaluations };
    let lo = centers.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = centers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lb = [lo, 0.0, 0.0];
    let ub = [hi, f64::INFINITY, f64::INFINITY];
    let problem = Problem { x: centers, y: counts };
    let result = match least_squares(&problem, [start_mean, 1.0, 1.0], lb, ub, max_evaluations) {
        Ok(result) if result.status > 0 => result,
        Ok(result) => return fallback(result.evaluations),
        Err(()) => return fallback(0),
    };
    let m = counts.len();
    let covariance = covariance(&result.jacobian, m, 2.0 * result.cost);
    // Signed, as scipy divides: a negative location's relative error never exceeds 0.5.
    let accepted = covariance.iter().zip(&result.x).all(|(c, x)| {
        let relative = c.sqrt() / x;
        relative.is_finite() && relative <= 0.5
    });
    if accepted {
        NormFit { loc: result.x[0], scale: result.x[1], accepted, evaluations: result.evaluations }
    } else {
        fallback(result.evaluations)
    }
}

/// The diagonal of `curve_fit`'s `pcov`: the pseudo-inverse of JᵀJ from the SVD of J (singular
/// values at most eps·max(m, n)·s₀ dropped), times the residual variance `cost / (m − n)`; all
/// infinite when it has NaN or when m ≤ n.
fn covariance(jacobian: &[f64], m: usize, cost: f64) -> [f64; N] {
    let svd = svd(jacobian, m);
    let threshold = EPS * m.max(N) as f64 * svd.s[0];
    let mut diagonal = [0.0; N];
    for (k, &s) in svd.s.iter().enumerate() {
        if s > threshold {
            for (d, row) in diagonal.iter_mut().zip(&svd.v) {
                *d += row[k] * row[k] / (s * s);
            }
        }
    }
    if diagonal.iter().any(|d| d.is_nan()) || m <= N {
        return [f64::INFINITY; N];
    }
    let variance = cost / (m - N) as f64;
    diagonal.map(|d| d * variance)
}

/// Residuals of `sc · norm.pdf(x, mn, sd) − y`.
struct Problem<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl Problem<'_> {
    fn residuals(&self, p: &[f64; N]) -> Vec<f64> {
        let (mean, std, scale) = (p[0], p[1], p[2]);
        self.x.iter().zip(self.y).map(|(&x, &y)| scale * normal_pdf(x, mean, std) - y).collect()
    }
}

/// `scipy.stats.norm.pdf(x, loc, scale)`: NaN for a scale that is not positive (scipy's bad value).
fn normal_pdf(x: f64, loc: f64, scale: f64) -> f64 {
    if scale.is_nan() || scale <= 0.0 {
        return f64::NAN;
    }
    let z = (x - loc) / scale;
    if !z.is_finite() {
        return 0.0;
    }
    libm::exp(-(z * z) / 2.0) / 2.5066282746310002 / scale
}

/// What `least_squares` returns that `curve_fit` uses.
struct LsqResult {
    x: [f64; N],
    cost: f64,
    /// The Jacobian at `x`, row-major m × 3.
    jacobian: Vec<f64>,
    /// scipy's termination status: 0 = evaluations exhausted, 1–4 converged.
    status: i32,
    evaluations: u32,
}

/// `least_squares(fun, x0, jac='2-point', bounds, method='trf', max_nfev)` up to `trf`. `Err` where
/// scipy raises `ValueError` (bounds, non-finite start).
fn least_squares(problem: &Problem, x0: [f64; N], lb: [f64; N], ub: [f64; N], max_nfev: u32) -> Result<LsqResult, ()> {
    let ordered = (0..N).all(|i| lb[i] < ub[i]);
    let inside = (0..N).all(|i| x0[i] >= lb[i] && x0[i] <= ub[i]);
    if !ordered || !inside {
        return Err(());
    }
    let x0 = make_strictly_feasible(x0, &lb, &ub, 1e-10);
    let f0 = problem.residuals(&x0);
    if f0.iter().any(|v| !v.is_finite()) {
        return Err(());
    }
    let j0 = jacobian(problem, &x0, &f0, &lb, &ub);
    trf_bounds(problem, x0, f0, j0, &lb, &ub, max_nfev)
}

/// `approx_derivative(fun, x, method='2-point', f0, bounds)`: forward differences with the step
/// √eps·max(1, |x|), turned back or shortened to stay within the bounds.
fn jacobian(problem: &Problem, x: &[f64; N], f0: &[f64], lb: &[f64; N], ub: &[f64; N]) -> Vec<f64> {
    let m = f0.len();
    let mut jac = vec![0.0; m * N];
    let relative_step = EPS.sqrt();
    for j in 0..N {
        let sign = if x[j] >= 0.0 { 1.0 } else { -1.0 };
        let mut h = relative_step * sign * x[j].abs().max(1.0);
        let lower = x[j] - lb[j];
        let upper = ub[j] - x[j];
        let stepped = x[j] + h;
        let fitting = h.abs() <= lower.max(upper);
        if (stepped < lb[j] || stepped > ub[j]) && fitting {
            h = -h;
        } else if !fitting {
            h = if upper >= lower { upper } else { -lower };
        }
        let mut x1 = *x;
        x1[j] = x[j] + h;
        let dx = (x[j] + h) - x[j];
        let f1 = problem.residuals(&x1);
        for i in 0..m {
            jac[i * N + j] = (f1[i] - f0[i]) / dx;
        }
    }
    jac
}

/// The optimizer's state across iterations of `trf_bounds`.
struct Trf<'a> {
    problem: &'a Problem<'a>,
    lb: &'a [f64; N],
    ub: &'a [f64; N],
    x: [f64; N],
    f: Vec<f64>,
    jac: Vec<f64>,
    g: [f64; N],
    cost: f64,
    delta: f64,
    alpha: f64,
    evaluations: u32,
}

/// scipy's `trf_bounds` with `x_scale = 1`, linear loss and the exact trust-region solver.
fn trf_bounds(
    problem: &Problem,
    x0: [f64; N],
    f0: Vec<f64>,
    j0: Vec<f64>,
    lb: &[f64; N],
    ub: &[f64; N],
    max_nfev: u32,
) -> Result<LsqResult, ()> {
    let cost = 0.5 * dot(&f0, &f0);
    let g = gradient(&j0, &f0);
    let (v, _) = cl_scaling_vector(&x0, &g, lb, ub);
    let mut delta = norm(&std::array::from_fn::<f64, N, _>(|i| x0[i] / v[i].sqrt()));
    if delta == 0.0 {
        delta = 1.0;
    }
    let mut state = Trf { problem, lb, ub, x: x0, f: f0, jac: j0, g, cost, delta, alpha: 0.0, evaluations: 1 };
    let mut status = None;
    loop {
        let (v, dv) = cl_scaling_vector(&state.x, &state.g, lb, ub);
        let g_norm = (0..N).map(|i| (state.g[i] * v[i]).abs()).fold(0.0, f64::max);
        if g_norm < GTOL {
            status = Some(1);
        }
        if status.is_some() || state.evaluations == max_nfev {
            break;
        }
        status = state.iterate(&v, &dv, g_norm, max_nfev)?;
    }
    Ok(LsqResult {
        x: state.x,
        cost: state.cost,
        jacobian: state.jac,
        status: status.unwrap_or(0),
        evaluations: state.evaluations,
    })
}

impl Trf<'_> {
    /// One outer iteration: steps tried until one reduces the cost (or evaluations run out).
    /// Returns the termination status when a test was met.
    fn iterate(&mut self, v: &[f64; N], dv: &[f64; N], g_norm: f64, max_nfev: u32) -> Result<Option<i32>, ()> {
        let m = self.f.len();
        let d: [f64; N] = std::array::from_fn(|i| v[i].sqrt());
        let diag_h: [f64; N] = std::array::from_fn(|i| self.g[i] * dv[i]);
        let g_h: [f64; N] = std::array::from_fn(|i| d[i] * self.g[i]);
        let j_h: Vec<f64> = (0..m * N).map(|k| self.jac[k] * d[k % N]).collect();
        let mut augmented = j_h.clone();
        for (i, &dh) in diag_h.iter().enumerate() {
            let mut row = [0.0; N];
            row[i] = dh.sqrt();
            augmented.extend_from_slice(&row);
        }
        let svd = svd(&augmented, m + N);
        // uf = Uᵀ f_augmented (the augmented part of f is zero).
        let uf: [f64; N] = std::array::from_fn(|k| (0..m).map(|i| svd.u[i * N + k] * self.f[i]).sum());
        let theta = f64::max(0.995, 1.0 - g_norm);
        let mut actual_reduction = -1.0;
        let (mut x_new, mut f_new, mut cost_new) = (self.x, Vec::new(), self.cost);
        let mut status = None;
        while actual_reduction <= 0.0 && self.evaluations < max_nfev {
            let (p_h, alpha) = solve_lsq_trust_region(m, &uf, &svd.s, &svd.v, self.delta, self.alpha);
            self.alpha = alpha;
            let p: [f64; N] = std::array::from_fn(|i| d[i] * p_h[i]);
            let (step, step_h, predicted) = select_step(self, &j_h, &diag_h, &g_h, p, p_h, &d, theta)?;
            x_new = make_strictly_feasible(std::array::from_fn(|i| self.x[i] + step[i]), self.lb, self.ub, 0.0);
            f_new = self.problem.residuals(&x_new);
            self.evaluations += 1;
            let step_h_norm = norm(&step_h);
            if f_new.iter().any(|v| !v.is_finite()) {
                self.delta = 0.25 * step_h_norm;
                continue;
            }
            cost_new = 0.5 * dot(&f_new, &f_new);
            actual_reduction = self.cost - cost_new;
            let (delta_new, ratio) =
                update_tr_radius(self.delta, actual_reduction, predicted, step_h_norm, step_h_norm > 0.95 * self.delta);
            status = check_termination(actual_reduction, self.cost, norm(&step), norm(&self.x), ratio);
            if status.is_some() {
                break;
            }
            self.alpha *= self.delta / delta_new;
            self.delta = delta_new;
        }
        if actual_reduction > 0.0 {
            self.x = x_new;
            self.jac = jacobian(self.problem, &self.x, &f_new, self.lb, self.ub);
            self.f = f_new;
            self.cost = cost_new;
            self.g = gradient(&self.jac, &self.f);
        }
        Ok(status)
    }
}

/// scipy's `select_step`: the trust-region step if it stays within the bounds; otherwise the best
/// of the step cut at the bound (pulled back by `theta`), its reflection, and the scaled
/// anti-gradient. Returns (step, step in hat space, predicted reduction).
#[allow(clippy::too_many_arguments)]
fn select_step(
    trf: &Trf,
    j_h: &[f64],
    diag_h: &[f64; N],
    g_h: &[f64; N],
    mut p: [f64; N],
    mut p_h: [f64; N],
    d: &[f64; N],
    theta: f64,
) -> Result<([f64; N], [f64; N], f64), ()> {
    let (x, lb, ub, delta) = (&trf.x, trf.lb, trf.ub, trf.delta);
    let x_p: [f64; N] = std::array::from_fn(|i| x[i] + p[i]);
    if (0..N).all(|i| x_p[i] >= lb[i] && x_p[i] <= ub[i]) {
        let value = evaluate_quadratic(j_h, g_h, &p_h, diag_h);
        return Ok((p, p_h, -value));
    }
    let (p_stride, hits) = step_size_to_bound(x, &p, lb, ub);
    let mut r_h = p_h;
    for i in 0..N {
        if hits[i] != 0 {
            r_h[i] = -r_h[i];
        }
    }
    let mut r: [f64; N] = std::array::from_fn(|i| d[i] * r_h[i]);
    for i in 0..N {
        p[i] *= p_stride;
        p_h[i] *= p_stride;
    }
    let x_on_bound: [f64; N] = std::array::from_fn(|i| x[i] + p[i]);
    let (_, to_tr) = intersect_trust_region(&p_h, &r_h, delta)?;
    let (to_bound, _) = step_size_to_bound(&x_on_bound, &r, lb, ub);
    let r_stride = to_bound.min(to_tr);
    let (r_stride_l, r_stride_u) = if r_stride > 0.0 {
        let upper = if r_stride == to_bound { theta * to_bound } else { to_tr };
        ((1.0 - theta) * p_stride / r_stride, upper)
    } else {
        (0.0, -1.0)
    };
    let r_value = if r_stride_l <= r_stride_u {
        let (a, b, c) = build_quadratic_1d(j_h, g_h, &r_h, diag_h, Some(&p_h));
        let (stride, value) = minimize_quadratic_1d(a, b, r_stride_l, r_stride_u, c);
        for i in 0..N {
            r_h[i] = r_h[i] * stride + p_h[i];
            r[i] = r_h[i] * d[i];
        }
        value
    } else {
        f64::INFINITY
    };
    for i in 0..N {
        p[i] *= theta;
        p_h[i] *= theta;
    }
    let p_value = evaluate_quadratic(j_h, g_h, &p_h, diag_h);
    let mut ag_h: [f64; N] = std::array::from_fn(|i| -g_h[i]);
    let mut ag: [f64; N] = std::array::from_fn(|i| d[i] * ag_h[i]);
    let to_tr = delta / norm(&ag_h);
    let (to_bound, _) = step_size_to_bound(x, &ag, lb, ub);
    let ag_stride = if to_bound < to_tr { theta * to_bound } else { to_tr };
    let (a, b, _) = build_quadratic_1d(j_h, g_h, &ag_h, diag_h, None);
    let (ag_stride, ag_value) = minimize_quadratic_1d(a, b, 0.0, ag_stride, 0.0);
    for i in 0..N {
        ag_h[i] *= ag_stride;
        ag[i] *= ag_stride;
    }
    Ok(if p_value < r_value && p_value < ag_value {
        (p, p_h, -p_value)
    } else if r_value < p_value && r_value < ag_value {
        (r, r_h, -r_value)
    } else {
        (ag, ag_h, -ag_value)
    })
}

/// Moré's method for the trust-region subproblem from the SVD (`solve_lsq_trust_region`).
/// Returns the step in hat space and the Levenberg–Marquardt parameter.
fn solve_lsq_trust_region(
    m: usize,
    uf: &[f64; N],
    s: &[f64; N],
    v: &[[f64; N]; N],
    delta: f64,
    initial_alpha: f64,
) -> ([f64; N], f64) {
    let suf: [f64; N] = std::array::from_fn(|i| s[i] * uf[i]);
    let full_rank = m >= N && s[N - 1] > EPS * m as f64 * s[0];
    let phi_and_derivative = |alpha: f64| {
        let denom: [f64; N] = std::array::from_fn(|i| s[i] * s[i] + alpha);
        let p_norm = norm(&std::array::from_fn::<f64, N, _>(|i| suf[i] / denom[i]));
        let phi = p_norm - delta;
        let phi_prime = -(0..N).map(|i| suf[i] * suf[i] / (denom[i] * denom[i] * denom[i])).sum::<f64>() / p_norm;
        (phi, phi_prime)
    };
    let rotate = |w: &[f64; N]| -> [f64; N] { std::array::from_fn(|i| -(0..N).map(|k| v[i][k] * w[k]).sum::<f64>()) };
    if full_rank {
        let p = rotate(&std::array::from_fn(|i| uf[i] / s[i]));
        if norm(&p) <= delta {
            return (p, 0.0);
        }
    }
    let mut alpha_upper = norm(&suf) / delta;
    let mut alpha_lower = if full_rank {
        let (phi, phi_prime) = phi_and_derivative(0.0);
        -phi / phi_prime
    } else {
        0.0
    };
    let restart = |lower: f64, upper: f64| f64::max(0.001 * upper, (lower * upper).sqrt());
    let mut alpha = if !full_rank && initial_alpha == 0.0 { restart(alpha_lower, alpha_upper) } else { initial_alpha };
    for _ in 0..10 {
        if alpha < alpha_lower || alpha > alpha_upper {
            alpha = restart(alpha_lower, alpha_upper);
        }
        let (phi, phi_prime) = phi_and_derivative(alpha);
        if phi < 0.0 {
            alpha_upper = alpha;
        }
        let ratio = phi / phi_prime;
        alpha_lower = alpha_lower.max(alpha - ratio);
        alpha -= (phi + delta) * ratio / delta;
        if phi.abs() < 0.01 * delta {
            break;
        }
    }
    let mut p = rotate(&std::array::from_fn(|i| suf[i] / (s[i] * s[i] + alpha)));
    let scale = delta / norm(&p);
    for value in &mut p {
        *value *= scale;
    }
    (p, alpha)
}

/// Coleman–Li scaling: distance to the bound the gradient points at, 1 where it is infinite.
fn cl_scaling_vector(x: &[f64; N], g: &[f64; N], lb: &[f64; N], ub: &[f64; N]) -> ([f64; N], [f64; N]) {
    let mut v = [1.0; N];
    let mut dv = [0.0; N];
    for i in 0..N {
        if g[i] < 0.0 && ub[i].is_finite() {
            v[i] = ub[i] - x[i];
            dv[i] = -1.0;
        }
        if g[i] > 0.0 && lb[i].is_finite() {
            v[i] = x[i] - lb[i];
            dv[i] = 1.0;
        }
    }
    (v, dv)
}

/// `make_strictly_feasible`: values on or beyond a bound moved just inside it (`rstep` 0: by one
/// ulp; else by `rstep · max(1, |bound|)` for values within that distance).
fn make_strictly_feasible(x: [f64; N], lb: &[f64; N], ub: &[f64; N], rstep: f64) -> [f64; N] {
    let mut out = x;
    for i in 0..N {
        let active = if rstep == 0.0 {
            if x[i] >= ub[i] {
                1
            } else if x[i] <= lb[i] {
                -1
            } else {
                0
            }
        } else {
            let (lower, upper) = (x[i] - lb[i], ub[i] - x[i]);
            let lower_active = lb[i].is_finite() && lower <= upper.min(rstep * lb[i].abs().max(1.0));
            let upper_active = ub[i].is_finite() && upper <= lower.min(rstep * ub[i].abs().max(1.0));
            if upper_active {
                1
            } else if lower_active {
                -1
            } else {
                0
            }
        };
        if active == -1 {
            out[i] = if rstep == 0.0 { libm::nextafter(lb[i], ub[i]) } else { lb[i] + rstep * lb[i].abs().max(1.0) };
        } else if active == 1 {
            out[i] = if rstep == 0.0 { libm::nextafter(ub[i], lb[i]) } else { ub[i] - rstep * ub[i].abs().max(1.0) };
        }
        if out[i] < lb[i] || out[i] > ub[i] {
            out[i] = 0.5 * (lb[i] + ub[i]);
        }
    }
    out
}

/// `step_size_to_bound`: the largest stride along `s` from `x` within the bounds, and which
/// components hit a bound (with the step's sign).
fn step_size_to_bound(x: &[f64; N], s: &[f64; N], lb: &[f64; N], ub: &[f64; N]) -> (f64, [i8; N]) {
    let steps: [f64; N] = std::array::from_fn(|i| {
        if s[i] != 0.0 {
            f64::max((lb[i] - x[i]) / s[i], (ub[i] - x[i]) / s[i])
        } else {
            f64::INFINITY
        }
    });
    let min_step = steps.iter().copied().fold(f64::INFINITY, f64::min);
    let hits = std::array::from_fn(|i| {
        if steps[i] == min_step {
            if s[i] > 0.0 {
                1
            } else if s[i] < 0.0 {
                -1
            } else {
                0
            }
        } else {
            0
        }
    });
    (min_step, hits)
}

/// `intersect_trust_region`: the two strides t where ‖x + t·s‖ = Δ (sorted).
fn intersect_trust_region(x: &[f64; N], s: &[f64; N], delta: f64) -> Result<(f64, f64), ()> {
    let a = dot(s, s);
    if a == 0.0 {
        return Err(());
    }
    let b = dot(x, s);
    let c = dot(x, x) - delta * delta;
    if c > 0.0 {
        return Err(());
    }
    let d = (b * b - a * c).sqrt();
    let q = -(b + d.copysign(b));
    let (t1, t2) = (q / a, c / q);
    Ok(if t1 < t2 { (t1, t2) } else { (t2, t1) })
}

fn update_tr_radius(delta: f64, actual: f64, predicted: f64, step_norm: f64, bound_hit: bool) -> (f64, f64) {
    let ratio = if predicted > 0.0 {
        actual / predicted
    } else if predicted == actual && actual == 0.0 {
        1.0
    } else {
        0.0
    };
    let delta = if ratio < 0.25 {
        0.25 * step_norm
    } else if ratio > 0.75 && bound_hit {
        delta * 2.0
    } else {
        delta
    };
    (delta, ratio)
}

fn check_termination(d_f: f64, f: f64, dx_norm: f64, x_norm: f64, ratio: f64) -> Option<i32> {
    let ftol_satisfied = d_f < FTOL * f && ratio > 0.25;
    let xtol_satisfied = dx_norm < XTOL * (XTOL + x_norm);
    match (ftol_satisfied, xtol_satisfied) {
        (true, true) => Some(4),
        (true, false) => Some(2),
        (false, true) => Some(3),
        (false, false) => None,
    }
}

/// J·s for a row-major m × 3 matrix.
fn mat_vec(j: &[f64], s: &[f64; N]) -> Vec<f64> {
    j.chunks_exact(N).map(|row| row[0] * s[0] + row[1] * s[1] + row[2] * s[2]).collect()
}

fn evaluate_quadratic(j: &[f64], g: &[f64; N], s: &[f64; N], diag: &[f64; N]) -> f64 {
    let js = mat_vec(j, s);
    let q = dot(&js, &js) + (0..N).map(|i| s[i] * diag[i] * s[i]).sum::<f64>();
    0.5 * q + dot(s, g)
}

fn build_quadratic_1d(
    j: &[f64],
    g: &[f64; N],
    s: &[f64; N],
    diag: &[f64; N],
    s0: Option<&[f64; N]>,
) -> (f64, f64, f64) {
    let v = mat_vec(j, s);
    let a = 0.5 * (dot(&v, &v) + (0..N).map(|i| s[i] * diag[i] * s[i]).sum::<f64>());
    let mut b = dot(g, s);
    let Some(s0) = s0 else { return (a, b, 0.0) };
    let u = mat_vec(j, s0);
    b += dot(&u, &v);
    let mut c = 0.5 * dot(&u, &u) + dot(g, s0);
    b += (0..N).map(|i| s0[i] * diag[i] * s[i]).sum::<f64>();
    c += 0.5 * (0..N).map(|i| s0[i] * diag[i] * s0[i]).sum::<f64>();
    (a, b, c)
}

fn minimize_quadratic_1d(a: f64, b: f64, lb: f64, ub: f64, c: f64) -> (f64, f64) {
    let mut candidates = vec![lb, ub];
    if a != 0.0 {
        let extremum = -0.5 * b / a;
        if lb < extremum && extremum < ub {
            candidates.push(extremum);
        }
    }
    let mut best = (candidates[0], candidates[0] * (a * candidates[0] + b) + c);
    for &t in &candidates[1..] {
        let y = t * (a * t + b) + c;
        if y < best.1 {
            best = (t, y);
        }
    }
    best
}

fn gradient(j: &[f64], f: &[f64]) -> [f64; N] {
    let mut g = [0.0; N];
    for (row, &fi) in j.chunks_exact(N).zip(f) {
        for k in 0..N {
            g[k] += row[k] * fi;
        }
    }
    g
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// A thin SVD of a row-major m × 3 matrix: `u` (m × 3, row-major), singular values in decreasing
/// order, and `v` (3 × 3, columns are the right singular vectors).
struct Svd {
    u: Vec<f64>,
    s: [f64; N],
    v: [[f64; N]; N],
}

/// One-sided Jacobi (Hestenes): column pairs rotated until orthogonal, which keeps singular values
/// to high relative accuracy (what LAPACK's divide and conquer gives for a 3-column matrix).
fn svd(a: &[f64], m: usize) -> Svd {
    let mut u = a.to_vec();
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..N - 1 {
            for q in p + 1..N {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..m {
                    let (up, uq) = (u[i * N + p], u[i * N + q]);
                    alpha += up * up;
                    beta += uq * uq;
                    gamma += up * uq;
                }
                if gamma == 0.0 || gamma.abs() <= EPS * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for i in 0..m {
                    let (up, uq) = (u[i * N + p], u[i * N + q]);
                    u[i * N + p] = c * up - s * uq;
                    u[i * N + q] = s * up + c * uq;
                }
                for row in &mut v {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: [f64; N] = std::array::from_fn(|k| (0..m).map(|i| u[i * N + k] * u[i * N + k]).sum::<f64>().sqrt());
    let mut order = [0, 1, 2];
    order.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]));
    let mut out = Svd { u: vec![0.0; m * N], s: [0.0; N], v: [[0.0; N]; N] };
    for (k, &src) in order.iter().enumerate() {
        out.s[k] = norms[src];
        for i in 0..m {
            out.u[i * N + k] = if norms[src] > 0.0 { u[i * N + src] / norms[src] } else { 0.0 };
        }
        for (row_out, row) in out.v.iter_mut().zip(&v) {
            row_out[k] = row[src];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::PortableMath;

    #[test]
    fn svd_reconstructs_the_matrix() {
        let a: Vec<f64> = (0..15).map(|k| ((k * 7 % 11) as f64) - 3.5 + (k as f64).psin()).collect();
        let svd = svd(&a, 5);
        assert!(svd.s[0] >= svd.s[1] && svd.s[1] >= svd.s[2]);
        for i in 0..5 {
            for j in 0..N {
                let value: f64 = (0..N).map(|k| svd.u[i * N + k] * svd.s[k] * svd.v[j][k]).sum();
                assert!((value - a[i * N + j]).abs() < 1e-12, "{value} vs {}", a[i * N + j]);
            }
        }
    }

    #[test]
    fn a_sampled_normal_is_recovered() {
        // Counts of an exact scaled normal at 51 centres: the fit must find its parameters.
        let centers: Vec<f64> = (0..51).map(|i| 0.1 + 0.8 * (i as f64 + 0.5) / 51.0).collect();
        let counts: Vec<f64> = centers.iter().map(|&x| 7.0 * normal_pdf(x, 0.45, 0.12)).collect();
        let start = centers.iter().sum::<f64>() / 51.0;
        let fit = norm_fitting(&centers, &counts, start, 30, f64::NAN, f64::NAN);
        assert!(fit.accepted, "{fit:?}");
        assert!((fit.loc - 0.45).abs() < 1e-6 && (fit.scale - 0.12).abs() < 1e-6, "{fit:?}");
    }

    #[test]
    fn a_hopeless_start_falls_back_to_the_defaults() {
        // Depression times around 600 ms: a unit-width normal at the centre's mean sees almost no
        // counts, and 30 evaluations do not reach the data (scipy gives up the same way).
        let centers: Vec<f64> = (0..51).map(|i| 300.0 + 600.0 * (i as f64 + 0.5) / 51.0).collect();
        let counts: Vec<f64> = centers.iter().map(|&x| (4000.0 * normal_pdf(x, 500.0, 90.0)).round()).collect();
        let fit = norm_fitting(&centers, &counts, 600.0, 30, 512.0, 88.0);
        assert!(!fit.accepted);
        assert_eq!((fit.loc, fit.scale), (512.0, 88.0));
    }
}

//! The maximum-entropy problem behind one row of a perturbation table, and the small
//! interior-point solver that finds its optimum.
//!
//! A row is the noise distribution `p` over the noise values `v` one original count
//! may receive. As in the R package ptable (`pt_optim_entropy` with its defaults
//! `optim = 1`, `mono = TRUE`, no `pstay`), `p` maximises the entropy `−Σ p ln p`
//! subject to
//!
//! - `Σ p = 1` and `Σ v·p = 0` (zero mean noise),
//! - `Σ v²·p ≤ V` (the variance, when the caller gives one),
//! - `p ≥ ε = 10⁻⁸` for every value (the package's lower bound),
//! - `p` non-decreasing from the most negative value up to `v = 0` (the package's
//!   monotony condition, which it states for the values left of zero only).
//!
//! The objective is strictly convex and every constraint is linear, so the optimum is
//! unique and is the only point that satisfies the KKT conditions. [`max_entropy`]
//! finds it in two phases. A primal-dual interior-point method (the bounds kept
//! strictly, slacks for the other inequalities so the start need not satisfy them, a
//! fixed centring factor and a backtracking line search on the residual, as in Boyd and
//! Vandenberghe, *Convex Optimization*, §11.7) brings every residual below 10⁻¹².
//! Then Newton's method on the constraints active there, taken as equalities, makes the
//! point exact to rounding, correcting that active set as an active-set method does;
//! the result is returned only if it checks as a KKT point of the whole problem
//! (feasible to 10⁻¹³, stationary to 10⁻¹⁰, multipliers of the right sign). That is
//! far inside the 10⁻⁸ the table is rounded to. It is plain `f64` arithmetic in a
//! fixed order, so the same row always gives the same bits.

/// The lower bound on every probability, as in the R package (`epsilon = 1e-8`).
pub(crate) const EPSILON: f64 = 1e-8;

/// Newton steps before the solver gives up (it needs about 30 on these problems).
const MAX_ITERATIONS: usize = 300;

/// Residuals and mean complementarity below this are a solution.
const TOLERANCE: f64 = 1e-12;

/// The share of the distance to the boundary a step may go.
const FRACTION_TO_BOUNDARY: f64 = 0.99;

/// The centring factor: each step aims at a tenth of the current complementarity.
const CENTRING: f64 = 0.1;

/// The maximum-entropy distribution over `noise` (sorted, distinct), with the
/// variance bounded by `variance` if given. `None` if the constraints cannot be met or
/// the solver did not converge.
pub(crate) fn max_entropy(noise: &[i32], variance: Option<f64>) -> Option<Vec<f64>> {
    Problem::new(noise, variance).solve()
}

/// `Σ v²·p`: the variance of zero-mean noise.
pub(crate) fn second_moment(noise: &[i32], p: &[f64]) -> f64 {
    noise
        .iter()
        .zip(p)
        .map(|(&v, &p)| f64::from(v) * f64::from(v) * p)
        .sum()
}

/// `minimise Σ p ln p` subject to `A p = b`, `G p ≤ h` and `p ≥ ε`, dense.
///
/// The bounds `p ≥ ε` are kept strictly at every iterate (so `ln p` is always
/// defined); the other inequalities get slacks, so the start need not satisfy them.
struct Problem {
    n: usize,
    a: Vec<Vec<f64>>,
    b: Vec<f64>,
    g: Vec<Vec<f64>>,
    h: Vec<f64>,
}

impl Problem {
    fn new(noise: &[i32], variance: Option<f64>) -> Problem {
        let n = noise.len();
        let v: Vec<f64> = noise.iter().map(|&x| f64::from(x)).collect();
        let a = vec![vec![1.0; n], v.clone()];
        let b = vec![1.0, 0.0];
        let mut g = Vec::new();
        let mut h = Vec::new();
        if let Some(variance) = variance {
            g.push(v.iter().map(|x| x * x).collect());
            h.push(variance);
        }
        if let Some(zero) = noise.iter().position(|&x| x == 0) {
            for k in 0..zero {
                let mut row = vec![0.0; n];
                row[k] = 1.0;
                row[k + 1] = -1.0;
                g.push(row);
                h.push(0.0);
            }
        }
        Problem { n, a, b, g, h }
    }

    fn solve(&self) -> Option<Vec<f64>> {
        let (n, m) = (self.n, self.g.len());
        if n < 2 {
            return None;
        }
        let mut point = Point {
            p: vec![1.0 / n as f64; n],
            u: vec![1.0; n],
            y: vec![0.0; self.a.len()],
            z: vec![1.0; m],
            s: vec![1.0; m],
        };
        for _ in 0..MAX_ITERATIONS {
            let mu = point.complementarity();
            let residual = self.residual(&point, 0.0);
            if residual.largest_feasibility() < TOLERANCE && mu < TOLERANCE {
                break;
            }
            let target = CENTRING * mu;
            let residual = self.residual(&point, target);
            let Some(step) = self.newton_step(&point, &residual) else {
                break;
            };
            let mut alpha = (FRACTION_TO_BOUNDARY * point.largest_step(&step)).min(1.0);
            let norm = residual.norm();
            // Backtrack until the residual of the centred system shrinks enough; near
            // the solution rounding stops that, and polishing takes over.
            let accepted = loop {
                let trial = point.moved(&step, alpha);
                if self.residual(&trial, target).norm() <= (1.0 - 0.01 * alpha) * norm {
                    break Some(trial);
                }
                alpha *= 0.5;
                if alpha < 1e-14 {
                    break None;
                }
            };
            match accepted {
                Some(next) => point = next,
                None => break,
            }
        }
        let close = self.residual(&point, 0.0).largest_feasibility() < 1e-8
            && point.complementarity() < 1e-10;
        if !close {
            return None;
        }
        self.polish(&point)
    }

    /// Finishes the solution exactly: Newton's method on the problem with the
    /// constraints active at `point` taken as equalities, correcting that guess of the
    /// active set the way an active-set method does (a violated constraint is added, a
    /// constraint whose multiplier has the wrong sign is dropped). Interior-point
    /// iterates approach a constraint with a zero or tiny multiplier only slowly; this
    /// makes such rows exact. The result is returned only if it is a KKT point of the
    /// whole problem: feasible, stationary, and with multipliers of the right sign.
    fn polish(&self, point: &Point) -> Option<Vec<f64>> {
        let (n, m) = (self.n, self.g.len());
        let mut active: Vec<bool> = (0..n)
            .map(|k| point.p[k] - EPSILON < point.u[k])
            .chain((0..m).map(|l| point.s[l] < point.z[l]))
            .collect();
        for _ in 0..2 * (n + m) + 2 {
            let rows = self.active_rows(&active);
            let (p, multipliers) = equality_newton(&point.p, &rows)?;
            // The most violated constraint left out, if any, joins the active set.
            let violation = (0..n)
                .map(|k| (k, EPSILON - p[k]))
                .chain((0..m).map(|l| (n + l, dot(&self.g[l], &p) - self.h[l])))
                .filter(|(c, _)| !active[*c])
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((c, amount)) = violation {
                if amount > 1e-13 {
                    active[c] = true;
                    continue;
                }
            }
            // A lower bound's multiplier must be non-positive and an inequality's
            // non-negative; the most wrong one, if any, leaves the active set.
            let wrong = rows
                .iter()
                .zip(&multipliers)
                .filter_map(|(row, w)| match row.constraint {
                    Constraint::Equality => None,
                    Constraint::Bound(k) => Some((k, *w)),
                    Constraint::Inequality(l) => Some((n + l, -*w)),
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((c, amount)) = wrong {
                if amount > 1e-9 {
                    active[c] = false;
                    continue;
                }
            }
            return Some(p);
        }
        None
    }

    /// The equalities, then the active bounds and inequalities, leaving out any row that
    /// depends linearly on the rows before it.
    fn active_rows(&self, active: &[bool]) -> Vec<Row> {
        let n = self.n;
        let mut rows: Vec<Row> = self
            .a
            .iter()
            .zip(&self.b)
            .map(|(a, b)| Row {
                coefficients: a.clone(),
                rhs: *b,
                constraint: Constraint::Equality,
            })
            .collect();
        for k in (0..n).filter(|k| active[*k]) {
            let mut coefficients = vec![0.0; n];
            coefficients[k] = 1.0;
            rows.push(Row {
                coefficients,
                rhs: EPSILON,
                constraint: Constraint::Bound(k),
            });
        }
        for l in (0..self.g.len()).filter(|l| active[n + l]) {
            rows.push(Row {
                coefficients: self.g[l].clone(),
                rhs: self.h[l],
                constraint: Constraint::Inequality(l),
            });
        }
        independent(rows)
    }

    /// The KKT residuals at `point` for the centred complementarity `s∘z = target`
    /// and `(p − ε)∘u = target`.
    fn residual(&self, point: &Point, target: f64) -> Residual {
        let dual = (0..self.n)
            .map(|k| {
                point.p[k].ln()
                    + 1.0
                    + column_dot(&self.a, k, &point.y)
                    + column_dot(&self.g, k, &point.z)
                    - point.u[k]
            })
            .collect();
        let primal = self
            .a
            .iter()
            .zip(&self.b)
            .map(|(row, b)| dot(row, &point.p) - b)
            .collect();
        let inequality = self
            .g
            .iter()
            .zip(&self.h)
            .zip(&point.s)
            .map(|((row, h), s)| dot(row, &point.p) + s - h)
            .collect();
        let centring = point
            .s
            .iter()
            .zip(&point.z)
            .map(|(s, z)| s * z - target)
            .collect();
        let bound = point
            .p
            .iter()
            .zip(&point.u)
            .map(|(p, u)| (p - EPSILON) * u - target)
            .collect();
        Residual {
            dual,
            primal,
            inequality,
            centring,
            bound,
        }
    }

    /// Solves the Newton system with the slacks and all inequality duals eliminated:
    /// `(H + B + Gᵀ W G) Δp + Aᵀ Δy = −r_d − (P − ε)⁻¹ r_b − Gᵀ (W r_i − S⁻¹ r_c)` and
    /// `A Δp = −r_p`, where `H = diag(1/p)`, `B = diag(u/(p − ε))`, `W = diag(z/s)`.
    fn newton_step(&self, point: &Point, r: &Residual) -> Option<Point> {
        let (n, q) = (self.n, self.a.len());
        let w: Vec<f64> = point.z.iter().zip(&point.s).map(|(z, s)| z / s).collect();
        let gap: Vec<f64> = point.p.iter().map(|p| p - EPSILON).collect();
        let size = n + q;
        let mut kkt = vec![vec![0.0; size + 1]; size];
        for (i, row) in kkt.iter_mut().enumerate().take(n) {
            for (j, cell) in row.iter_mut().enumerate().take(n) {
                *cell = self
                    .g
                    .iter()
                    .zip(&w)
                    .map(|(g, w)| g[i] * w * g[j])
                    .sum::<f64>();
            }
            row[i] += 1.0 / point.p[i] + point.u[i] / gap[i];
            for (l, a) in self.a.iter().enumerate() {
                row[n + l] = a[i];
            }
            let correction: f64 = self
                .g
                .iter()
                .enumerate()
                .map(|(l, g)| g[i] * (w[l] * r.inequality[l] - r.centring[l] / point.s[l]))
                .sum();
            row[size] = -r.dual[i] - r.bound[i] / gap[i] - correction;
        }
        for (l, a) in self.a.iter().enumerate() {
            let row = &mut kkt[n + l];
            row[..n].copy_from_slice(a);
            row[size] = -r.primal[l];
        }
        let solution = solve_linear(kkt)?;
        let dp = solution[..n].to_vec();
        let dy = solution[n..].to_vec();
        let du = (0..n)
            .map(|k| -(r.bound[k] + point.u[k] * dp[k]) / gap[k])
            .collect();
        let (dz, ds): (Vec<f64>, Vec<f64>) = self
            .g
            .iter()
            .enumerate()
            .map(|(l, g)| {
                let g_dp = dot(g, &dp);
                let dz = w[l] * (g_dp + r.inequality[l]) - r.centring[l] / point.s[l];
                (dz, -r.inequality[l] - g_dp)
            })
            .unzip();
        Some(Point {
            p: dp,
            u: du,
            y: dy,
            z: dz,
            s: ds,
        })
    }
}

/// Probabilities and their bound duals, equality duals, inequality duals and slacks.
#[derive(Clone)]
struct Point {
    p: Vec<f64>,
    u: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    s: Vec<f64>,
}

impl Point {
    /// The mean complementarity over the bounds and the other inequalities.
    fn complementarity(&self) -> f64 {
        let bounds: f64 = self
            .p
            .iter()
            .zip(&self.u)
            .map(|(p, u)| (p - EPSILON) * u)
            .sum();
        (bounds + dot(&self.s, &self.z)) / (self.p.len() + self.s.len()) as f64
    }

    /// The largest step along `step` that keeps `p − ε`, `u`, `z` and `s` positive.
    fn largest_step(&self, step: &Point) -> f64 {
        let gap: Vec<f64> = self.p.iter().map(|p| p - EPSILON).collect();
        [
            (&gap, &step.p),
            (&self.u, &step.u),
            (&self.z, &step.z),
            (&self.s, &step.s),
        ]
        .iter()
        .flat_map(|(x, dx)| x.iter().zip(dx.iter()))
        .filter(|(_, dx)| **dx < 0.0)
        .map(|(x, dx)| -x / dx)
        .fold(f64::INFINITY, f64::min)
    }

    fn moved(&self, step: &Point, alpha: f64) -> Point {
        let add = |x: &[f64], dx: &[f64]| x.iter().zip(dx).map(|(x, d)| x + alpha * d).collect();
        Point {
            p: add(&self.p, &step.p),
            u: add(&self.u, &step.u),
            y: add(&self.y, &step.y),
            z: add(&self.z, &step.z),
            s: add(&self.s, &step.s),
        }
    }
}

struct Residual {
    dual: Vec<f64>,
    primal: Vec<f64>,
    inequality: Vec<f64>,
    centring: Vec<f64>,
    bound: Vec<f64>,
}

impl Residual {
    fn norm(&self) -> f64 {
        [
            &self.dual,
            &self.primal,
            &self.inequality,
            &self.centring,
            &self.bound,
        ]
        .iter()
        .flat_map(|r| r.iter())
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
    }

    fn largest_feasibility(&self) -> f64 {
        [&self.dual, &self.primal, &self.inequality]
            .iter()
            .flat_map(|r| r.iter())
            .fold(0.0, |max, x| max.max(x.abs()))
    }
}

/// One equality of the polishing system and the constraint it stands for.
struct Row {
    coefficients: Vec<f64>,
    rhs: f64,
    constraint: Constraint,
}

#[derive(Clone, Copy)]
enum Constraint {
    Equality,
    Bound(usize),
    Inequality(usize),
}

/// The rows, in order, that are linearly independent of the rows kept before them
/// (modified Gram–Schmidt); a dependent row adds nothing and would make the system
/// singular.
fn independent(rows: Vec<Row>) -> Vec<Row> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut kept = Vec::new();
    for row in rows {
        let mut residual = row.coefficients.clone();
        for b in &basis {
            let c = dot(&residual, b);
            for (r, b) in residual.iter_mut().zip(b) {
                *r -= c * b;
            }
        }
        let norm = dot(&residual, &residual).sqrt();
        if norm > 1e-9 * dot(&row.coefficients, &row.coefficients).sqrt() {
            basis.push(residual.iter().map(|r| r / norm).collect());
            kept.push(row);
        }
    }
    kept
}

/// Newton's method for `minimise Σ p ln p` subject to the rows as equalities, from
/// `start`: the solution and the rows' multipliers, if it converges to a stationary
/// point that satisfies every row.
fn equality_newton(start: &[f64], rows: &[Row]) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = start.len();
    let mut p = start.to_vec();
    let mut multipliers = vec![0.0; rows.len()];
    for _ in 0..50 {
        let size = n + rows.len();
        let mut kkt = vec![vec![0.0; size + 1]; size];
        for (i, line) in kkt.iter_mut().enumerate().take(n) {
            line[i] = 1.0 / p[i];
            for (l, row) in rows.iter().enumerate() {
                line[n + l] = row.coefficients[i];
            }
            line[size] = -(p[i].ln() + 1.0);
        }
        for (l, row) in rows.iter().enumerate() {
            let line = &mut kkt[n + l];
            line[..n].copy_from_slice(&row.coefficients);
            line[size] = row.rhs - dot(&row.coefficients, &p);
        }
        let solution = solve_linear(kkt)?;
        let step = solution[..n].iter().fold(0.0f64, |m, d| m.max(d.abs()));
        for (p, d) in p.iter_mut().zip(&solution[..n]) {
            *p += d;
        }
        multipliers = solution[n..].to_vec();
        if p.iter().any(|p| *p <= 0.0) {
            return None;
        }
        if step < 1e-15 {
            break;
        }
    }
    let stationary = (0..n).all(|i| {
        let pull: f64 = rows
            .iter()
            .zip(&multipliers)
            .map(|(row, w)| row.coefficients[i] * w)
            .sum();
        (p[i].ln() + 1.0 + pull).abs() < 1e-10
    });
    let satisfied = rows
        .iter()
        .all(|row| (dot(&row.coefficients, &p) - row.rhs).abs() < 1e-13);
    (stationary && satisfied).then_some((p, multipliers))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `Σ_l rows[l][k] · x[l]`: column `k` of `rows` times `x`.
fn column_dot(rows: &[Vec<f64>], k: usize, x: &[f64]) -> f64 {
    rows.iter().zip(x).map(|(row, x)| row[k] * x).sum()
}

/// Solves the augmented system `[M | r]` by Gaussian elimination with partial
/// pivoting. `None` if it is singular.
fn solve_linear(mut m: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let size = m.len();
    for col in 0..size {
        let pivot = (col..size).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 || !m[pivot][col].is_finite() {
            return None;
        }
        m.swap(col, pivot);
        let (top, bottom) = m.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in bottom {
            let factor = row[col] / pivot_row[col];
            if factor != 0.0 {
                for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= factor * p;
                }
            }
        }
    }
    let mut x = vec![0.0; size];
    for row in (0..size).rev() {
        let known: f64 = (row + 1..size).map(|k| m[row][k] * x[k]).sum();
        x[row] = (m[row][size] - known) / m[row][row];
    }
    x.iter().all(|x| x.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The maximum-entropy noise on a symmetric support with a binding variance is
    /// `p ∝ exp(−λ v²)`; find λ independently by bisection on the variance.
    fn gaussian_like(d: i32, variance: f64) -> Vec<f64> {
        let weights = |lambda: f64| -> Vec<f64> {
            let w: Vec<f64> = (-d..=d)
                .map(|v| (-lambda * f64::from(v * v)).exp())
                .collect();
            let total: f64 = w.iter().sum();
            w.into_iter().map(|w| w / total).collect()
        };
        let noise: Vec<i32> = (-d..=d).collect();
        let (mut low, mut high) = (0.0, 50.0);
        for _ in 0..200 {
            let mid = (low + high) / 2.0;
            if second_moment(&noise, &weights(mid)) > variance {
                low = mid;
            } else {
                high = mid;
            }
        }
        weights((low + high) / 2.0)
    }

    #[test]
    fn a_symmetric_row_is_the_discrete_gaussian_of_its_variance() {
        for (d, variance) in [(2, 0.9), (3, 1.5), (5, 3.0), (1, 0.4)] {
            let noise: Vec<i32> = (-d..=d).collect();
            let p = max_entropy(&noise, Some(variance)).expect("solvable");
            let expected = gaussian_like(d, variance);
            for (got, want) in p.iter().zip(&expected) {
                assert!(
                    (got - want).abs() < 1e-10,
                    "D={d} V={variance}: {p:?} {expected:?}"
                );
            }
            assert!((second_moment(&noise, &p) - variance).abs() < 1e-11);
        }
    }

    #[test]
    fn without_a_variance_bound_the_symmetric_row_is_uniform() {
        let noise: Vec<i32> = (-2..=2).collect();
        let p = max_entropy(&noise, None).expect("solvable");
        for x in &p {
            assert!((x - 0.2).abs() < 1e-10, "{p:?}");
        }
    }

    /// The row for an original count of 1 with D = 2: values −1, 0, 1, 2. Without the
    /// monotony condition −1 would get more than 0; with it they are equal, and the
    /// entropy is highest at p(−1) = p(0) = a where 2 ln a = 5 ln(2 − 5a) − 3 ln(3a − 1)
    /// (from p(1) = 2 − 5a, p(2) = 3a − 1), a variance of 8a − 2 < 1.
    #[test]
    fn the_monotony_condition_pools_the_values_left_of_zero() {
        let p = max_entropy(&[-1, 0, 1, 2], None).expect("solvable");
        assert!((p[0] - p[1]).abs() < 1e-10, "{p:?}");
        let f = |a: f64| -2.0 * a.ln() + 5.0 * (2.0 - 5.0 * a).ln() - 3.0 * (3.0 * a - 1.0).ln();
        let (mut low, mut high) = (1.0 / 3.0 + 1e-12, 0.4 - 1e-12);
        for _ in 0..200 {
            let mid = (low + high) / 2.0;
            if f(mid) > 0.0 {
                low = mid;
            } else {
                high = mid;
            }
        }
        let a = (low + high) / 2.0;
        let expected = [a, a, 2.0 - 5.0 * a, 3.0 * a - 1.0];
        for (got, want) in p.iter().zip(expected) {
            assert!((got - want).abs() < 1e-9, "{p:?} {expected:?}");
        }
    }

    #[test]
    fn the_lower_bound_holds_where_the_exponential_tail_would_fall_below_it() {
        // D = 10 with variance 0.5: exp(−λ·100) is far below 10⁻⁸ at ±10.
        let noise: Vec<i32> = (-10..=10).collect();
        let p = max_entropy(&noise, Some(0.5)).expect("solvable");
        assert!(
            (p[0] - EPSILON).abs() < 1e-12 && (p[20] - EPSILON).abs() < 1e-12,
            "{p:?}"
        );
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((second_moment(&noise, &p) - 0.5).abs() < 1e-11);
    }

    #[test]
    fn impossible_constraints_give_no_solution() {
        // Only positive noise: the mean cannot be zero.
        assert_eq!(max_entropy(&[0, 1, 2], Some(1.0)), None);
        // −1 and 1 alone need a variance of 1.
        assert_eq!(max_entropy(&[-1, 1], Some(0.5)), None);
    }
}

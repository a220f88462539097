//! Attribution scores τ(z) ∈ R^N from projected gradient features (Park et al. 2023, TRAK;
//! Pruthi et al. 2020, TracIn).
//!
//! ```text
//! Φ = [φ_1 … φ_N]ᵀ ∈ R^{N×k},  φ(z) the query feature,  K = ΦᵀΦ
//! TRAK        τ(z) = Φ (K + λI)⁻¹ φ(z) ⊙ Q,     λ = λ_r · tr(K)/k  (λ_r × mean eigenvalue)
//! ensemble    τ(z) = (1/M Σ_m Φ_m (K_m + λ_m I)⁻¹ φ_m(z)) ⊙ (1/M Σ_m Q_m)
//! Grad-Dot    τ_i = φ_iᵀ φ(z)            Grad-Cos  τ_i = φ_iᵀ φ(z) / (‖φ_i‖ ‖φ(z)‖)
//! random      τ_i ~ N(0, 1)
//! ```
//!
//! Q is TRAK's out-to-loss term, diag(1 − p_i) for classification (p_i the probability of the
//! correct class); the diffusion attributors use none. When N < k the identity
//! Φ(ΦᵀΦ + λI)⁻¹ = (ΦΦᵀ + λI)⁻¹Φ lets the solve run in the N × N dual; both forms give the
//! same scores (tested). λ_r = 0 with a rank-deficient K is refused with a one-line error.

use genlab_core::train::SeededRng;

use crate::error::{Result, check_len};
use crate::linalg::{gram, matmul, solve_damped, transpose};

/// Row-major features: `n` rows of length `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Rows.
    pub n: usize,
    /// Row length.
    pub k: usize,
    /// `n × k` values.
    pub data: Vec<f32>,
}

impl Features {
    /// Wraps `data` as `n × k`.
    pub fn new(n: usize, k: usize, data: Vec<f32>) -> Result<Features> {
        check_len("feature values (n × k)", n * k, data.len())?;
        Ok(Features { n, k, data })
    }

    /// Row i.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.k..(i + 1) * self.k]
    }

    fn to_f64(&self) -> Vec<f64> {
        self.data.iter().map(|v| *v as f64).collect()
    }
}

/// Scores `n_query × N`, row-major: `scores[q * N + i]` is training example i's score for query q.
pub type Scores = Vec<f64>;

/// TRAK scores of one model, without Q: Φ (ΦᵀΦ + λI)⁻¹ φ(z) for every query.
pub fn trak(train: &Features, query: &Features, lambda_rel: f64) -> Result<Scores> {
    check_len("query feature length", train.k, query.k)?;
    let (n, k, nq) = (train.n, train.k, query.n);
    let phi = train.to_f64();
    let psi = query.to_f64();
    let trace: f64 = phi.iter().map(|v| v * v).sum();
    let lambda = lambda_rel * trace / k as f64;
    if n >= k {
        // primal: X = (K + λI)⁻¹ ψᵀ (k × nq), scores = (Φ X)ᵀ
        let x = solve_damped(
            &gram(&phi, n, k),
            k,
            lambda,
            &transpose(&psi, nq, k),
            nq,
            "the TRAK kernel ΦᵀΦ + λI",
        )?;
        Ok(transpose(&matmul(&phi, &x, n, k, nq), n, nq))
    } else {
        // dual: scores = ((ΦΦᵀ + λI)⁻¹ Φ ψᵀ)ᵀ
        let phit = transpose(&phi, n, k);
        let kern = matmul(&phi, &phit, n, k, n);
        let b = matmul(&phi, &transpose(&psi, nq, k), n, k, nq);
        let x = solve_damped(&kern, n, lambda, &b, nq, "the TRAK kernel ΦΦᵀ + λI")?;
        Ok(transpose(&x, n, nq))
    }
}

/// One ensemble member's features and out-to-loss weights.
pub struct Member<'a> {
    /// Train features Φ_m.
    pub train: &'a Features,
    /// Query features φ_m(z).
    pub query: &'a Features,
    /// Q_m (length N), or `None` for Q = 1.
    pub q: Option<&'a [f64]>,
}

/// The TRAK ensemble of the module doc.
pub fn trak_ensemble(members: &[Member<'_>], lambda_rel: f64) -> Result<Scores> {
    let mut per_model = Vec::with_capacity(members.len());
    for member in members {
        per_model.push(trak(member.train, member.query, lambda_rel)?);
    }
    let qs: Vec<Option<&[f64]>> = members.iter().map(|m| m.q).collect();
    combine(&per_model, &qs)
}

/// The ensemble average of per-model TRAK scores (each `n_query × N`) times the average Q.
pub fn combine(per_model: &[Scores], qs: &[Option<&[f64]>]) -> Result<Scores> {
    let first = per_model
        .first()
        .ok_or_else(|| genlab_core::Error::InvalidInput("TRAK ensemble: no models".into()))?;
    check_len("Q per model", per_model.len(), qs.len())?;
    let m = per_model.len() as f64;
    let mut sum = vec![0.0; first.len()];
    for s in per_model {
        check_len("scores of every model", first.len(), s.len())?;
        sum.iter_mut().zip(s).for_each(|(a, b)| *a += b / m);
    }
    let n = qs
        .iter()
        .flatten()
        .map(|q| q.len())
        .next()
        .unwrap_or(first.len());
    let mut q = vec![0.0; n];
    for qm in qs {
        match qm {
            Some(qm) => {
                check_len("Q", n, qm.len())?;
                q.iter_mut().zip(qm.iter()).for_each(|(a, b)| *a += b / m);
            }
            None => q.iter_mut().for_each(|a| *a += 1.0 / m),
        }
    }
    check_len("scores (a multiple of N)", 0, sum.len() % n.max(1))?;
    for row in sum.chunks_mut(n.max(1)) {
        row.iter_mut().zip(&q).for_each(|(s, qi)| *s *= qi);
    }
    Ok(sum)
}

/// Grad-Dot (TracIn at one checkpoint): φ_iᵀ φ(z).
pub fn grad_dot(train: &Features, query: &Features) -> Result<Scores> {
    check_len("query feature length", train.k, query.k)?;
    let (phi, psi) = (train.to_f64(), query.to_f64());
    Ok(matmul(
        &psi,
        &transpose(&phi, train.n, train.k),
        query.n,
        train.k,
        train.n,
    ))
}

/// Grad-Cos: Grad-Dot on unit-normalised features.
pub fn grad_cos(train: &Features, query: &Features) -> Result<Scores> {
    grad_dot(&normalised(train), &normalised(query))
}

/// Each row scaled to unit L2 norm (all-zero rows stay zero).
pub fn normalised(f: &Features) -> Features {
    let mut out = f.clone();
    for row in out.data.chunks_mut(f.k.max(1)) {
        let norm = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v = (*v as f64 / norm) as f32);
        }
    }
    out
}

/// Random scores, N(0, 1), seeded.
pub fn random(n: usize, n_query: usize, seed: u64) -> Scores {
    SeededRng::new(seed)
        .normal_vec(n * n_query)
        .into_iter()
        .map(|v| v as f64)
        .collect()
}

/// Indices of the `k` largest scores of one query row, best first (ties by index).
pub fn top_k(row: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(n: usize, k: usize, seed: u64) -> Features {
        Features::new(n, k, SeededRng::new(seed).normal_vec(n * k)).unwrap()
    }

    /// On a linear model f(z) = θᵀx the gradients are the inputs themselves, and TRAK with
    /// λ → 0 is the least-squares (OLS) influence: τ(z) = X (XᵀX)⁻¹ x_z — the leverage-style
    /// closed form, whose sum against the training targets reproduces the OLS prediction.
    #[test]
    fn trak_on_a_linear_model_is_the_least_squares_formula() {
        let (n, k) = (30, 4);
        let x = feats(n, k, 1);
        let z = feats(2, k, 2);
        let y: Vec<f64> = SeededRng::new(3)
            .normal_vec(n)
            .into_iter()
            .map(|v| v as f64)
            .collect();
        let tau = trak(&x, &z, 0.0).unwrap();
        // OLS fit θ = (XᵀX)⁻¹ Xᵀ y; prediction θᵀ x_z must equal Σ_i τ_i y_i.
        let xf = x.to_f64();
        let xty = matmul(&transpose(&xf, n, k), &y, k, n, 1);
        let theta = solve_damped(&gram(&xf, n, k), k, 0.0, &xty, 1, "XᵀX").unwrap();
        for q in 0..2 {
            let pred: f64 = (0..k).map(|j| theta[j] * z.row(q)[j] as f64).sum();
            let via_tau: f64 = (0..n).map(|i| tau[q * n + i] * y[i]).sum();
            assert!((pred - via_tau).abs() < 1e-6, "{pred} vs {via_tau}");
        }
    }

    #[test]
    fn primal_and_dual_forms_agree_and_zero_damping_on_a_singular_kernel_fails() {
        let (train, query) = (feats(6, 9, 4), feats(3, 9, 5));
        let dual = trak(&train, &query, 0.1).unwrap();
        // Primal form via padding: repeat the rows so N ≥ k (the kernel doubles, so λ_r too).
        let mut doubled = train.data.clone();
        doubled.extend_from_slice(&train.data);
        let big = Features::new(12, 9, doubled).unwrap();
        let primal = trak(&big, &query, 0.1).unwrap();
        for q in 0..3 {
            for i in 0..6 {
                let (d, p) = (dual[q * 6 + i], primal[q * 12 + i] + primal[q * 12 + 6 + i]);
                assert!((d - p).abs() < 1e-6 * d.abs().max(1.0), "{d} vs {p}");
            }
        }
        let err = trak(&big, &query, 0.0).unwrap_err().to_string();
        assert!(err.contains("not positive definite"), "{err}");
    }

    #[test]
    fn ensemble_of_identical_members_is_the_member_times_q() {
        let (train, query) = (feats(20, 5, 6), feats(2, 5, 7));
        let q: Vec<f64> = (0..20).map(|i| i as f64 / 20.0).collect();
        let one = trak(&train, &query, 1e-3).unwrap();
        let member = || Member {
            train: &train,
            query: &query,
            q: Some(&q),
        };
        let ens = trak_ensemble(&[member(), member(), member()], 1e-3).unwrap();
        for (j, (e, o)) in ens.iter().zip(&one).enumerate() {
            assert!((e - o * q[j % 20]).abs() < 1e-9);
        }
        let cos = grad_cos(&train, &query).unwrap();
        assert!(cos.iter().all(|c| c.abs() <= 1.0 + 1e-6));
        assert_eq!(top_k(&[0.1, 3.0, -1.0, 3.0], 2), vec![1, 3]);
    }
}

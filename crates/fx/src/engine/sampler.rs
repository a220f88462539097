//! Random chains on the step grid, as LP-Fx draws them: `n` distinct effects in random order
//! (without replacement), each parameter uniform over its grid points. Seeded: the same seed
//! gives the same chain.

use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;

use crate::engine::chain::{Chain, Stage};
use crate::engine::spec::{EFFECTS, EffectSpec};

/// A random chain of `n` distinct effects (`1 ≤ n ≤ 9`), drawn from `rng`. Stereo-only effects
/// are skipped when `stereo` is false.
pub fn sample_chain(rng: &mut SeededRng, n: usize, stereo: bool) -> Result<Chain> {
    let pool: Vec<&'static EffectSpec> = EFFECTS
        .iter()
        .filter(|e| stereo || !matches!(e.name, "panner" | "stereo_widener"))
        .collect();
    sample_chain_from(rng, n, &pool)
}

/// A random chain of `n` distinct effects from `pool` (drawn as [`sample_chain`] draws).
pub fn sample_chain_from(
    rng: &mut SeededRng,
    n: usize,
    pool: &[&'static EffectSpec],
) -> Result<Chain> {
    if n > pool.len() {
        return Err(Error::InvalidInput(format!(
            "a chain of {n} distinct effects is impossible; there are {}",
            pool.len()
        )));
    }
    let order = rng.permutation(pool.len());
    let stages = order[..n]
        .iter()
        .map(|&i| {
            let e = pool[i];
            let values: Vec<f64> = e
                .params
                .iter()
                .map(|p| p.grid_point(rng.rng().random_range(0..=p.intervals())))
                .collect();
            Stage::constant(e, &values)
        })
        .collect();
    Ok(Chain { stages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::automation::ParamValue;

    #[test]
    fn seeded_distinct_on_grid() {
        let a = sample_chain(&mut SeededRng::new(3), 5, true).unwrap();
        let b = sample_chain(&mut SeededRng::new(3), 5, true).unwrap();
        assert_eq!(a, b);
        let c = sample_chain(&mut SeededRng::new(4), 5, true).unwrap();
        assert_ne!(a, c);
        let names: std::collections::HashSet<_> = a.stages.iter().map(|s| s.spec.name).collect();
        assert_eq!(names.len(), 5);
        for s in &a.stages {
            for (p, v) in s.spec.params.iter().zip(&s.values) {
                let ParamValue::Constant(v) = v else { panic!() };
                assert!(p.on_grid(*v), "{}.{} = {v}", s.spec.name, p.name);
            }
        }
        for seed in 0..20 {
            let m = sample_chain(&mut SeededRng::new(seed), 7, false).unwrap();
            assert!(!m.needs_stereo());
        }
        assert!(sample_chain(&mut SeededRng::new(0), 8, false).is_err());
    }
}

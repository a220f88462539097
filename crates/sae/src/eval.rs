//! Evaluation of a trained SAE on activation files (`genlab sae eval`): every row is encoded
//! and decoded chunk by chunk, so the set never has to fit in memory.
//!
//! ```text
//! EV = 1 − FVU,  FVU = Σ ‖x − x̂‖² / Σ ‖x − x̄‖²     L0 = mean active latents per row
//! dead = latents that never fire on the rows;  max-cos_j = max_{i≠j} |cos(W_dec,i, W_dec,j)|
//! ```

use serde::{Deserialize, Serialize};

use genlab_core::{Error, Result};

use crate::acts::{RowFile, for_each_chunk};
use crate::codes::Codes;
use crate::metrics::{ReconStats, max_abs_cos};
use crate::sae::Sae;

/// What [`evaluate`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub vectors: usize,
    /// Explained variance.
    pub explained_variance: f64,
    /// Fraction of variance unexplained.
    pub fvu: f64,
    /// Mean squared reconstruction error per row.
    pub mse: f64,
    /// Mean active latents per row.
    pub l0: f64,
    /// Fraction of latents that never fired.
    pub dead_fraction: f64,
    /// Mean over decoder rows of the largest |cosine| to another row.
    pub mean_max_cos: f64,
}

/// Evaluates `sae` on the rows of `files`, `chunk_rows` at a time, up to `max_rows` rows.
pub fn evaluate(
    sae: &Sae,
    files: &[RowFile],
    chunk_rows: usize,
    max_rows: usize,
) -> Result<Evaluation> {
    if let Some(f) = files.iter().find(|f| f.d != sae.d) {
        return Err(Error::InvalidInput(format!(
            "{} has width {}, the SAE expects {}",
            f.path.display(),
            f.d,
            sae.d
        )));
    }
    if chunk_rows == 0 {
        return Err(Error::InvalidInput(
            "rows per chunk must be at least 1".into(),
        ));
    }
    sae.validate()?;
    // A chunk's codes are chunk × m values: cap the chunk below the buffer limit (the results
    // do not depend on the chunking).
    let chunk_rows = chunk_rows.min((genlab_core::limits::MAX_ELEMENTS / sae.m.max(sae.d)).max(1));
    let mut stats = ReconStats::new(sae.d, sae.m);
    let vectors = for_each_chunk(files, chunk_rows, max_rows, |x| {
        let codes = sae.encode(x);
        stats.add(x, &sae.decode(&codes), &codes);
        Ok(())
    })?;
    if vectors == 0 {
        // Zero rows gave explained variance 1.0 (issue 25).
        return Err(Error::InvalidInput(
            "no rows evaluated (the row limit is 0); evaluate at least 1 row".into(),
        ));
    }
    let r = stats.finish();
    // Finite but huge weights overflow: refuse rather than report NaN (found by fuzzing).
    if !(r.ev.is_finite() && r.fvu.is_finite() && r.mse.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the SAE's reconstructions are not finite (MSE {}): its weights overflow",
            r.mse
        )));
    }
    Ok(Evaluation {
        vectors,
        explained_variance: r.ev,
        fvu: r.fvu,
        mse: r.mse,
        l0: r.l0,
        dead_fraction: r.dead_fraction,
        mean_max_cos: mean_max_cos(sae),
    })
}

/// An evaluation on rows held in memory, with what it computed on the way.
#[derive(Debug, Clone)]
pub struct RowsEvaluation {
    /// The metrics.
    pub metrics: Evaluation,
    /// The codes of the rows.
    pub codes: Codes,
    /// Each decoder row's largest |cosine| to another row (for a histogram).
    pub max_cos: Vec<f32>,
}

/// Evaluates `sae` on the `[n, d]` rows `x` in one pass.
pub fn evaluate_rows(sae: &Sae, x: &[f32]) -> RowsEvaluation {
    let codes = sae.encode(x);
    let mut stats = ReconStats::new(sae.d, sae.m);
    stats.add(x, &sae.decode(&codes), &codes);
    let r = stats.finish();
    let max_cos = max_abs_cos(&sae.w_dec, sae.d);
    RowsEvaluation {
        metrics: Evaluation {
            vectors: r.n,
            explained_variance: r.ev,
            fvu: r.fvu,
            mse: r.mse,
            l0: r.l0,
            dead_fraction: r.dead_fraction,
            mean_max_cos: mean(&max_cos),
        },
        codes,
        max_cos,
    }
}

/// Mean over decoder rows of the largest |cosine| to another row (0 for an empty decoder).
pub fn mean_max_cos(sae: &Sae) -> f64 {
    mean(&max_abs_cos(&sae.w_dec, sae.d))
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&c| c as f64).sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acts::{open_files, write_npy_rows};
    use crate::sae::Activation;
    use genlab_core::testing::scratch;

    /// An identity SAE reconstructs non-negative inputs exactly; chunking does not change the
    /// numbers; a width mismatch is refused with the file.
    #[test]
    fn identity_sae_explains_everything_in_any_chunking() {
        let (_dir, p) = scratch("x.npy");
        let rows: Vec<f32> = (0..30).map(|i| (i % 7) as f32 * 0.5).collect();
        write_npy_rows(&p, &rows, 3).unwrap();
        let files = open_files(&p).unwrap();
        let sae = Sae::identity(3, Activation::Relu);
        let all = evaluate(&sae, &files, 4, usize::MAX).unwrap();
        assert_eq!(all.vectors, 10);
        assert!((all.explained_variance - 1.0).abs() < 1e-9 && all.mse == 0.0);
        assert_eq!(all.mean_max_cos, 0.0);
        assert_eq!(evaluate(&sae, &files, 3, usize::MAX).unwrap(), all);
        assert_eq!(evaluate(&sae, &files, 4, 5).unwrap().vectors, 5);
        assert_eq!(evaluate_rows(&sae, &rows).metrics, all);
        let wide = Sae {
            d: 4,
            ..sae.clone()
        };
        let e = evaluate(&wide, &files, 4, usize::MAX)
            .unwrap_err()
            .to_string();
        assert!(e.contains("width 3") && e.contains("expects 4"), "{e}");
    }

    /// Issue 25: `--max-rows 0` reported explained variance 1.0 on zero vectors, and an SAE
    /// with k = 0 or d_sae = 0 was evaluated (d_sae = 0 panicked).
    #[test]
    fn nothing_to_evaluate_and_degenerate_saes_are_refused() {
        let (_dir, p) = scratch("x.npy");
        write_npy_rows(&p, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
        let files = open_files(&p).unwrap();
        let sae = Sae::identity(3, Activation::Relu);
        let err = evaluate(&sae, &files, 4, 0).unwrap_err().to_string();
        assert!(err.contains("no rows evaluated"), "{err}");
        let k0 = Sae::identity(3, Activation::TopK { k: 0 });
        assert!(
            evaluate(&k0, &files, 4, 10)
                .unwrap_err()
                .to_string()
                .contains("k = 0")
        );
        let empty = Sae {
            m: 0,
            w_enc: vec![],
            b_enc: vec![],
            w_dec: vec![],
            ..sae.clone()
        };
        assert!(
            evaluate(&empty, &files, 4, 10)
                .unwrap_err()
                .to_string()
                .contains("d_sae = 0")
        );
        let nan = Sae {
            b_dec: vec![f32::NAN, 0.0, 0.0],
            ..sae
        };
        assert!(
            evaluate(&nan, &files, 4, 10)
                .unwrap_err()
                .to_string()
                .contains("NaN")
        );
    }
}

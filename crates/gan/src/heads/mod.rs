//! The discriminator heads, one file each, all reading the features h(x) of one shared trunk
//! ([`crate::net::Discriminator`]):
//!
//! | head | file | score | discriminator loss |
//! |---|---|---|---|
//! | `projection` | [`projection`] | f = ⟨w_y + w, h⟩ + b | hinge |
//! | `acgan` | [`acgan`] | f = ⟨w, h⟩ + b, logits C h + c | logistic + class cross-entropy |
//! | `san` | [`san`] | f = ⟨ω_y, h⟩, ω_y = (w_y + w)/‖w_y + w‖ | SAN (hinge on h, linear on ω) |
//! | `sona` | [`sona`] | f = ⟨ω, h⟩ + ⟨ω_y, Π⊥_ω h⟩ | SAN + BT-C + BT-M, weights s on the sphere |
//!
//! and SONA's three ablations (`sona-no-orth`, `sona-no-btm`, `sona-no-s`). Every loss here is
//! a quantity to *minimise*; the paper's maximisation objectives appear negated. burn has no
//! double backward, so every head is penalty-free (no R1 / gradient penalty), as in the paper's
//! SAN and SONA objectives.

pub mod acgan;
pub mod mismatch;
pub mod projection;
pub mod san;
pub mod sona;
pub mod sphere;

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::GanError;
use crate::net::Discriminator;
use sona::SonaParts;

/// A discriminator head (and its losses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Head {
    /// Projection discriminator with the hinge loss (PD-GAN, Miyato & Koyama 2018).
    Projection,
    /// AC-GAN: real/fake plus an auxiliary classifier (Odena et al. 2017).
    AcGan,
    /// The projection discriminator trained with the SAN objective (Takida et al. 2024).
    San,
    /// SONA with all its parts.
    Sona,
    /// SONA without the orthogonal projection: f^A = ⟨ω_y, h⟩.
    SonaNoOrth,
    /// SONA without the mismatch (BT-M) loss.
    SonaNoBtm,
    /// SONA without the adaptive weights: every log σ(t) weighted 1.
    SonaNoWeights,
}

impl Head {
    /// Every head, baselines first.
    pub const ALL: [Head; 7] = [
        Head::Projection,
        Head::AcGan,
        Head::San,
        Head::Sona,
        Head::SonaNoOrth,
        Head::SonaNoBtm,
        Head::SonaNoWeights,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Head::Projection => "projection",
            Head::AcGan => "acgan",
            Head::San => "san",
            Head::Sona => "sona",
            Head::SonaNoOrth => "sona-no-orth",
            Head::SonaNoBtm => "sona-no-btm",
            Head::SonaNoWeights => "sona-no-s",
        }
    }

    /// The names, comma-separated.
    pub fn names() -> String {
        Head::ALL.map(Head::name).join(", ")
    }

    /// SONA's switches for the SONA heads, `None` for the others.
    pub fn sona_parts(self) -> Option<SonaParts> {
        let all = SonaParts::ALL;
        match self {
            Head::Sona => Some(all),
            Head::SonaNoOrth => Some(SonaParts {
                orthogonal: false,
                ..all
            }),
            Head::SonaNoBtm => Some(SonaParts {
                mismatch: false,
                ..all
            }),
            Head::SonaNoWeights => Some(SonaParts {
                adaptive: false,
                ..all
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Head {
    type Err = GanError;
    fn from_str(s: &str) -> Result<Self, GanError> {
        Head::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| GanError::UnknownHead(s.to_string()))
    }
}

/// What one discriminator step sees: real points with their labels, and generated points for
/// the same labels (`fake[i] = G(z_i, labels[i])`).
pub struct Batch<'a> {
    /// Real points x, `[n, d]`.
    pub real: Tensor<2>,
    /// Generated points G(z, y), `[n, d]`.
    pub fake: Tensor<2>,
    /// The labels y of both.
    pub labels: &'a [u32],
    /// The labels one-hot, `[n, N]`.
    pub y: Tensor<2>,
}

/// The discriminator loss of `head` on `batch`.
pub fn d_loss(head: Head, d: &Discriminator, batch: &Batch<'_>) -> Tensor<1> {
    let h_real = d.features(batch.real.clone());
    let h_fake = d.features(batch.fake.clone());
    match head {
        Head::Projection => projection::d_loss(d, h_real, h_fake, batch.y.clone()),
        Head::AcGan => acgan::d_loss(d, h_real, h_fake, batch.y.clone()),
        Head::San => san::d_loss(d, h_real, h_fake, batch.y.clone()),
        _ => sona::d_loss(
            d,
            h_real,
            h_fake,
            batch,
            head.sona_parts().expect("a SONA head"),
        ),
    }
}

/// The generator loss of `head`: `batch.fake` carries the generator's graph.
pub fn g_loss(head: Head, d: &Discriminator, batch: &Batch<'_>) -> Tensor<1> {
    let h_fake = d.features(batch.fake.clone());
    match head {
        Head::Projection => projection::g_loss(d, h_fake, batch.y.clone()),
        Head::AcGan => acgan::g_loss(d, h_fake, batch.y.clone()),
        Head::San => san::g_loss(d, h_fake, batch.y.clone()),
        _ => {
            let h_real = d.features(batch.real.clone());
            let parts = head.sona_parts().expect("a SONA head");
            sona::g_loss(d, h_real, h_fake, batch.y.clone(), parts)
        }
    }
}

/// Row-wise inner products ⟨a_i, b_i⟩, `[n, 1]`.
pub fn dot(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    (a * b).sum_dim(1)
}

/// Each row divided by its norm.
pub fn unit_rows(m: Tensor<2>) -> Tensor<2> {
    let norm = m.clone().square().sum_dim(1).sqrt();
    m / norm
}

/// The mean of a `[n, 1]` column as a one-element loss.
pub fn mean(t: Tensor<2>) -> Tensor<1> {
    t.mean().reshape([1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for h in Head::ALL {
            assert_eq!(h.name().parse::<Head>().unwrap(), h);
        }
        let err = "pd".parse::<Head>().unwrap_err().to_string();
        assert!(
            err.contains("unknown head `pd`") && err.contains("sona-no-btm"),
            "{err}"
        );
        assert_eq!(Head::SonaNoBtm.sona_parts().unwrap().mismatch, false);
        assert!(Head::San.sona_parts().is_none());
    }
}

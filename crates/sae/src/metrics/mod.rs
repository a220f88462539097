//! SAE metrics: reconstruction ([`recon`]), decoder geometry ([`maxcos`]), and, against a
//! synthetic ground truth, feature recovery ([`recovery`]), absorption ([`absorption`]) and
//! composition ([`composition`]); on a real LM, first-letter absorption ([`letters`]).

pub mod absorption;
pub mod composition;
pub mod letters;
pub mod maxcos;
pub mod recon;
pub mod recovery;

pub use absorption::{Absorption, absorption};
pub use composition::{composite_fraction, meta_sae_ev};
pub use maxcos::{histogram, max_abs_cos};
pub use recon::{ReconMetrics, ReconStats};
pub use recovery::{Recovery, recovery};

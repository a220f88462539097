//! Backend operations burn-flex lacks or runs slowly, added through burn's backend-extension
//! mechanism (`shared/research/perf-gap.md`): a vectorised exact GELU, a fused AdamW, and a
//! linear layer with its bias and activation fused (forward and backward).

pub mod adamw;
pub mod gelu;
pub mod linear;

pub use adamw::FusedAdamW;
pub use gelu::gelu;
pub use linear::{Activation, linear};

//! Backend operations burn-flex lacks or runs slowly, added through burn's backend-extension
//! mechanism (`shared/research/perf-gap.md`): a vectorised exact GELU and a fused AdamW.

pub mod adamw;
pub mod gelu;

pub use adamw::FusedAdamW;
pub use gelu::gelu;

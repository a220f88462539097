//! Reports: the `report.json` every experiment writes ([`Report`]), verdicts computed from
//! measured arms ([`verdict`]), SVG figures ([`plot`], [`bars`], [`histogram`]), and the
//! `index.html` that lists every experiment ([`write_index`]).

pub mod bars;
mod format;
mod histogram;
mod html;
mod json;
pub mod plot;
mod seeds;
mod verdict;

pub use histogram::histogram;
pub use html::write_index;
pub use json::{Arms, Figure, Report, Table};
pub use plot::{LineSeries, ScatterSeries};
pub use seeds::{MIN_SEEDS, across_seeds, paired, seed_rule, sig3};
pub use verdict::{Better, Verdict, all_of, compare, mean_std, within_factor};

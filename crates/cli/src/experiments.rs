//! The registry of `genlab repro` experiments: one entry per family experiment.

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;

/// An experiment's description and entry point.
pub struct Experiment {
    pub info: ExperimentInfo,
    pub run: fn(&ReproOptions, &mut dyn Observer) -> Result<Report>,
}

/// Every experiment, in the order `repro all` runs them.
pub const ALL: &[Experiment] = &[
    Experiment {
        info: genlab_flow::repro::INFO,
        run: genlab_flow::repro::run,
    },
    Experiment {
        info: genlab_flow::repro_cmt::INFO,
        run: genlab_flow::repro_cmt::run,
    },
    Experiment {
        info: genlab_flow::repro_cmt::INFO_DIGITS,
        run: genlab_flow::repro_cmt::run_digits,
    },
    Experiment {
        info: genlab_discrete::repro::INFO,
        run: genlab_discrete::repro::run,
    },
    Experiment {
        info: genlab_sae::repro::INFO,
        run: genlab_sae::repro::run,
    },
    Experiment {
        info: genlab_logic::repro::INFO,
        run: genlab_logic::repro::run,
    },
    Experiment {
        info: genlab_fx::repro::INFO,
        run: genlab_fx::repro::run,
    },
];

/// The experiment called `name`.
pub fn find(name: &str) -> Option<&'static Experiment> {
    ALL.iter().find(|e| e.info.name == name)
}

/// The known names, for error messages.
pub fn names() -> String {
    ALL.iter()
        .map(|e| e.info.name)
        .collect::<Vec<_>>()
        .join(", ")
}

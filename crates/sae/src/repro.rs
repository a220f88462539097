//! `genlab repro ortsae` (under construction).

use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;
use genlab_core::{Error, Result};

pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "ortsae",
    paper: "TODO",
    claim: "TODO",
};

pub fn run(_options: &ReproOptions, _observer: &mut dyn Observer) -> Result<Report> {
    Err(Error::InvalidInput("ortsae is under construction".into()))
}

//! `genlab repro guidance` (under construction).

use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;
use genlab_core::{Error, Result};

pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "guidance",
    paper: "TODO",
    claim: "TODO",
};

pub fn run(_options: &ReproOptions, _observer: &mut dyn Observer) -> Result<Report> {
    Err(Error::InvalidInput("guidance is under construction".into()))
}

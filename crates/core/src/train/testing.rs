//! Test support for every crate's kill-and-resume tests: the invariant that N steps straight
//! equal N/2 steps, an interruption, and a resumed run to N — weight for weight.
//!
//! [`StopAt`] interrupts a loop after a given step, as Ctrl-C does; [`weights`] flattens a
//! module's parameters so two runs can be compared; [`assert_same_weights`] compares them and
//! says how many differ. Public, not behind `cfg(test)`, because other crates' tests use it.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use super::Observer;
use crate::tensor::to_vec;

/// An observer that asks the loop to checkpoint and stop once `at` steps are done.
#[derive(Debug, Clone, Copy)]
pub struct StopAt {
    at: u64,
    done: u64,
}

impl StopAt {
    /// Stops after step `at` (a 1-based count of completed steps).
    pub fn new(at: u64) -> Self {
        StopAt { at, done: 0 }
    }
}

impl Observer for StopAt {
    fn step(&mut self, step: u64, _: &[(&str, f64)]) {
        self.done = step;
    }
    fn should_stop(&mut self) -> bool {
        self.done >= self.at
    }
}

/// Every float parameter of `module`, flattened, in visiting order (a record's bytes would also
/// hold the random parameter ids, which differ between two equal runs).
pub fn weights<M: Module>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.extend(to_vec(p.val()));
        }
    }
    let mut c = Collect(Vec::new());
    module.visit(&mut c);
    c.0
}

/// Panics unless `straight` and `resumed` are equal bit for bit, naming how many of them
/// differ; `what` labels the run in the message.
pub fn assert_same_weights(straight: &[f32], resumed: &[f32], what: &str) {
    assert_eq!(
        straight.len(),
        resumed.len(),
        "{what}: weight counts differ"
    );
    let differing = straight
        .iter()
        .zip(resumed)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        differing,
        0,
        "{what}: {differing} of {} weights differ",
        straight.len()
    );
}

//! How a library loop reports progress without printing: the caller passes an [`Observer`]
//! (the CLI implements it with a progress bar; tests use [`NoObserver`]).

/// Receives progress events from long-running library work.
pub trait Observer {
    /// A phase of `total` steps starts (e.g. "train flow-matching").
    fn start(&mut self, _phase: &str, _total: u64) {}
    /// Step `step` (1-based count of completed steps) finished; `metrics` are name/value pairs
    /// such as the loss and the learning rate.
    fn step(&mut self, _step: u64, _metrics: &[(&str, f64)]) {}
    /// The current phase finished.
    fn finish(&mut self) {}
    /// A one-line status message (e.g. "resumed from step 500").
    fn message(&mut self, _text: &str) {}
    /// Polled between steps: `true` asks the loop to checkpoint and stop (e.g. after Ctrl-C).
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

//! The CLI's implementation of the libraries' `Observer`: an indicatif bar per phase (hidden
//! when stderr is not a terminal or with --quiet), and Ctrl-C turned into a clean,
//! checkpointed stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use genlab_core::train::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress bars plus the interrupt flag.
pub struct Progress {
    quiet: bool,
    bar: Option<ProgressBar>,
    interrupted: Arc<AtomicBool>,
    prefix: String,
}

impl Progress {
    /// A reporter; installs the Ctrl-C handler once.
    pub fn new(quiet: bool) -> Self {
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = interrupted.clone();
        // A second Ctrl-C while saving falls through to the default (kill) behaviour.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        Progress {
            quiet,
            bar: None,
            interrupted,
            prefix: String::new(),
        }
    }

    /// Sets a label shown before each phase name (e.g. the experiment arm).
    pub fn set_prefix(&mut self, prefix: impl Into<String>) {
        self.prefix = prefix.into();
    }

    /// A status line on stderr, unless quiet.
    pub fn say(&self, text: &str) {
        if !self.quiet {
            match &self.bar {
                Some(bar) => bar.println(text),
                None => eprintln!("{text}"),
            }
        }
    }
}

impl Observer for Progress {
    fn start(&mut self, phase: &str, total: u64) {
        let target = if self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>28} {bar:30} {pos:>6}/{len:6} {msg} [{elapsed_precise} < {eta}]",
            )
            .expect("static template"),
        );
        let label = if self.prefix.is_empty() {
            phase.to_string()
        } else {
            format!("{} {phase}", self.prefix)
        };
        bar.set_prefix(label);
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = Some(bar);
    }

    fn step(&mut self, step: u64, metrics: &[(&str, f64)]) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            if step % 10 == 0 {
                let msg: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
                bar.set_message(msg.join("  "));
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn message(&mut self, text: &str) {
        self.say(text);
    }

    fn should_stop(&mut self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

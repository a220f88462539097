//! The arms' training runs, spread over the worker threads. Each job trains one (task, head,
//! seed) from its own seeds — data, initialisation, batches, noise and samples — so its numbers
//! do not depend on which thread runs it or on how many there are; the main thread collects the
//! samples in job order and reports progress through the observer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use genlab_core::data::{Points, digits};
use genlab_core::train::{NoObserver, Observer, SeededRng};
use genlab_core::{Result, device};
use serde::Serialize;

use crate::heads::Head;
use crate::mixture::ClassMixture;
use crate::train::{GanConfig, train};

/// What a job learns: a class ring of N components, or the 8×8 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// [`ClassMixture::ring`] with this many classes.
    Ring(usize),
    /// The 1,797 digits, 10 classes.
    Digits,
}

impl Task {
    /// The arm-name prefix: `N8`, `digits`.
    pub fn name(self) -> String {
        match self {
            Task::Ring(n) => format!("N{n}"),
            Task::Digits => "digits".into(),
        }
    }

    fn salt(self) -> u64 {
        match self {
            Task::Ring(n) => n as u64,
            Task::Digits => 0xD161_7500,
        }
    }

    /// The training set of seed `seed`.
    pub fn data(self, points: usize, seed: u64) -> Points {
        match self {
            Task::Ring(n) => ClassMixture::ring(n).sample(
                points,
                &mut SeededRng::new(seed ^ 0xDA7A ^ (self.salt() << 20)),
            ),
            Task::Digits => digits(),
        }
    }

    /// The balanced sample stream of seed `seed` (samples of the model, reference points).
    pub fn sample_rng(self, seed: u64) -> SeededRng {
        SeededRng::new(seed ^ 0x5A3B1E ^ (self.salt() << 24))
    }
}

/// The training sizes of one task.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrainSizes {
    /// Trainer steps.
    pub steps: u64,
    /// Hidden width of both networks.
    pub width: usize,
    /// Batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Training points (mixtures).
    pub points: usize,
    /// Generated samples per class for the metrics.
    pub per_class: usize,
}

/// One training run.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// The data.
    pub task: Task,
    /// The discriminator head.
    pub head: Head,
    /// The run seed.
    pub seed: u64,
    /// Its sizes.
    pub sizes: TrainSizes,
}

/// A job's result: class-balanced samples, the final losses, its seconds.
#[derive(Debug, Clone)]
pub struct Done {
    /// `per_class` samples of every class, labelled.
    pub samples: Points,
    /// (d_loss, g_loss) at the end.
    pub final_losses: (f64, f64),
    /// Wall seconds of training and sampling.
    pub seconds: f64,
}

fn run_job(job: &Job) -> Result<Done> {
    let started = Instant::now();
    let s = job.sizes;
    let data = job.task.data(s.points, job.seed);
    let config = GanConfig {
        steps: s.steps,
        batch: s.batch,
        lr: s.lr,
        width: s.width,
        seed: job.seed.wrapping_mul(1_000_003) ^ job.task.salt(),
        checkpoint_every: 0,
        ..GanConfig::new(job.head)
    };
    let trained = train(&data, &config, None, false, &mut NoObserver)?;
    let samples = trained
        .model
        .sample_balanced(s.per_class, &mut job.task.sample_rng(job.seed))?;
    let last = |name| {
        trained
            .history
            .series(name)
            .last()
            .map_or(f64::NAN, |p| p.1)
    };
    Ok(Done {
        samples,
        final_losses: (last("d_loss"), last("g_loss")),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs every job on `device::threads()` workers; results in job order.
pub fn run_all(jobs: &[Job], phase: &str, observer: &mut dyn Observer) -> Result<Vec<Done>> {
    let workers = device::threads().clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<Done>)>();
    let mut out: Vec<Option<Done>> = vec![None; jobs.len()];
    observer.start(phase, jobs.len() as u64);
    let mut first_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= jobs.len() || tx.send((i, run_job(&jobs[i]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (done, (i, result)) in rx.iter().enumerate() {
            match result {
                Ok(d) => {
                    observer.step(done as u64 + 1, &[("seconds", d.seconds)]);
                    out[i] = Some(d);
                }
                Err(e) => {
                    // Stop handing out jobs; the running ones finish.
                    next.store(jobs.len(), Ordering::SeqCst);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    observer.finish();
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(out
        .into_iter()
        .map(|d| d.expect("every job reported"))
        .collect())
}

//! The trainer's invariants, one per training shape: a run of N steps equals N/2 steps, an
//! interruption, and a resumed run to N — weight for weight — for a single model, for a
//! two-player GAN, and for a hand-gradient state; plus the NaN guard and the history.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::tensor::{Tensor, activation};

use super::testing::{StopAt, weights};
use super::*;
use crate::device;
use crate::error::Error;
use crate::testing::scratch;

/// Runs `train` straight for `steps`, and again interrupted at `steps / 2` then resumed from the
/// checkpoint; returns both results.
fn straight_and_resumed<T: PartialEq + std::fmt::Debug>(
    steps: u64,
    train: impl Fn(TrainOptions, &mut dyn Observer) -> crate::Result<T>,
) -> (T, T) {
    let dir = tempfile::tempdir().unwrap();
    let options = |name: &str| {
        TrainOptions::constant(steps, 0.01)
            .with_checkpoint(dir.path().join(name), 0)
            .with_resume(true)
            .with_log_every(1)
    };
    let straight = train(options("straight.bin"), &mut NoObserver).unwrap();
    let mut stop = StopAt::new(steps / 2);
    match train(options("resumed.bin"), &mut stop) {
        Err(Error::Interrupted { step, .. }) => assert_eq!(step, steps / 2),
        other => panic!("expected an interruption, got {other:?}"),
    }
    let resumed = train(options("resumed.bin"), &mut NoObserver).unwrap();
    (straight, resumed)
}

/// y = x·w + noise: one linear layer, one optimiser, EMA and clipping on.
#[test]
fn single_model_resumes_exactly() {
    let run = |options: TrainOptions, observer: &mut dyn Observer| {
        let device = device::train_device();
        seed_device(&device, 3);
        let model = LinearConfig::new(4, 1).init(&device);
        let mut learner = Learner::new("model", model, AdamConfig::new().init())
            .with_clip(Some(1.0))
            .with_ema(Some(0.9));
        let mut rng = SeededRng::new(5);
        let outcome = Trainer::new(options, observer).fit(
            &mut learner,
            &mut rng,
            |m: &Linear, rng, _| {
                let x: Tensor<2> = rng.normal([16, 4], &device);
                let y = x.clone().sum_dim(1) + rng.normal([16, 1], &device) * 0.1;
                (m.forward(x) - y).square().mean()
            },
            None,
        )?;
        let ema = weights(learner.ema().unwrap());
        Ok((weights(learner.model()), ema, outcome.history, rng.state()))
    };
    let (straight, resumed) = straight_and_resumed(20, run);
    assert_eq!(straight, resumed);
    assert_eq!(
        straight.2.rows.len(),
        20,
        "history is kept across the resume"
    );
    assert!(
        straight.2.losses()[19].1 < straight.2.losses()[0].1,
        "it learns"
    );
}

/// A 1-D GAN: generator x = a·z + b, discriminator a small MLP; two discriminator steps per
/// generator step (n_critic = 2), non-saturating losses.
#[derive(Module, Debug)]
struct Critic {
    hidden: Linear,
    out: Linear,
}

impl Critic {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(activation::relu(self.hidden.forward(x)))
    }
}

fn softplus(x: Tensor<2>) -> Tensor<1> {
    activation::softplus(x, 1.0).mean()
}

#[test]
fn two_player_gan_trains_and_resumes_exactly() {
    const N_CRITIC: u64 = 2;
    let run = |options: TrainOptions, observer: &mut dyn Observer| {
        let device = device::train_device();
        seed_device(&device, 7);
        let critic = Critic {
            hidden: LinearConfig::new(1, 16).init(&device),
            out: LinearConfig::new(16, 1).init(&device),
        };
        let generator = LinearConfig::new(1, 1).init(&device);
        let initial_offset = weights(&generator)[1];
        let mut players = (
            Learner::new("disc", critic, AdamConfig::new().init()),
            Learner::new("gen", generator, AdamConfig::new().init()),
        );
        let mut rng = SeededRng::new(11);
        let mut trainer = Trainer::new(options, observer);
        trainer.run(
            &mut players,
            &mut rng,
            |(d, g), s| {
                let n = 64;
                let mut d_loss = 0.0;
                for _ in 0..N_CRITIC {
                    let real = rng_data(s.rng, n, &device);
                    let fake = g.model().forward(s.rng.normal([n, 1], &device)).detach();
                    let loss =
                        softplus(-d.model().forward(real)) + softplus(d.model().forward(fake));
                    d_loss = d.step(loss, s.lr, s.index)?;
                }
                let fake = g.model().forward(s.rng.normal([n, 1], &device));
                let g_loss = g.step(softplus(-d.model().forward(fake)), s.lr, s.index)?;
                Ok(vec![("d_loss", d_loss), ("g_loss", g_loss)])
            },
            None,
        )?;
        let (d, g) = players;
        Ok((
            weights(d.model()),
            weights(g.model()),
            initial_offset,
            rng.state(),
        ))
    };
    let (straight, resumed) = straight_and_resumed(300, run);
    assert_eq!(straight, resumed);
    // The generator's offset b has moved from its initialisation most of the way to the data
    // mean 2.
    let (_, gen_weights, initial, _) = &straight;
    let (before, after) = ((initial - 2.0).abs(), (gen_weights[1] - 2.0).abs());
    assert!(
        after < 0.5 * before,
        "offset {initial} → {} (data mean 2)",
        gen_weights[1]
    );
}

/// The data of the GAN test: N(2, 0.5²).
fn rng_data(rng: &mut SeededRng, n: usize, device: &burn::tensor::Device) -> Tensor<2> {
    rng.normal([n, 1], device) * 0.5 + 2.0
}

/// A hand-gradient state: minimise ½‖θ − c‖² by plain gradient steps with a data cursor that
/// walks a fixed list of targets. The checkpoint holds θ and the cursor.
struct HandState {
    theta: Vec<f32>,
    cursor: u64,
}

impl Stateful for HandState {
    fn save(&self, blobs: &mut Blobs) -> crate::Result<()> {
        blobs.put_f32s("theta", &self.theta)?;
        blobs.put_json("cursor", &self.cursor)
    }
    fn load(&mut self, blobs: &Blobs) -> crate::Result<()> {
        self.theta = blobs.get_f32s("theta")?;
        self.cursor = blobs.get_json("cursor")?;
        Ok(())
    }
}

fn hand_step(state: &mut HandState, s: Step<'_>) -> crate::Result<Metrics> {
    let targets = [[1.0f32, -1.0], [0.5, 2.0], [-0.5, 0.0]];
    let c = targets[(state.cursor % 3) as usize];
    state.cursor += 1;
    let jitter = s.rng.uniform_vec(1)[0] * 0.01;
    let mut loss = 0.0;
    for (t, c) in state.theta.iter_mut().zip(c) {
        let g = *t - c + jitter;
        loss += 0.5 * (g as f64).powi(2);
        *t -= s.lr as f32 * g;
    }
    Ok(vec![("loss", loss)])
}

#[test]
fn hand_gradient_state_resumes_exactly() {
    let run = |options: TrainOptions, observer: &mut dyn Observer| {
        let mut state = HandState {
            theta: vec![3.0, 3.0],
            cursor: 0,
        };
        let mut rng = SeededRng::new(2);
        let outcome = Trainer::new(options, observer).run(&mut state, &mut rng, hand_step, None)?;
        Ok((state.theta, state.cursor, outcome.history))
    };
    let (straight, resumed) = straight_and_resumed(40, run);
    assert_eq!(straight, resumed);
    assert_eq!(straight.1, 40);
}

/// A non-finite metric stops the run with the step and the metric's name.
#[test]
fn nan_guard_names_step_and_quantity() {
    let mut state = ();
    let err = Trainer::new(TrainOptions::constant(10, 0.1), &mut NoObserver)
        .run(
            &mut state,
            &mut SeededRng::new(0),
            |_, s| Ok(vec![("g_loss", if s.index == 3 { f64::NAN } else { 1.0 })]),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("step 3") && err.contains("g_loss"), "{err}");
}

/// Resuming under a different configuration is refused rather than mixed in.
#[test]
fn resume_refuses_a_changed_configuration() {
    let (_dir, path) = scratch("ck.bin");
    let options = |lr: f64| {
        TrainOptions::constant(4, lr)
            .with_checkpoint(&path, 0)
            .with_resume(true)
            .with_meta(serde_json::json!({ "lr": lr }))
    };
    let step = |_: &mut (), _: Step<'_>| Ok(vec![("loss", 1.0)]);
    let mut observer = NoObserver;
    Trainer::new(options(0.1), &mut observer)
        .run(&mut (), &mut SeededRng::new(0), step, None)
        .unwrap();
    let err = Trainer::new(options(0.2), &mut observer)
        .run(&mut (), &mut SeededRng::new(0), step, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("different configuration"), "{err}");
}

/// Records every message and the learning rate of every step (and can stop a run as
/// [`StopAt`] does).
#[derive(Default)]
struct Record {
    messages: Vec<String>,
    lrs: Vec<(u64, f64)>,
    stop_at: Option<u64>,
    done: u64,
}

impl Observer for Record {
    fn message(&mut self, text: &str) {
        self.messages.push(text.to_string());
    }
    fn step(&mut self, step: u64, metrics: &[(&str, f64)]) {
        self.done = step;
        let lr = metrics.iter().find(|(n, _)| *n == "lr").unwrap().1;
        self.lrs.push((step - 1, lr));
    }
    fn should_stop(&mut self) -> bool {
        self.stop_at.is_some_and(|at| self.done >= at)
    }
}

/// A hand-gradient run of `options` from a fresh state, through `observer`.
fn hand_run(
    options: TrainOptions,
    observer: &mut dyn Observer,
) -> crate::Result<(Vec<f32>, u64, History, Option<u64>)> {
    let mut state = HandState {
        theta: vec![3.0, 3.0],
        cursor: 0,
    };
    let mut rng = SeededRng::new(2);
    let outcome = Trainer::new(options, observer).run(&mut state, &mut rng, hand_step, None)?;
    Ok((
        state.theta,
        state.cursor,
        outcome.history,
        outcome.resumed_from,
    ))
}

/// The reference of an extended run, without the trainer: `k` steps under `first`, then steps
/// k..total under `then`, from the same state and RNG.
fn hand_reference(k: u64, total: u64, first: &LrSchedule, then: &LrSchedule) -> Vec<f32> {
    let mut state = HandState {
        theta: vec![3.0, 3.0],
        cursor: 0,
    };
    let mut rng = SeededRng::new(2);
    for index in 0..total {
        let lr = if index < k {
            first.lr(index)
        } else {
            then.lr(index)
        };
        hand_step(
            &mut state,
            Step {
                index,
                lr,
                rng: &mut rng,
            },
        )
        .unwrap();
    }
    state.theta
}

/// A family-shaped configuration whose budget and warm-up follow `steps`.
fn family_meta(steps: u64, width: u64) -> serde_json::Value {
    serde_json::json!({ "config": { "steps": steps, "width": width }, "rows": 60 })
}

fn extendable(path: &std::path::Path, steps: u64) -> TrainOptions {
    TrainOptions::warmup_cosine(steps, 0.2)
        .with_checkpoint(path, 0)
        .with_resume(true)
        .with_log_every(1)
        .with_meta(family_meta(steps, 16))
}

/// Issue 24: a finished N-step run, resumed with 2N steps, continues from step N under the
/// warm-up–cosine schedule over 2N; the result is N steps of the N-step schedule followed by N
/// of the 2N-step one, bit for bit, and the history runs on from the first run's.
#[test]
fn a_finished_run_extends_with_the_schedule_over_the_new_total() {
    let (_dir, path) = scratch("ck.bin");
    let (n, m) = (20, 40);
    let first = hand_run(extendable(&path, n), &mut NoObserver).unwrap();
    assert_eq!(first.1, n);
    let mut observer = Record::default();
    let (theta, cursor, history, resumed_from) =
        hand_run(extendable(&path, m), &mut observer).unwrap();
    assert_eq!(resumed_from, Some(n));
    assert_eq!(cursor, m, "the state continued from the checkpoint");
    let new_schedule = extendable(&path, m).schedule;
    let expected: Vec<(u64, f64)> = (n..m).map(|s| (s, new_schedule.lr(s))).collect();
    assert_eq!(observer.lrs, expected, "steps N..2N follow the 2N schedule");
    assert!(
        new_schedule.lr(n) > extendable(&path, n).schedule.lr(n - 1),
        "the decayed rate rises again to the longer schedule's"
    );
    assert_eq!(
        theta,
        hand_reference(n, m, &extendable(&path, n).schedule, &new_schedule)
    );
    let steps: Vec<u64> = history.rows.iter().map(|r| r.0).collect();
    assert_eq!(steps, (1..=m).collect::<Vec<_>>());
    assert_eq!(history.rows[..n as usize], first.2.rows[..]);
    assert_eq!(observer.messages.len(), 1, "{:?}", observer.messages);
    assert!(
        observer.messages[0].contains("resumed from step 20")
            && observer.messages[0].contains("step budget 20 → 40"),
        "{:?}",
        observer.messages
    );
    // Resumed again at 40: done, nothing changes.
    let again = hand_run(extendable(&path, m), &mut NoObserver).unwrap();
    assert_eq!((again.0, again.1), (theta, m));
}

/// Issue 24, the contract after a kill: an N-step run stopped at k and resumed with 2N steps
/// equals an uninterrupted 2N-step run exactly when the two schedules agree on steps 0..k —
/// bit for bit under a constant rate; under warm-up–cosine it is k steps of the N schedule
/// followed by the 2N schedule (and differs from the straight 2N run).
#[test]
fn an_interrupted_run_extends_to_the_straight_longer_run_when_the_schedules_agree() {
    let (n, m, k) = (20, 40, 7);
    let dir = tempfile::tempdir().unwrap();
    for cosine in [false, true] {
        let path = dir.path().join(format!("ck-{cosine}.bin"));
        let options = |steps: u64| {
            let o = if cosine {
                TrainOptions::warmup_cosine(steps, 0.2)
            } else {
                TrainOptions::constant(steps, 0.2)
            };
            o.with_checkpoint(&path, 0)
                .with_resume(true)
                .with_log_every(1)
                .with_meta(family_meta(steps, 16))
        };
        let mut stop = Record {
            stop_at: Some(k),
            ..Record::default()
        };
        match hand_run(options(n), &mut stop) {
            Err(Error::Interrupted { step, .. }) => assert_eq!(step, k),
            other => panic!("expected an interruption, got {other:?}"),
        }
        let extended = hand_run(options(m), &mut NoObserver).unwrap();
        assert_eq!(extended.3, Some(k));
        let straight = hand_run(
            options(m).with_checkpoint(dir.path().join("s.bin"), 0),
            &mut NoObserver,
        )
        .unwrap();
        let _ = std::fs::remove_file(dir.path().join("s.bin"));
        let reference = hand_reference(k, m, &options(n).schedule, &options(m).schedule);
        assert_eq!(extended.0, reference, "cosine = {cosine}");
        if cosine {
            assert_ne!(
                extended.0, straight.0,
                "the first k steps had the shorter schedule"
            );
        } else {
            assert_eq!(
                (extended.0, extended.1, extended.2),
                (straight.0, straight.1, straight.2),
                "a constant rate: the same run, history included"
            );
        }
    }
}

/// The single-model path (Adam moments, EMA, clipping through a [`Learner`]): a 10-step run
/// extended to 20 equals a straight 20-step run under a constant rate, weight for weight.
#[test]
fn a_learner_extends_exactly_under_a_constant_rate() {
    let dir = tempfile::tempdir().unwrap();
    let run = |steps: u64, file: &str| {
        let device = device::train_device();
        seed_device(&device, 3);
        let model = LinearConfig::new(4, 1).init(&device);
        let mut learner = Learner::new("model", model, AdamConfig::new().init())
            .with_clip(Some(1.0))
            .with_ema(Some(0.9));
        let mut rng = SeededRng::new(5);
        let options = TrainOptions::constant(steps, 0.01)
            .with_checkpoint(dir.path().join(file), 0)
            .with_resume(true)
            .with_meta(family_meta(steps, 4));
        Trainer::new(options, &mut NoObserver)
            .fit(
                &mut learner,
                &mut rng,
                |m: &Linear, rng, _| {
                    let x: Tensor<2> = rng.normal([16, 4], &device);
                    let y = x.clone().sum_dim(1);
                    (m.forward(x) - y).square().mean()
                },
                None,
            )
            .unwrap();
        (
            weights(learner.model()),
            weights(learner.ema().unwrap()),
            rng.state(),
        )
    };
    run(10, "extended.bin");
    assert_eq!(run(20, "extended.bin"), run(20, "straight.bin"));
}

/// An extension may change the budget only: a changed model or data setting is still refused
/// (naming it), and so is a budget below the completed steps.
#[test]
fn extending_still_refuses_a_changed_configuration_or_a_smaller_budget() {
    let (_dir, path) = scratch("ck.bin");
    hand_run(extendable(&path, 20), &mut NoObserver).unwrap();
    let wider = extendable(&path, 40).with_meta(family_meta(40, 32));
    let err = hand_run(wider, &mut NoObserver).unwrap_err().to_string();
    assert!(
        err.contains("different configuration") && err.contains("`config.width`: 16 → 32"),
        "{err}"
    );
    let more_data = extendable(&path, 40)
        .with_meta(serde_json::json!({ "config": { "steps": 40, "width": 16 }, "rows": 61 }));
    let err = hand_run(more_data, &mut NoObserver)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`rows`: 60 → 61"), "{err}");
    let err = hand_run(extendable(&path, 10), &mut NoObserver)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("20 completed steps") && err.contains("--steps 20"),
        "{err}"
    );
    // The refusals left the checkpoint alone: it still extends.
    assert_eq!(
        hand_run(extendable(&path, 30), &mut NoObserver).unwrap().1,
        30
    );
}

/// `--resume` without a checkpoint says so, then starts from step 0 (issue 25: it was silent).
#[test]
fn resume_without_a_checkpoint_says_so() {
    #[derive(Default)]
    struct Messages(Vec<String>);
    impl Observer for Messages {
        fn message(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }
    let (_dir, path) = scratch("ck.bin");
    let mut observer = Messages::default();
    let options = TrainOptions::constant(2, 0.1)
        .with_checkpoint(&path, 0)
        .with_resume(true);
    Trainer::new(options, &mut observer)
        .run(
            &mut (),
            &mut SeededRng::new(0),
            |_, _| Ok(vec![("loss", 1.0)]),
            None,
        )
        .unwrap();
    assert_eq!(observer.0.len(), 1, "{:?}", observer.0);
    assert!(
        observer.0[0].contains("no checkpoint at"),
        "{:?}",
        observer.0
    );
    assert!(observer.0[0].contains("step 0"), "{:?}", observer.0);
}

/// The history's CSV: a header of metric names, one row per record.
#[test]
fn history_csv() {
    let (_dir, path) = scratch("losses.csv");
    History::from_losses(&[(10, 0.5), (20, 0.25)])
        .write_csv(&path)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "step,loss\n10,0.5\n20,0.25\n"
    );
}

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

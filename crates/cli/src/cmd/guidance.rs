//! `genlab guidance train`, `sample`, `eval` and `exact`: masked discrete diffusion on the
//! user's class-labelled token sequences, sampled with a chosen classifier-free guidance rule,
//! scored on its own samples, and the exact output distribution of a user's probability table.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::metrics::DigitClassifier;
use genlab_core::report::plot::image_grid;
use genlab_core::report::sig3;
use genlab_core::train::SeededRng;
use genlab_guidance::eval;
use genlab_guidance::exact::{exact_distribution, total_variation};
use genlab_guidance::guidance::Rule;
use genlab_guidance::model::TokenModel;
use genlab_guidance::noise::NoiseSchedule;
use genlab_guidance::sampler::{SampleConfig, Sampler, sample};
use genlab_guidance::schedule::GuidanceSchedule;
use genlab_guidance::table::read_table;
use genlab_guidance::tokens::TokenData;
use genlab_guidance::train::{TrainConfig, train};

use super::output::{RunDir, write_losses, write_or_print};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a class-conditional masked-diffusion denoiser on a token file.
    ///
    /// Label dropout makes one model give the conditional and the unconditional branch. The
    /// token file has one sequence per line, `CLASS: TOKEN TOKEN …` (non-negative integers,
    /// equal lengths, `#` comments). Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv
    /// and a resumable OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume to continue,
    /// or with --resume and a larger --steps to train longer).
    Train(TrainArgs),
    /// Sample sequences of one class with classifier-free guidance.
    ///
    /// Writes them in the token-file format, `CLASS: TOKENS` per line.
    Sample(SampleArgs),
    /// Score a trained model on its own guided samples.
    ///
    /// Draws -n samples per class. Digit-shaped models (64 tokens of 17 levels, 10 classes)
    /// get FD-digits, classifier accuracy, precision and recall, beside the FD of as many real
    /// digits (the floor) and the classifier's accuracy on real digits. Every model gets
    /// per-class token statistics: distinct fraction and per-position entropy, and against
    /// --data (or the built-in digits) the per-position and pooled total variation, the TV of
    /// as many resampled reference sequences (the floor), and the fraction copied verbatim.
    Eval(EvalArgs),
    /// The exact output distribution of a guided sampler on your own probability table.
    ///
    /// No learning and no sampling error: a dynamic program over the partially masked states,
    /// shown beside the tilted target p(x|c)^w p(x)^(1−w) and p(x|c). The table has one entry
    /// per line, `CLASS: TOKEN TOKEN … = WEIGHT`, with p(x|c) ∝ WEIGHT (unlisted sequences
    /// have probability 0; `#` starts a comment line). Optional lines: `vocab: V` (default:
    /// the largest token + 1) and `prior: W0 W1 …` (one positive weight per class; default
    /// uniform). At most 65536 sequences (V^d), and the dynamic program's cost is bounded.
    Exact(ExactArgs),
}

/// The guided sampler: rule, strength, schedule, sampler and steps.
#[derive(clap::Args, Debug)]
pub struct GuideArgs {
    /// Guidance strength (1 = plain conditional sampling; for schedules, the mean ∫w dt).
    #[arg(long, default_value_t = 2.0)]
    w: f64,
    /// Guidance rule: normalized (column-normalised, recommended), unlocking or simple.
    #[arg(long, default_value = "normalized")]
    rule: Rule,
    /// Guidance schedule w(t): constant, ramp-up, ramp-down, cosine or interval:LEFT:RIGHT
    /// (t = 1 is fully masked; guidance late in sampling matters most).
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Sampler: ancestral or tau-leaping.
    #[arg(long, default_value = "ancestral")]
    sampler: Sampler,
    /// Sampling steps.
    #[arg(long, default_value_t = 32)]
    steps: usize,
}

impl GuideArgs {
    /// The sampling configuration under the masking schedule `noise`.
    fn config(&self, noise: NoiseSchedule) -> anyhow::Result<SampleConfig> {
        let schedule =
            GuidanceSchedule::parse(&self.schedule, self.w).map_err(anyhow::Error::msg)?;
        let config = SampleConfig {
            sampler: self.sampler,
            rule: self.rule,
            schedule,
            steps: self.steps,
            noise,
        };
        config.validate()?;
        Ok(config)
    }

    /// `normalized rule, w = 2, constant schedule, 32 ancestral steps`.
    fn describe(&self) -> String {
        format!(
            "{} rule, w = {}, {} schedule, {} {} steps",
            self.rule.name(),
            self.w,
            self.schedule,
            self.steps,
            match self.sampler {
                Sampler::Ancestral => "ancestral",
                Sampler::TauLeaping => "τ-leaping",
            }
        )
    }
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Token file (`CLASS: TOKEN TOKEN …` per line).
    #[arg(long, required_unless_present = "digits")]
    data: Option<PathBuf>,
    /// Train on the built-in 8×8 digits instead (64 tokens of 17 grey levels, classes 0–9).
    #[arg(long, conflicts_with = "data")]
    digits: bool,
    /// Optimisation steps.
    #[arg(long, default_value_t = 3000)]
    steps: u64,
    /// Minibatch size (sequences).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Peak learning rate (Adam, warm-up then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Hidden width of the MLP.
    #[arg(long, default_value_t = 384)]
    width: usize,
    /// Number of linear layers.
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Probability of dropping the class label (trains the unconditional branch).
    #[arg(long, default_value_t = 0.1)]
    p_uncond: f64,
    /// Seed of initialisation, minibatches and masks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Model directory written by `genlab guidance train`.
    #[arg(long)]
    model: PathBuf,
    /// Class to sample.
    #[arg(long)]
    class: u32,
    /// Number of sequences.
    #[arg(short, default_value_t = 16)]
    n: usize,
    #[command(flatten)]
    guide: GuideArgs,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output token file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also draw the samples as square greyscale images (sequence length must be a square).
    #[arg(long)]
    svg: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model directory written by `genlab guidance train`.
    #[arg(long)]
    model: PathBuf,
    /// Reference token file (`CLASS: TOKENS`, e.g. held-out sequences) for the token
    /// statistics (default for digit-shaped models: the built-in digits; otherwise none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Samples per class.
    #[arg(short, default_value_t = 100)]
    n: usize,
    #[command(flatten)]
    guide: GuideArgs,
    /// Sampling seed (also of the floors' random draws).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the scores as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ExactArgs {
    /// Probability table (`CLASS: TOKEN TOKEN … = WEIGHT` per line; see `genlab guidance
    /// exact --help`).
    #[arg(long)]
    table: PathBuf,
    /// Class whose guided output distribution to compute.
    #[arg(long)]
    class: usize,
    #[command(flatten)]
    guide: GuideArgs,
    /// Sequences to list, most probable first (--json lists every sequence of positive
    /// probability under the output, the target or p(x|c)).
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Print the distribution as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Sample(args) => sample_cmd(args),
        Command::Eval(args) => eval_cmd(args),
        Command::Exact(args) => exact_cmd(args),
    }
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let data = match &args.data {
        Some(path) => TokenData::read(path)?,
        None => TokenData::from_digits(&genlab_core::data::digits())?,
    };
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        width: args.width,
        depth: args.depth,
        p_uncond: args.p_uncond,
        seed: args.seed,
        ..TrainConfig::default()
    };
    args.run.refuse_to_restart()?;
    progress.set_prefix("guidance train");
    let checkpoint = args.run.checkpoint();
    let (model, history) = train(
        &data,
        &config,
        Some(&checkpoint),
        args.run.resume,
        &mut progress,
    )?;
    model.save(&args.run.out)?;
    let last = write_losses(&history, &args.run.out)?;
    println!(
        "trained on {} sequences of {} tokens (vocabulary {}, {} classes) for {} steps (final loss {last:.4}); model in {}",
        data.len(),
        data.seq_len,
        data.vocab,
        data.classes,
        config.steps,
        args.run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let model = TokenModel::load(&args.model)?;
    genlab_core::limits::elements(
        "-n × the model's input width",
        &[args.n, model.spec.input_width()],
    )?;
    if args.class as usize >= model.spec.classes {
        bail!(
            "--class {} is out of range: the model has classes 0–{}",
            args.class,
            model.spec.classes - 1
        );
    }
    let config = args.guide.config(model.spec.noise)?;
    let classes = vec![args.class; args.n];
    let samples = sample(&model, &classes, &config, SeededRng::new(args.seed).rng())?;
    let out = TokenData {
        seq_len: model.spec.seq_len,
        vocab: model.spec.vocab,
        classes: model.spec.classes,
        tokens: samples.tokens,
        labels: classes,
    };
    if let Some(path) = &args.svg {
        let side = (out.seq_len as f64).sqrt().round() as usize;
        if side * side != out.seq_len {
            bail!(
                "--svg needs a square sequence length; {} is not",
                out.seq_len
            );
        }
        let images: Vec<Vec<f32>> = (0..out.len())
            .map(|i| out.row(i).iter().map(|&t| t as f32).collect())
            .collect();
        let title = format!(
            "class {}, {} rule, w = {}, {} steps",
            args.class,
            args.guide.rule.name(),
            args.guide.w,
            args.guide.steps
        );
        image_grid(
            path,
            &title,
            &images,
            side,
            side,
            8,
            (0.0, (out.vocab - 1) as f32),
        )?;
    }
    let what = format!("{} sequences", args.n);
    write_or_print(args.out.as_deref(), &out.to_text(), &what)?;
    Ok(ExitCode::SUCCESS)
}

fn eval_cmd(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let model = TokenModel::load(&args.model)?;
    genlab_core::limits::elements(
        "-n × classes × the model's input width",
        &[args.n, model.spec.classes, model.spec.input_width()],
    )?;
    let config = args.guide.config(model.spec.noise)?;
    let digits = eval::is_digit_model(&model.spec);
    let (reference, against) = match &args.data {
        Some(path) => (Some(TokenData::read(path)?), path.display().to_string()),
        None if digits => (
            Some(TokenData::from_digits(&genlab_core::data::digits())?),
            "the built-in digits".to_string(),
        ),
        None => (None, String::new()),
    };
    let mut rng = SeededRng::new(args.seed);
    let (samples, points) = eval::draw_tokens(&model, args.n, &config, &mut rng)?;
    let digit = if digits {
        let cache = genlab_core::data::Cache::from_env();
        let classifier = DigitClassifier::load_or_train(cache.dir())?;
        let real = genlab_core::data::digits();
        Some(eval::digit_eval(classifier, &real, &points, &mut rng)?)
    } else {
        None
    };
    let stats = eval::token_stats(&samples, reference.as_ref(), &mut rng)?;
    let sampler = args.guide.describe();
    if args.json {
        let json = serde_json::json!({
            "model": args.model, "per_class": args.n, "sampler": sampler, "seed": args.seed,
            "reference": reference.as_ref().map(|_| &against), "digits": digit, "classes": stats,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} samples ({} per class; {sampler}, seed {})",
        samples.len(),
        args.n,
        args.seed
    );
    if let Some(d) = &digit {
        let s = &d.scores;
        println!(
            "FD-digits {} (real digits of the same count: {}), accuracy {} (the classifier's on \
             real digits: {}), precision {}, recall {}",
            sig3(s.fd),
            sig3(d.fd_floor),
            sig3(s.accuracy),
            sig3(d.classifier_accuracy),
            sig3(s.precision),
            sig3(s.recall)
        );
        let per: Vec<String> = d
            .class_accuracy
            .iter()
            .enumerate()
            .map(|(c, a)| format!("{c}: {}", sig3(*a)))
            .collect();
        println!("accuracy per class: {}", per.join(", "));
    }
    print_token_stats(&stats, reference.is_some().then_some(against.as_str()));
    Ok(ExitCode::SUCCESS)
}

fn exact_cmd(args: ExactArgs) -> anyhow::Result<ExitCode> {
    let problem = read_table(&args.table)?;
    if args.class >= problem.classes() {
        bail!(
            "--class {} is out of range: the table has classes 0–{}",
            args.class,
            problem.classes() - 1
        );
    }
    let config = args.guide.config(NoiseSchedule::default())?;
    problem.check_cost(config.steps)?;
    let run = exact_distribution(&problem, args.class, &config)?;
    let target = problem.tilted_target(args.class, args.guide.w);
    let conditional = &problem.tables[args.class];
    let tv_target = total_variation(&run.distribution, &target);
    let tv_conditional = total_variation(&run.distribution, conditional);
    let mut order: Vec<usize> = (0..run.distribution.len())
        .filter(|&i| run.distribution[i] > 0.0 || target[i] > 0.0 || conditional[i] > 0.0)
        .collect();
    order.sort_by(|&a, &b| {
        run.distribution[b]
            .total_cmp(&run.distribution[a])
            .then(a.cmp(&b))
    });
    let tokens = |i: usize| {
        let x: Vec<String> = problem.sequence(i).iter().map(u32::to_string).collect();
        x.join(" ")
    };
    let sampler = args.guide.describe();
    if args.json {
        let rows: Vec<_> = order
            .iter()
            .map(|&i| {
                serde_json::json!({ "tokens": problem.sequence(i), "p": run.distribution[i],
                    "target": target[i], "conditional": conditional[i] })
            })
            .collect();
        let json = serde_json::json!({
            "table": args.table, "class": args.class, "sampler": sampler,
            "seq_len": problem.seq_len, "vocab": problem.vocab, "classes": problem.classes(),
            "tv_target": tv_target, "tv_conditional": tv_conditional,
            "times": run.times, "mask_fraction": run.mask_fraction, "distribution": rows,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "exact output distribution of class {} ({sampler}) over {}^{} sequences",
        args.class, problem.vocab, problem.seq_len
    );
    println!(
        "TV to the tilted target p(x|c)^w p(x)^(1−w): {}",
        sig3(tv_target)
    );
    println!("TV to p(x|c): {}", sig3(tv_conditional));
    println!("{:<24}  {:<10}  {:<10}  p(x|c)", "sequence", "p", "target");
    for &i in order.iter().take(args.top) {
        println!(
            "{:<24}  {:<10}  {:<10}  {}",
            tokens(i),
            sig3(run.distribution[i]),
            sig3(target[i]),
            sig3(conditional[i])
        );
    }
    if order.len() > args.top {
        println!(
            "… {} more (--top N or --json to list them)",
            order.len() - args.top
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The per-class token statistics as a table; `against` names the reference, if any.
fn print_token_stats(stats: &[eval::ClassStats], against: Option<&str>) {
    match against {
        Some(name) => println!(
            "class  samples  distinct  entropy  ref entropy  marginal TV (floor)  unigram TV  \
             copied  (against {name})"
        ),
        None => {
            println!("class  samples  distinct  entropy  top tokens (no --data to compare with)")
        }
    }
    for c in stats {
        let head = format!(
            "{:<5}  {:<7}  {:<8}  {:<7}",
            c.class,
            c.samples,
            sig3(c.distinct),
            sig3(c.entropy)
        );
        match (&c.reference, against) {
            (Some(r), _) => {
                let tv = format!("{} ({})", sig3(r.marginal_tv), sig3(r.marginal_tv_floor));
                println!(
                    "{head}  {:<11}  {tv:<19}  {:<10}  {}",
                    sig3(r.entropy),
                    sig3(r.unigram_tv),
                    sig3(r.copied)
                );
            }
            (None, Some(_)) => println!("{head}  (no reference sequences of this class)"),
            (None, None) => {
                let top: Vec<String> = c
                    .top_tokens
                    .iter()
                    .map(|(t, f)| format!("{t} ({})", sig3(*f)))
                    .collect();
                println!("{head}  {}", top.join(", "));
            }
        }
    }
}

//! `genlab weights`: networks as data: align two networks (Re-Basin), train a zoo, train a flow over weights, generate networks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use genlab_core::data::read_points_csv;
use genlab_core::fsx;
use genlab_core::report::{mean_std, plot};
use genlab_core::train::SeededRng;
use genlab_weights::Params;
use genlab_weights::barrier::Path as BarrierPath;
use genlab_weights::cnn_zoo::{CnnZooConfig, train_cnn_zoo};
use genlab_weights::matching::align_mlp;
use genlab_weights::mlp::Mlp;
use genlab_weights::spec::MlpSpec;
use genlab_weights::tool::{Method, load_flow, read_zoo_dir, rebasin, rebasin_cnn, save_flow};
use genlab_weights::train::{FlowConfig, train_flow};
use genlab_weights::zoo::{Digits, PIXELS, ZooConfig, train_zoo};

use super::output::{RunDir, write_losses};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Permute network B's hidden units onto network A's (Git Re-Basin) and write the aligned
    /// B. Both files are safetensors networks of one spec, an MLP or a small CNN (--spec;
    /// `auto` picks `cnn` when a tensor is 4-D). MLP: `X.weight` [out, in] and `X.bias` [out]
    /// per layer, layers in natural order of X, ReLU between. CNN: layers grouped by name
    /// prefix (`features.0.weight` → `features.0`), in natural order of the prefixes (as
    /// PyTorch's nn.Sequential numbers them) or the order --layers gives: a conv is a 4-D
    /// `weight` [out, in, kh, kw] (optional `bias`), a BatchNorm has `weight`, `bias`,
    /// `running_mean`, `running_var` (and `num_batches_tracked`), a dense layer a 2-D
    /// `weight` and `bias`; the first dense layer after a conv reads its channel-major
    /// flatten. Reports the weight distance and the linear-interpolation loss barrier before
    /// and after (MLPs: on the 8×8 digits test split for 64-input, 10-class networks, or on
    /// --data; CNNs: for genlab's digit CNNs, every point BatchNorm-recalibrated).
    Rebasin(RebasinArgs),
    /// Train a zoo of MLPs (or, with --cnn, small BatchNorm CNNs) on the 8×8 digits from
    /// consecutive seeds; writes OUT/net-000.safetensors, … and OUT/zoo.json (seeds, test
    /// accuracies). Resumable.
    Zoo(ZooArgs),
    /// Train a weight-space flow (DeepWeightFlow) on a folder of safetensors networks of one
    /// spec, aligned to the first network by weight matching unless --no-align. Writes
    /// OUT/model.json, OUT/weights.bpk, OUT/pca.safetensors, OUT/losses.csv. Resumable.
    TrainFlow(TrainFlowArgs),
    /// Generate networks from a trained flow as safetensors files (OUT/gen-000.safetensors, …),
    /// with their digits test accuracy when they are digit classifiers.
    Generate(GenerateArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// Weight matching (no data needed).
    Weight,
    /// Activation matching (needs data: the digits or --data).
    Activation,
}

#[derive(clap::Args, Debug)]
pub struct RebasinArgs {
    /// Reference network A (.safetensors).
    a: PathBuf,
    /// Network B to align onto A (.safetensors).
    b: PathBuf,
    /// Where to write B aligned (.safetensors, B's tensor names).
    #[arg(long)]
    out: PathBuf,
    /// Matching method.
    #[arg(long, value_enum, default_value_t = MethodArg::Weight)]
    method: MethodArg,
    /// Labelled CSV for the barrier (a `label` column; the other columns are the inputs).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Write the barrier plot (loss along the path, before and after) to this SVG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Points on the interpolation path.
    #[arg(long, default_value_t = 21)]
    points: usize,
    /// Seed of the sweep order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The networks' permutation spec: `mlp`, `cnn`, or `auto` (cnn when a tensor is 4-D).
    #[arg(long, value_enum, default_value_t = SpecArg::Auto)]
    spec: SpecArg,
    /// CNN layer prefixes in network order, comma-separated (e.g. conv1,bn1,conv2,bn2,fc),
    /// when natural name order is not the network's order.
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum SpecArg {
    /// `cnn` when any tensor is 4-D, else `mlp`.
    Auto,
    /// Fully connected ReLU network.
    Mlp,
    /// Conv / BatchNorm / dense layers.
    Cnn,
}

#[derive(clap::Args, Debug)]
pub struct ZooArgs {
    /// Number of networks.
    #[arg(long, default_value_t = 100)]
    nets: usize,
    /// Hidden widths, comma-separated (input 64 and 10 classes are added).
    #[arg(long, value_delimiter = ',', default_value = "32,32")]
    hidden: Vec<usize>,
    /// Train small CNNs (3×3 stride-2 conv + BatchNorm + ReLU blocks, then a dense layer)
    /// instead of MLPs.
    #[arg(long)]
    cnn: bool,
    /// CNN channels per conv block, comma-separated (with --cnn).
    #[arg(long, value_delimiter = ',', default_value = "8,16")]
    channels: Vec<usize>,
    /// Training epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    /// Seed of network 0 (network k uses seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct TrainFlowArgs {
    /// Folder of .safetensors networks of one spec.
    #[arg(long)]
    zoo: PathBuf,
    /// Flow hidden width d_h.
    #[arg(long, default_value_t = 512)]
    hidden: usize,
    /// Optimisation steps (the reference: 30000).
    #[arg(long, default_value_t = 6000)]
    steps: u64,
    /// PCA components (0: the flow runs on the raw weights).
    #[arg(long, default_value_t = 99)]
    pca: usize,
    /// Train on the raw weights, without Re-Basin.
    #[arg(long)]
    no_align: bool,
    /// Seed of initialisation, source bank and minibatches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Model directory written by `genlab weights train-flow`.
    #[arg(long)]
    model: PathBuf,
    /// Number of networks.
    #[arg(short, default_value_t = 100)]
    n: usize,
    /// RK4 steps (default: the model's).
    #[arg(long)]
    steps: Option<usize>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Rebasin(args) => rebasin_cmd(args),
        Command::Zoo(args) => zoo_cmd(args, progress),
        Command::TrainFlow(args) => train_flow_cmd(args, progress),
        Command::Generate(args) => generate_cmd(args),
    }
}

/// The barrier data: --data, or the digits test split for 64 → 10 networks.
fn barrier_data(
    data: Option<&Path>,
    widths: &[usize],
) -> anyhow::Result<Option<(Vec<f32>, Vec<u32>)>> {
    if let Some(path) = data {
        let points = read_points_csv(path)?;
        let Some(labels) = points.labels.clone() else {
            bail!("{}: the barrier needs a `label` column", path.display());
        };
        if points.d != widths[0] {
            bail!(
                "{}: {} input columns for networks of {} inputs",
                path.display(),
                points.d,
                widths[0]
            );
        }
        let classes = *widths.last().expect("widths") as u32;
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            bail!(
                "{}: label {l} for networks of {classes} outputs",
                path.display()
            );
        }
        return Ok(Some((points.data, labels)));
    }
    if widths[0] == PIXELS && *widths.last().expect("widths") == 10 {
        let d = Digits::load();
        return Ok(Some((d.x_test, d.y_test)));
    }
    Ok(None)
}

fn rebasin_cmd(args: RebasinArgs) -> anyhow::Result<ExitCode> {
    let a = Params::read(&args.a)?;
    let b = Params::read(&args.b)?;
    let cnn = match args.spec {
        SpecArg::Cnn => true,
        SpecArg::Mlp => false,
        SpecArg::Auto => a.arrays.iter().any(|t| t.shape.len() == 4),
    };
    if cnn {
        return rebasin_cnn_cmd(&args, &a, &b);
    }
    if args.layers.is_some() {
        bail!("--layers orders CNN layers; these networks are read as an MLP (--spec cnn?)");
    }
    let spec = MlpSpec::detect(&a).with_context(|| format!("{}", args.a.display()))?;
    let data = barrier_data(args.data.as_deref(), &spec.widths)?;
    let method = match args.method {
        MethodArg::Weight => Method::Weight,
        MethodArg::Activation => Method::Activation,
    };
    let r = rebasin(
        &a,
        &b,
        method,
        data.as_ref().map(|(x, y)| (x.as_slice(), y.as_slice())),
        args.points,
        args.seed,
    )?;
    r.aligned.write(&args.out)?;
    let barriers = r
        .paths
        .as_ref()
        .map(|(p0, p1)| (p0.barrier(), p1.barrier()));
    if let (Some(svg), Some((p0, p1))) = (&args.plot, &r.paths) {
        plot::lines(
            svg,
            "Loss along θ(α) = (1−α)θ_A + αθ_B",
            "α",
            "cross-entropy",
            &[p0.loss_line("before"), p1.loss_line("after Re-Basin")],
            false,
        )?;
    }
    if args.json {
        let out = serde_json::json!({
            "widths": r.spec.widths,
            "objective": r.matching.objective,
            "distance_before": r.distance.0,
            "distance_after": r.distance.1,
            "barrier_before": barriers.map(|b| b.0),
            "barrier_after": barriers.map(|b| b.1),
            "path_before": r.paths.as_ref().map(|p| &p.0),
            "path_after": r.paths.as_ref().map(|p| &p.1),
            "out": args.out,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "aligned {} onto {} ({:?}): distance {:.4} → {:.4}, objective {:.4} → {:.4} in {} sweeps",
            args.b.display(),
            args.a.display(),
            r.spec.widths,
            r.distance.0,
            r.distance.1,
            r.matching.objective[0],
            r.matching.objective.last().copied().unwrap_or(f64::NAN),
            r.matching.objective.len() - 1
        );
        match barriers {
            Some((b0, b1)) => println!("loss barrier {b0:.4} before, {b1:.4} after"),
            None => println!("no barrier: pass --data (a labelled CSV) to measure one"),
        }
        println!("wrote {}", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn barrier_plot(svg: &Path, p0: &BarrierPath, p1: &BarrierPath) -> anyhow::Result<()> {
    plot::lines(
        svg,
        "Loss along θ(α) = (1−α)θ_A + αθ_B",
        "α",
        "cross-entropy",
        &[p0.loss_line("before"), p1.loss_line("after Re-Basin")],
        false,
    )?;
    Ok(())
}

fn rebasin_cnn_cmd(args: &RebasinArgs, a: &Params, b: &Params) -> anyhow::Result<ExitCode> {
    if matches!(args.method, MethodArg::Activation) {
        bail!("activation matching is for MLPs; CNNs use weight matching (--method weight)");
    }
    if args.data.is_some() {
        bail!(
            "--data is for MLP barriers; a CNN barrier is measured on the digits for genlab's digit CNNs"
        );
    }
    let r = rebasin_cnn(a, b, args.layers.as_deref(), args.points, args.seed)
        .with_context(|| format!("{} and {}", args.a.display(), args.b.display()))?;
    r.aligned.write(&args.out)?;
    let barriers = r
        .paths
        .as_ref()
        .map(|(p0, p1)| (p0.barrier(), p1.barrier()));
    if let (Some(svg), Some((p0, p1))) = (&args.plot, &r.paths) {
        barrier_plot(svg, p0, p1)?;
    }
    let perms: Vec<usize> = r.matching.perms.iter().map(Vec::len).collect();
    if args.json {
        let out = serde_json::json!({
            "spec": r.spec,
            "permutation_sizes": perms,
            "objective": r.matching.objective,
            "distance_before": r.distance.0,
            "distance_after": r.distance.1,
            "barrier_before": barriers.map(|b| b.0),
            "barrier_after": barriers.map(|b| b.1),
            "path_before": r.paths.as_ref().map(|p| &p.0),
            "path_after": r.paths.as_ref().map(|p| &p.1),
            "out": args.out,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "aligned CNN {} onto {} ({} layers, channel permutations {:?}): distance {:.4} → {:.4}, objective {:.4} → {:.4} in {} sweeps",
            args.b.display(),
            args.a.display(),
            r.spec.layers.len(),
            perms,
            r.distance.0,
            r.distance.1,
            r.matching.objective[0],
            r.matching.objective.last().copied().unwrap_or(f64::NAN),
            r.matching.objective.len() - 1
        );
        match barriers {
            Some((b0, b1)) => println!(
                "loss barrier {b0:.4} before, {b1:.4} after (BatchNorm recalibrated along the path)"
            ),
            None => println!("no barrier: measured for genlab's digit CNNs only"),
        }
        println!("wrote {}", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cnn_zoo_cmd(args: ZooArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let mut channels = vec![1];
    channels.extend(&args.channels);
    let config = CnnZooConfig {
        channels,
        nets: args.nets,
        heldout: 0,
        epochs: args.epochs,
        batch: 32,
        lr: args.lr,
        seed: args.seed,
    };
    args.run.refuse_to_restart()?;
    let out = &args.run.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    progress.set_prefix("weights zoo (CNN)");
    let data = Digits::load();
    let zoo = train_cnn_zoo(
        &config,
        &data,
        Some(&args.run.checkpoint()),
        args.run.resume,
        &mut progress,
    )?;
    let nets = zoo.nets.iter().map(|n| n.to_params());
    let what = format!("CNNs (channels {:?})", config.channels);
    write_zoo(
        out,
        nets,
        serde_json::to_value(&config)?,
        &zoo.accuracy,
        &what,
    )
}

fn zoo_cmd(args: ZooArgs, progress: Progress) -> anyhow::Result<ExitCode> {
    if args.cnn {
        return cnn_zoo_cmd(args, progress);
    }
    let mut progress = progress;
    let mut widths = vec![PIXELS];
    widths.extend(&args.hidden);
    widths.push(10);
    let config = ZooConfig {
        widths,
        nets: args.nets,
        heldout: 0,
        epochs: args.epochs,
        batch: 64,
        lr: args.lr,
        seed: args.seed,
    };
    args.run.refuse_to_restart()?;
    let out = &args.run.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    progress.set_prefix("weights zoo");
    let data = Digits::load();
    let zoo = train_zoo(
        &config,
        &data,
        Some(&args.run.checkpoint()),
        args.run.resume,
        &mut progress,
    )?;
    let spec = MlpSpec::new(&config.widths);
    let nets = zoo.nets.iter().map(|n| n.to_params(&spec));
    let what = format!("MLPs {:?}", config.widths);
    write_zoo(
        out,
        nets,
        serde_json::to_value(&config)?,
        &zoo.accuracy,
        &what,
    )
}

/// Writes a trained zoo into `out` (OUT/net-000.safetensors, …, OUT/zoo.json with the config
/// and test accuracies) and says so.
fn write_zoo(
    out: &Path,
    nets: impl ExactSizeIterator<Item = Params>,
    config: serde_json::Value,
    accuracy: &[f64],
    what: &str,
) -> anyhow::Result<ExitCode> {
    let n = nets.len();
    for (k, params) in nets.enumerate() {
        params.write(&out.join(format!("net-{k:03}.safetensors")))?;
    }
    let (mean, std) = mean_std(accuracy);
    fsx::write_json(
        &out.join("zoo.json"),
        &serde_json::json!({ "config": config, "test_accuracy": accuracy }),
    )?;
    println!(
        "trained {n} {what} on the 8×8 digits: test accuracy {:.2} ± {:.2}%; wrote {}",
        100.0 * mean,
        100.0 * std,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn train_flow_cmd(args: TrainFlowArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let (spec, nets) = read_zoo_dir(&args.zoo)?;
    args.run.refuse_to_restart()?;
    let out = &args.run.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let reference = &nets[0].1;
    let flats: Vec<Vec<f32>> = if args.no_align {
        nets.iter().map(|(_, n)| n.flat()).collect()
    } else {
        progress.say(&format!(
            "aligning {} networks to {}",
            nets.len(),
            nets[0].0.display()
        ));
        nets.iter()
            .map(|(_, n)| Ok(align_mlp(&spec, reference, n, 100, 42)?.0.flat()))
            .collect::<anyhow::Result<_>>()?
    };
    let config = FlowConfig {
        seed: args.seed,
        pca: (args.pca > 0).then_some(args.pca),
        ..FlowConfig::reference(args.hidden, args.steps)
    };
    progress.set_prefix("weights flow");
    let flow = train_flow(
        &flats,
        &config,
        Some(&args.run.checkpoint()),
        args.run.resume,
        &mut progress,
    )?;
    save_flow(out, &flow, &spec, !args.no_align)?;
    let last = write_losses(&flow.history, out)?;
    println!(
        "trained a weight-space flow (d_h = {}, {} steps, {} dims{}) on {} networks: best epoch loss {:.5}, last {:.5}; model in {}",
        args.hidden,
        args.steps,
        flow.dim,
        if args.no_align {
            ", unaligned"
        } else {
            ", aligned"
        },
        nets.len(),
        flow.best_loss,
        last,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn generate_cmd(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let (mut flow, spec) = load_flow(&args.model)?;
    if let Some(steps) = args.steps {
        if steps == 0 {
            bail!("--steps must be at least 1");
        }
        flow.config.ode_steps = steps;
    }
    let started = Instant::now();
    let flats = flow.generate(args.n, &mut SeededRng::new(args.seed));
    let seconds = started.elapsed().as_secs_f64();
    if flats.iter().flatten().any(|v| !v.is_finite()) {
        bail!("generated weights are not finite: the flow diverged (retrain it)");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let widths = &spec.mlp.widths;
    let mut nets = Vec::with_capacity(flats.len());
    for (k, f) in flats.iter().enumerate() {
        let net = Mlp::from_flat(widths, f)?;
        net.to_params(&spec.mlp)
            .write(&args.out.join(format!("gen-{k:03}.safetensors")))?;
        nets.push(net);
    }
    let accuracy: Option<Vec<f64>> = (widths[0] == PIXELS && *widths.last().expect("widths") == 10)
        .then(|| {
            let d = Digits::load();
            nets.iter().map(|n| d.test_accuracy(n)).collect()
        });
    let stats = accuracy.as_ref().map(|a| mean_std(a));
    if args.json {
        let out = serde_json::json!({
            "networks": args.n,
            "seconds": seconds,
            "seconds_per_network": seconds / args.n as f64,
            "digits_test_accuracy": accuracy,
            "accuracy_mean": stats.map(|s| s.0),
            "accuracy_std": stats.map(|s| s.1),
            "out": args.out,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "generated {} networks {:?} in {:.2} s ({:.1} ms each){}; wrote {}",
            args.n,
            widths,
            seconds,
            1000.0 * seconds / args.n as f64,
            stats.map_or(String::new(), |(m, s)| format!(
                ", digits test accuracy {:.2} ± {:.2}%",
                100.0 * m,
                100.0 * s
            )),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

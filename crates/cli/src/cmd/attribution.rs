//! `genlab attribution` (alias `attribute`): data attribution on the user's own model and data.
//!
//! ```text
//! genlab attribution featurize --model M --data train.csv --out train.store [--shard i/n]
//! genlab attribution gather train.store                  # checks shards, writes features
//! genlab attribution featurize --model M --data query.csv --out query.store
//! genlab attribution score --train train.store --query query.store --out scores.safetensors
//! genlab attribution lds --scores scores.safetensors --masks masks.csv --outputs outputs.csv
//! ```
//!
//! Scale-out: run `featurize --shard i/n` for i = 0 … n−1 as independent processes on any
//! scheduler, e.g. a SLURM array
//! `sbatch --array=0-15 --wrap 'genlab attribution featurize --model M --data D --out S --shard $SLURM_ARRAY_TASK_ID/16'`,
//! then `genlab attribution gather S` once. A killed run keeps its finished chunks: rerun the
//! same command to finish it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_attribution::attributors::{self, Features, top_k};
use genlab_attribution::flowfeat::{FlowFn, featurize_flow, flow_params};
use genlab_attribution::lds::{lds, mean_se};
use genlab_attribution::project::{ProjKind, Projector};
use genlab_attribution::store::{self, Manifest, Shard, sha256_files};
use genlab_core::data::{Points, read_npy, read_points_csv};
use genlab_core::report::plot::{ScatterSeries, scatter};
use genlab_flow::FlowModel;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Projected per-example gradients of a `genlab flow train` model on points (CSV or NPY),
    /// written to a feature store (STORE/manifest.json + safetensors chunks). Resumable;
    /// `--shard i/n` computes one of n independent parts.
    Featurize(FeaturizeArgs),
    /// Checks a feature store (one configuration, no missing or duplicate shard) and writes
    /// its features as one safetensors matrix (default STORE/features.safetensors).
    Gather(GatherArgs),
    /// Attribution scores of every query for every training point (TRAK, Grad-Dot or
    /// Grad-Cos) from two gathered stores featurised with the same model and projector;
    /// writes the [queries × train] matrix as safetensors and prints each query's top-k.
    Score(ScoreArgs),
    /// The linear datamodeling score of a score matrix against your own retraining results:
    /// a subset-mask CSV (one row per subset, one 0/1 column per training point) and an
    /// output CSV (one row per subset, one column per query).
    Lds(LdsArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FnArg {
    /// The training loss at fixed noise draws (TRAK's DSM output function).
    Loss,
    /// The squared norm of the network output (D-TRAK).
    Sqnorm,
}

#[derive(clap::Args, Debug)]
pub struct FeaturizeArgs {
    /// Model directory written by `genlab flow train`.
    #[arg(long)]
    model: PathBuf,
    /// Points to featurise (.csv or .npy), in the model's data space.
    #[arg(long)]
    data: PathBuf,
    /// The feature store directory.
    #[arg(long)]
    out: PathBuf,
    /// Output function.
    #[arg(long = "fn", value_enum, default_value_t = FnArg::Sqnorm)]
    output: FnArg,
    /// Projection dimension k.
    #[arg(long, default_value_t = 1024)]
    k: usize,
    /// Projection: gaussian, rademacher, sjlt (4 non-zeros per column) or sjlt:C.
    #[arg(long, default_value = "sjlt")]
    proj: String,
    /// Noise draws (timesteps) per example; each draw's gradient is normalised, then summed.
    #[arg(long, default_value_t = 10)]
    draws: usize,
    /// Seed of the projection and of the noise draws (train and query stores must share it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Compute only part i of n (0-based), e.g. 3/16.
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Rows per chunk file (the unit kept after a kill).
    #[arg(long, default_value_t = 256)]
    chunk: usize,
}

#[derive(clap::Args, Debug)]
pub struct GatherArgs {
    /// The feature store directory.
    store: PathBuf,
    /// Output file (default STORE/features.safetensors).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// Φ (ΦᵀΦ + λI)⁻¹ φ(z).
    Trak,
    /// φᵢᵀ φ(z).
    GradDot,
    /// Cosine of φᵢ and φ(z).
    GradCos,
}

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// Feature store of the training points.
    #[arg(long)]
    train: PathBuf,
    /// Feature store of the queries.
    #[arg(long)]
    query: PathBuf,
    /// Output score matrix (.safetensors, tensor `scores` [queries, train]).
    #[arg(long)]
    out: PathBuf,
    /// Attribution method.
    #[arg(long, value_enum, default_value_t = MethodArg::Trak)]
    method: MethodArg,
    /// TRAK damping λ_r, relative to the kernel's mean eigenvalue.
    #[arg(long, default_value_t = 0.1)]
    lambda: f64,
    /// Top training points listed per query.
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Training points (2-D CSV/NPY): also draw OUT.topk.svg with query 0's top-k.
    #[arg(long)]
    train_data: Option<PathBuf>,
    /// Print the top-k as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct LdsArgs {
    /// Score matrix written by `score`.
    #[arg(long)]
    scores: PathBuf,
    /// Subset masks CSV: M rows × N columns of 0/1.
    #[arg(long)]
    masks: PathBuf,
    /// Measured outputs CSV: M rows × (number of queries) columns.
    #[arg(long)]
    outputs: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Featurize(a) => featurize(a, progress),
        Command::Gather(a) => gather(a),
        Command::Score(a) => score(a),
        Command::Lds(a) => lds_cmd(a),
    }
    .map(|()| ExitCode::SUCCESS)
}

fn read_points(path: &Path) -> anyhow::Result<Points> {
    Ok(match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => read_npy(path)?,
        _ => read_points_csv(path)?,
    })
}

fn featurize(a: FeaturizeArgs, mut progress: Progress) -> anyhow::Result<()> {
    let shard = Shard::parse(&a.shard)?;
    let Some(kind) = ProjKind::parse(&a.proj) else {
        bail!(
            "--proj `{}`: expected gaussian, rademacher, sjlt or sjlt:C",
            a.proj
        );
    };
    if a.k == 0 || a.draws == 0 {
        bail!("--k and --draws must be at least 1");
    }
    // Beyond these a run would take hours or exhaust memory, not give a better estimate.
    genlab_core::limits::at_most("--k", a.k, 1 << 20)?;
    genlab_core::limits::at_most("--draws", a.draws, 10_000)?;
    let device = burn::tensor::Device::flex().autodiff();
    let model = FlowModel::load(&a.model, &device)?;
    let data = read_points(&a.data)?;
    if data.d != model.dim() {
        bail!(
            "{} has {} columns but the model at {} was trained on {}-dimensional points",
            a.data.display(),
            data.d,
            a.model.display(),
            model.dim()
        );
    }
    genlab_core::limits::elements("rows × --k (the feature matrix)", &[data.len(), a.k])?;
    let p = flow_params(&model);
    let proj = Projector::new(kind, p, a.k, a.seed);
    let f = match a.output {
        FnArg::Loss => FlowFn::Loss,
        FnArg::Sqnorm => FlowFn::SqNorm,
    };
    let config = serde_json::json!({
        "model": sha256_files(&[a.model.join("model.json"), a.model.join("weights.bpk")])?,
        "data": sha256_files(std::slice::from_ref(&a.data))?,
        "fn": f, "projector": &proj, "draws": a.draws, "seed": a.seed, "params": p,
    });
    let manifest = Manifest::new(config, data.len(), a.k, 1);
    let rows = shard.rows(data.len(), 1);
    progress.set_prefix(format!("shard {}/{}", shard.index, shard.count));
    let computed = store::featurize_shard(&a.out, &manifest, shard, a.chunk, &mut progress, |r| {
        featurize_flow(&model, &data, r, f, a.draws, a.seed, &proj)
    })?;
    println!(
        "featurised rows {}..{} of {} into {} ({} computed now, {} already done; p = {p}, k = {})",
        rows.start,
        rows.end,
        data.len(),
        a.out.display(),
        computed,
        rows.len() - computed,
        a.k
    );
    Ok(())
}

fn gather(a: GatherArgs) -> anyhow::Result<()> {
    let (f, m) = store::gather(&a.store)?;
    let out = a
        .out
        .unwrap_or_else(|| a.store.join("features.safetensors"));
    let meta: HashMap<String, String> = [("config_hash".to_string(), m.config_hash.clone())].into();
    store::write_matrix(&out, "features", f.n, f.k, &f.data, meta)?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"rows": f.n, "k": f.k, "config_hash": m.config_hash, "out": out})
        );
    } else {
        println!(
            "gathered {} rows × k = {} into {} (config {})",
            f.n,
            f.k,
            out.display(),
            &m.config_hash[..12]
        );
    }
    Ok(())
}

/// A gathered store's features and manifest.
fn load_store(dir: &Path) -> anyhow::Result<(Features, Manifest)> {
    Ok(store::gather(dir)?)
}

fn score(a: ScoreArgs) -> anyhow::Result<()> {
    let (train, mt) = load_store(&a.train)?;
    let (query, mq) = load_store(&a.query)?;
    for key in ["model", "projector", "fn", "draws", "seed"] {
        if mt.config[key] != mq.config[key] {
            bail!(
                "the train and query stores differ in `{key}` ({} vs {}): featurise both with the same model, projector and seed",
                mt.config[key],
                mq.config[key]
            );
        }
    }
    if !(a.lambda >= 0.0 && a.lambda.is_finite()) {
        bail!("--lambda must be a finite number ≥ 0, got {}", a.lambda);
    }
    let scores = match a.method {
        MethodArg::Trak => attributors::trak(&train, &query, a.lambda)?,
        MethodArg::GradDot => attributors::grad_dot(&train, &query)?,
        MethodArg::GradCos => attributors::grad_cos(&train, &query)?,
    };
    let values: Vec<f32> = scores.iter().map(|v| *v as f32).collect();
    if values.iter().any(|v| !v.is_finite()) {
        bail!("the scores are not finite (features with NaN?); raise --lambda or check the model");
    }
    store::write_matrix(&a.out, "scores", query.n, train.n, &values, HashMap::new())?;
    let n = train.n;
    let tops: Vec<Vec<usize>> = (0..query.n)
        .map(|q| top_k(&scores[q * n..(q + 1) * n], a.top_k))
        .collect();
    if let Some(path) = &a.train_data {
        plot_top(path, &a.out, &tops[0])?;
    }
    if a.json {
        let rows: Vec<_> = tops
            .iter()
            .enumerate()
            .map(|(q, t)| serde_json::json!({"query": q, "top": t, "scores": t.iter().map(|&i| scores[q * n + i]).collect::<Vec<_>>()}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("wrote {} × {} scores to {}", query.n, n, a.out.display());
        for (q, t) in tops.iter().enumerate() {
            println!("query {q}: top {} training rows {:?}", t.len(), t);
        }
    }
    Ok(())
}

fn plot_top(path: &Path, out: &Path, top: &[usize]) -> anyhow::Result<()> {
    let pts = read_points(path)?;
    if pts.d != 2 {
        bail!(
            "--train-data: the top-k plot needs 2-D points, {} has {} columns",
            path.display(),
            pts.d
        );
    }
    let xy = |i: usize| (pts.row(i)[0], pts.row(i)[1]);
    let series = [
        ScatterSeries {
            label: "training points".into(),
            points: (0..pts.len()).map(xy).collect(),
            colour: 7,
        },
        ScatterSeries {
            label: "top-k of query 0".into(),
            points: top.iter().map(|&i| xy(i)).collect(),
            colour: 3,
        },
    ];
    let svg = out.with_extension("topk.svg");
    scatter(&svg, "Query 0: top-attributed training points", &series)?;
    println!("top-k plot: {}", svg.display());
    Ok(())
}

fn read_matrix_csv(path: &Path) -> anyhow::Result<Vec<Vec<f64>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.split(',')
                .map(|c| {
                    c.trim().parse::<f64>().map_err(|_| {
                        anyhow::anyhow!(
                            "{}:{}: `{}` is not a number",
                            path.display(),
                            i + 1,
                            c.trim()
                        )
                    })
                })
                .collect()
        })
        .collect()
}

fn lds_cmd(a: LdsArgs) -> anyhow::Result<()> {
    let (nq, n, scores, _) = store::read_matrix(&a.scores, "scores")?;
    let masks: Vec<Vec<bool>> = read_matrix_csv(&a.masks)?
        .into_iter()
        .map(|r| r.into_iter().map(|v| v != 0.0).collect())
        .collect();
    let outputs = read_matrix_csv(&a.outputs)?;
    if let Some(bad) = masks.iter().position(|m| m.len() != n) {
        bail!(
            "{}: row {} has {} columns, the scores have {n} training points",
            a.masks.display(),
            bad + 1,
            masks[bad].len()
        );
    }
    if let Some(bad) = outputs.iter().position(|o| o.len() != nq) {
        bail!(
            "{}: row {} has {} columns, the scores have {nq} queries",
            a.outputs.display(),
            bad + 1,
            outputs[bad].len()
        );
    }
    let s: Vec<f64> = scores.iter().map(|v| *v as f64).collect();
    let per_query = lds(&s, &masks, &outputs)?;
    let (mean, se) = mean_se(&per_query);
    if a.json {
        println!(
            "{}",
            serde_json::json!({"lds": mean, "se": se, "per_query": per_query, "subsets": masks.len()})
        );
    } else {
        println!(
            "LDS {mean:.4} ± {se:.4} (s.e. over {} queries, {} subsets)",
            per_query.len(),
            masks.len()
        );
    }
    Ok(())
}

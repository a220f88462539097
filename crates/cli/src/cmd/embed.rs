//! `genlab embed`: region-prompted image–text embeddings (VIRTUE): train, query an image region against captions, index and search.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_embed::caption::{describe_all, queries};
use genlab_embed::embedder::Arm;
use genlab_embed::io::{read_mask, read_png, write_png};
use genlab_embed::model::{EmbedModel, ImageIndex, train_model};
use genlab_embed::scene::BBox;
use genlab_embed::seg::Prompt;
use genlab_embed::train::TrainConfig;

use super::output::{write_losses, write_or_print};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a region-prompted embedder on generated SCaR-lite scenes: the frozen segmentation
    /// analogue (mask pre-training), then the general phase (unprompted + prompted retrieval)
    /// and the SCaR phase (hard negatives). Writes OUT/model.json, OUT/seg.bpk,
    /// OUT/embedder.bpk and OUT/losses.csv; phases checkpoint to OUT (Ctrl-C, then --resume).
    Train(TrainArgs),
    /// Rank captions (one per line, in the SCaR-lite grammar) for a region of an image, given
    /// as a box, a point or a mask.
    Query(QueryArgs),
    /// Embed every PNG of a folder (unprompted: the 3×3 point grid) into an index file.
    Index(IndexArgs),
    /// Rank the indexed images for a caption.
    Search(SearchArgs),
    /// Write SCaR-lite examples: PNGs, each with its box, ground-truth caption and the ten
    /// candidates (to try `query` on, or to see the benchmark).
    Sample(SampleArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Continue the run checkpointed in OUT, interrupted or finished. A larger --scar-steps
    /// trains the SCaR phase longer (its schedule spans the new total); a larger
    /// --general-steps needs a new OUT, as the SCaR phase was trained on the shorter one.
    #[arg(long)]
    resume: bool,
    /// Arm: virtue (region + scene tokens), global-only, crop-only or region-only.
    #[arg(long, default_value = "virtue")]
    arm: String,
    /// Generated training queries.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.queries)]
    queries: usize,
    /// Mask pre-training steps of the segmentation analogue.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.seg_steps)]
    seg_steps: u64,
    /// General-phase steps.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.general_steps)]
    general_steps: u64,
    /// SCaR-phase steps.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.scar_steps)]
    scar_steps: u64,
    /// Queries per batch.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.batch)]
    batch: usize,
    /// Width of every layer.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.embed.d)]
    width: usize,
    /// Seed of data, initialisation and batches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// Model directory written by `genlab embed train`.
    #[arg(long)]
    model: PathBuf,
    /// The image (PNG, any size; resized to 32×32).
    #[arg(long)]
    image: PathBuf,
    /// Box prompt `x1,y1,x2,y2` in the image's pixels.
    #[arg(long, conflicts_with_all = ["point", "mask"], required_unless_present_any = ["point", "mask"])]
    r#box: Option<String>,
    /// Point prompt `x,y` in the image's pixels (the query text gets a small box around it).
    #[arg(long, conflicts_with = "mask")]
    point: Option<String>,
    /// Mask prompt: a PNG of the image's size, non-black inside the region.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Candidate captions, one per line.
    #[arg(long)]
    candidates: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// Model directory.
    #[arg(long)]
    model: PathBuf,
    /// Folder of PNG images.
    #[arg(long)]
    images: PathBuf,
    /// Index file to write (JSON).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Index written by `genlab embed index`.
    #[arg(long)]
    index: PathBuf,
    /// The caption to search for.
    #[arg(long)]
    caption: String,
    /// How many results.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Number of examples.
    #[arg(short, default_value_t = 8)]
    n: usize,
    /// Seed (eval stream).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(a) => train_cmd(a, progress),
        Command::Query(a) => query_cmd(a),
        Command::Index(a) => index_cmd(a),
        Command::Search(a) => search_cmd(a),
        Command::Sample(a) => sample_cmd(a),
    }
}

fn train_cmd(a: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let Some(arm) = Arm::parse(&a.arm) else {
        bail!(
            "--arm must be virtue, global-only, crop-only or region-only, not `{}`",
            a.arm
        );
    };
    let mut embed = TrainConfig::DEFAULT.embed;
    embed.d = a.width;
    let config = TrainConfig {
        embed,
        queries: a.queries,
        seg_steps: a.seg_steps,
        general_steps: a.general_steps,
        scar_steps: a.scar_steps,
        batch: a.batch,
        seed: a.seed,
        ..TrainConfig::DEFAULT
    };
    config.validate()?;
    if config.seg_steps == 0 || config.general_steps == 0 || config.scar_steps == 0 {
        bail!("every phase needs at least one step");
    }
    if !a.resume && a.out.join("general.ckpt").exists() {
        bail!(
            "{} already holds a training run; pass --resume to continue it or choose another --out",
            a.out.display()
        );
    }
    refuse_longer_general_phase(&a.out, &config, a.resume)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    progress.set_prefix("embed train");
    let (model, general, scar) = train_model(arm, &config, Some(&a.out), a.resume, &mut progress)?;
    model.save(&a.out)?;
    write_losses(&general, &a.out)?;
    let last = write_losses(&scar, &a.out.join("scar")).or_else(|_| -> anyhow::Result<f64> {
        Ok(scar.losses().last().map_or(f64::NAN, |l| l.1))
    })?;
    println!(
        "trained {} on {} SCaR-lite queries ({} + {} steps, final SCaR loss {last:.4}); model in {}",
        arm.name(),
        config.queries,
        config.general_steps,
        config.scar_steps,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A finished run's SCaR phase was trained on its general phase: extending the general phase
/// in place would leave that SCaR checkpoint behind, so it is refused before any training.
fn refuse_longer_general_phase(
    out: &Path,
    config: &TrainConfig,
    resume: bool,
) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(out.join("model.json")) else {
        return Ok(());
    };
    let stored: serde_json::Value = serde_json::from_str(&text)?;
    match stored["config"]["general_steps"].as_u64() {
        Some(old) if resume && old != config.general_steps => bail!(
            "--general-steps {old} → {}: the SCaR phase in {} was trained on the {old}-step \
             general phase; use a new --out",
            config.general_steps,
            out.display()
        ),
        _ => Ok(()),
    }
}
fn numbers(s: &str, n: usize, what: &str) -> anyhow::Result<Vec<f32>> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("{what} `{s}`: expected {n} comma-separated numbers"))?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        bail!("{what} `{s}`: expected {n} comma-separated finite numbers");
    }
    Ok(v)
}

fn read_captions(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if lines.is_empty() {
        bail!("{}: no candidate captions (one per line)", path.display());
    }
    Ok(lines)
}

fn query_cmd(a: QueryArgs) -> anyhow::Result<ExitCode> {
    let captions = read_captions(&a.candidates)?;
    let image = read_png(&a.image)?;
    let (prompt, bbox) = if let Some(b) = &a.r#box {
        let v = numbers(b, 4, "--box")?;
        let b = image.map_box(&BBox {
            x1: v[0],
            y1: v[1],
            x2: v[2],
            y2: v[3],
        })?;
        (Prompt::Box(b), b)
    } else if let Some(p) = &a.point {
        let v = numbers(p, 2, "--point")?;
        let prompt = image.map_point(v[0], v[1])?;
        let Prompt::Point(x, y) = prompt else {
            unreachable!()
        };
        // The query text carries a small box around the point.
        let b = BBox {
            x1: (x - 3.0).max(0.0),
            y1: (y - 3.0).max(0.0),
            x2: (x + 3.0).min(32.0),
            y2: (y + 3.0).min(32.0),
        };
        (prompt, b)
    } else if let Some(m) = &a.mask {
        read_mask(m, &image)?
    } else {
        bail!("give one prompt: --box, --point or --mask");
    };
    let model = EmbedModel::load(&a.model)?;
    let scores = model.score(&image.resized(), prompt, bbox, &captions)?;
    let mut order: Vec<usize> = (0..captions.len()).collect();
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]));
    if a.json {
        let ranked: Vec<_> = order
            .iter()
            .map(|&i| serde_json::json!({ "caption": captions[i], "score": scores[i], "line": i + 1 }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&ranked)?);
    } else {
        for (r, &i) in order.iter().enumerate() {
            println!("{:>2}. {:+.4}  {}", r + 1, scores[i], captions[i]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn index_cmd(a: IndexArgs) -> anyhow::Result<ExitCode> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.images)
        .with_context(|| format!("reading {}", a.images.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no PNG images", a.images.display());
    }
    let model = EmbedModel::load(&a.model)?;
    let images: Vec<Vec<f32>> = files
        .iter()
        .map(|f| read_png(f).map(|i| i.resized()))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&[f32]> = images.iter().map(Vec::as_slice).collect();
    let embeddings = model.embed_images(&refs)?;
    let model_dir = std::fs::canonicalize(&a.model).unwrap_or(a.model.clone());
    let index = ImageIndex {
        model: model_dir,
        files,
        embeddings,
    };
    genlab_core::fsx::write_json(&a.out, &index)?;
    eprintln!(
        "indexed {} images into {}",
        index.files.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn search_cmd(a: SearchArgs) -> anyhow::Result<ExitCode> {
    let index: ImageIndex = genlab_core::fsx::read_json(&a.index)?;
    if index.files.is_empty() || index.files.len() != index.embeddings.len() {
        bail!(
            "{}: not an index written by `genlab embed index`",
            a.index.display()
        );
    }
    let model = EmbedModel::load(&index.model)?;
    let t = model.embed_texts(std::slice::from_ref(&a.caption))?;
    let mut order = index.rank(&t[0]);
    order.truncate(a.top.max(1));
    if a.json {
        let ranked: Vec<_> = order
            .iter()
            .map(|&(i, s)| serde_json::json!({ "file": index.files[i], "score": s }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&ranked)?);
    } else {
        for (r, &(i, s)) in order.iter().enumerate() {
            println!("{:>2}. {:+.4}  {}", r + 1, s, index.files[i].display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(a: SampleArgs) -> anyhow::Result<ExitCode> {
    if a.n == 0 {
        bail!("-n must be at least 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let qs = queries(a.seed, 1, a.n);
    let mut listing = String::new();
    for (i, q) in qs.iter().enumerate() {
        let name = format!("scene{i:03}");
        write_png(&a.out.join(format!("{name}.png")), &q.scene.render())?;
        let b = q.scene.objects[q.target].bbox();
        let candidates = q.candidates().join("\n") + "\n";
        genlab_core::fsx::atomic_write(
            &a.out.join(format!("{name}.captions.txt")),
            candidates.as_bytes(),
        )?;
        listing.push_str(&format!(
            "{name}.png\tbox {},{},{},{}\t{}\t(whole image: {})\n",
            b.x1,
            b.y1,
            b.x2,
            b.y2,
            q.truth.text(),
            describe_all(&q.scene)
        ));
    }
    write_or_print(Some(&a.out.join("queries.tsv")), &listing, "the query list")?;
    eprintln!(
        "wrote {} SCaR-lite examples to {} (each: PNG, box, ten candidates with the truth first)",
        a.n,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

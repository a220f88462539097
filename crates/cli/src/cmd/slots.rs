//! `genlab slots`: object-centric slots (CODA): learn slots on a folder of images, segment images into object masks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_core::data::Cache;
use genlab_slots::coda::{Arm, SlotSpec};
use genlab_slots::evaluate::segment;
use genlab_slots::images::load_folder;
use genlab_slots::picture::{Rgb, save_label_png};
use genlab_slots::pretrain::{PretrainConfig, load_or_train};
use genlab_slots::segmentation::discovery;
use genlab_slots::train::{SlotRecord, SlotTrainConfig, load, save, tail_mean, train_slots};

use super::output::{RunDir, write_losses};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Learn object slots on a folder of PNG images (any one size; resized to 32×32). The
    /// decoder is a small caption-conditioned pixel diffusion model pretrained once on
    /// generated scenes and cached (a few minutes the first time); slot attention, the slot
    /// map and the decoder's cross-attention K/V/O then learn on your images with CODA's
    /// objective (registers + stop-gradient contrastive term, or another arm). Writes
    /// OUT/model.json, OUT/weights.bpk, OUT/losses.csv and a resumable OUT/checkpoint.bin.
    Train(TrainArgs),
    /// Segment a folder of PNG images with a trained slot model: writes OUT/masks/NAME.png
    /// (pixel value = slot index, at the image's own size), OUT/overlays/NAME.png and an
    /// overlay page OUT/index.html. With --masks (PNG label images of the same names),
    /// also reports FG-ARI, mBO and mIoU.
    Segment(SegmentArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Folder of PNG images (all the same size).
    #[arg(long)]
    images: PathBuf,
    /// Arm: coda (registers + contrastive), registers, contrastive, baseline, coda-no-sg.
    #[arg(long, default_value = "coda")]
    arm: String,
    /// Number of slots.
    #[arg(long, default_value_t = 6)]
    slots: usize,
    /// Slot-learning steps.
    #[arg(long, default_value_t = 800)]
    steps: u64,
    /// Minibatch size (even).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Learning rate (AdamW, short warm-up, then constant).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Contrastive weight λ_cl.
    #[arg(long, default_value_t = 0.05)]
    lambda: f64,
    /// Steps before the contrastive term starts.
    #[arg(long, default_value_t = 300)]
    cl_warmup: u64,
    /// Pre-training steps of the (cached) decoder.
    #[arg(long, default_value_t = 3000)]
    decoder_steps: u64,
    /// Seed (decoder, initialisation, batches).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct SegmentArgs {
    /// Model directory written by `genlab slots train`.
    #[arg(long)]
    model: PathBuf,
    /// Folder of PNG images to segment.
    #[arg(long)]
    images: PathBuf,
    /// Optional folder of ground-truth label PNGs (same file names; 0 = background).
    #[arg(long)]
    masks: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the slot-initialisation noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the summary (and metrics) as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Segment(args) => segment_cmd(args),
    }
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let Some(arm) = Arm::parse(&args.arm) else {
        bail!(
            "unknown arm `{}` (arms: {})",
            args.arm,
            Arm::ALL.map(Arm::name).join(", ")
        );
    };
    let decoder_config = PretrainConfig::standard(args.seed, args.decoder_steps);
    let size = decoder_config.spec.size;
    let (scenes, files, _) = load_folder(&args.images, None, size)?;
    if files.len() < 2 {
        bail!(
            "{}: need at least 2 images to learn slots",
            args.images.display()
        );
    }
    let config = SlotTrainConfig {
        spec: SlotSpec {
            size,
            slots: args.slots,
            width: 64,
            iters: 3,
            context: decoder_config.spec.width,
        },
        arm,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        lambda: args.lambda,
        cl_warmup: args.cl_warmup,
        seed: args.seed,
    };
    config.validate()?;
    args.run.refuse_to_restart()?;
    std::fs::create_dir_all(&args.run.out)
        .with_context(|| format!("creating {}", args.run.out.display()))?;
    progress.set_prefix("slots decoder");
    let cache = Cache::from_env();
    let (decoder, record, cached) = load_or_train(cache.dir(), &decoder_config, &mut progress)?;
    if !cached {
        progress.say(&format!(
            "pre-trained the decoder in {:.0} s (cached for next time)",
            record.seconds
        ));
    }
    progress.set_prefix("slots train");
    let trained = train_slots(
        &scenes,
        &decoder,
        &config,
        Some(&args.run.out),
        args.run.resume,
        &mut progress,
    )?;
    let slot_record = SlotRecord {
        config,
        decoder: decoder_config.key(),
        decoder_blocks: decoder_config.spec.blocks,
        final_err_pos: tail_mean(&trained.history, "err_pos"),
    };
    save(&args.run.out, &slot_record, &trained.model)?;
    write_losses(&trained.history, &args.run.out)?;
    println!(
        "learned {} slots ({}) on {} images for {} steps (final error {:.4}); model in {}",
        args.slots,
        arm.name(),
        files.len(),
        args.steps,
        slot_record.final_err_pos,
        args.run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn segment_cmd(args: SegmentArgs) -> anyhow::Result<ExitCode> {
    let (record, model) = load(&args.model)?;
    let size = record.config.spec.size;
    let (scenes, files, (w, h)) = load_folder(&args.images, args.masks.as_deref(), size)?;
    let preds = segment(&model, &scenes.images, size, args.seed);
    let (mask_dir, overlay_dir) = (args.out.join("masks"), args.out.join("overlays"));
    for dir in [&mask_dir, &overlay_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut names = Vec::with_capacity(files.len());
    for (i, (file, pred)) in files.iter().zip(&preds).enumerate() {
        let name = file
            .file_name()
            .expect("listed files have names")
            .to_owned();
        let full = upsample_labels(pred, size, w, h);
        save_label_png(&full, w, h, &mask_dir.join(&name))?;
        let zoom = (128 / size).max(1);
        Rgb::overlay(scenes.image(i), pred, size, size)
            .scaled(zoom)
            .save_png(&overlay_dir.join(&name))?;
        names.push(name.to_string_lossy().into_owned());
    }
    write_page(&args.out, &names)?;
    let metrics = args.masks.as_ref().map(|_| {
        let truths: Vec<&[u8]> = (0..scenes.len()).filter_map(|i| scenes.mask(i)).collect();
        discovery(&preds, &truths)
    });
    if args.json {
        let mut v = serde_json::json!({
            "images": files.len(),
            "slots": record.config.spec.slots,
            "out": args.out,
        });
        if let Some(d) = metrics {
            v["fg_ari"] = d.fg_ari.into();
            v["mbo"] = d.mbo.into();
            v["miou"] = d.miou.into();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "segmented {} images into {} slots; masks, overlays and index.html in {}",
            files.len(),
            record.config.spec.slots,
            args.out.display()
        );
        if let Some(d) = metrics {
            println!(
                "FG-ARI {:.3}  mBO {:.3}  mIoU {:.3}",
                d.fg_ari, d.mbo, d.miou
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Nearest-neighbour labels from `size × size` to `w × h`.
fn upsample_labels(labels: &[usize], size: usize, w: usize, h: usize) -> Vec<usize> {
    (0..w * h)
        .map(|p| labels[((p / w) * size / h) * size + (p % w) * size / w])
        .collect()
}

fn write_page(out: &Path, names: &[String]) -> anyhow::Result<()> {
    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>genlab slots segment</title>\
         <style>body{font-family:sans-serif}figure{display:inline-block;margin:6px}\
         img{image-rendering:pixelated;width:128px}</style><h1>Slot masks</h1>\n",
    );
    for n in names {
        let esc = n
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;");
        html.push_str(&format!(
            "<figure><img src=\"overlays/{esc}\"><figcaption>{esc}</figcaption></figure>\n"
        ));
    }
    genlab_core::fsx::atomic_write(&out.join("index.html"), html.as_bytes())?;
    Ok(())
}

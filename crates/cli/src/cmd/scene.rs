//! `genlab scene`: camera-controlled generation with a static 3D memory (3DScenePrompt): render
//! synthetic worlds, train the conditional generator, generate frames for new cameras.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_core::data::{Points, read_npy, write_npy};
use genlab_core::fsx;
use genlab_scene::generator::{
    self, Arm, Episode, GenSpec, MaskSource, TrainConfig, fingerprint, generate,
};
use genlab_scene::io::{
    read_cameras, read_sequence, write_cameras, write_previews, write_sequence,
};
use genlab_scene::mask::{MaskParams, estimate};
use genlab_scene::memory::Geometry;
use genlab_scene::path::{PathKind, Scenario, Sequence};

use super::output::{RunDir, write_losses};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Render a synthetic world (a textured room, static boxes, two moving boxes) along a camera
    /// path. Writes OUT/input/ (the video) and OUT/target/ (the next chunk's truth), each with
    /// frames.npy (L × 3·H·W, channel-major RGB), depth.npy, dynamic.npy (true mask),
    /// instance.npy, cameras.json, frames.png and video.png (animated PNG). OUT/target/
    /// cameras.json is a ready `--cameras` file for `generate`.
    Render(RenderArgs),
    /// Train the conditional generator on rendered revisit worlds (static memory + temporal
    /// window, or a baseline arm). Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv and a
    /// resumable OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume).
    Train(TrainArgs),
    /// Generate the next chunk for new cameras from an input sequence (a rendered one or your
    /// own: frames.npy + depth.npy + cameras.json, see `render`). Builds the static memory
    /// (estimated dynamic mask, cached in OUT/ per input video), then generates frame by frame.
    /// Writes OUT/frames.npy, OUT/cameras.json, OUT/frames.png and OUT/video.png.
    Generate(GenerateArgs),
}

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// World seed (layout, textures, trajectories).
    #[arg(long)]
    world: u64,
    /// Camera path: revisit (sweep, leave, come back in the target chunk) or orbit.
    #[arg(long, default_value = "revisit")]
    path: PathKind,
    /// Input frames L.
    #[arg(long, default_value_t = 32)]
    frames: usize,
    /// Target chunk frames T.
    #[arg(long, default_value_t = 8)]
    chunk: usize,
    /// Image size (square, pixels).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Conditioning arm: memory (ours), memory-nomask, raw-frames, temporal, cameractrl.
    #[arg(long, default_value = "memory", value_parser = parse_arm)]
    arm: Arm,
    /// Training worlds (rendered revisit episodes).
    #[arg(long, default_value_t = 32)]
    worlds: usize,
    /// First world seed of the training worlds.
    #[arg(long, default_value_t = 0)]
    first_world: u64,
    /// Input frames per world.
    #[arg(long, default_value_t = 32)]
    frames: usize,
    /// Target frames per world.
    #[arg(long, default_value_t = 8)]
    chunk: usize,
    /// Render size (the generator works at size / 2).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// U-Net base width.
    #[arg(long, default_value_t = 16)]
    base: usize,
    /// Frames retrieved per target camera.
    #[arg(long, default_value_t = 7)]
    n: usize,
    /// Optimisation steps.
    #[arg(long, default_value_t = 250)]
    steps: u64,
    /// Target frames per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    /// Seed of initialisation and batches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Model directory written by `genlab scene train`.
    #[arg(long)]
    model: PathBuf,
    /// Input sequence directory (frames.npy, depth.npy, cameras.json).
    #[arg(long)]
    input: PathBuf,
    /// Target cameras (a cameras.json of the same image size as the input).
    #[arg(long)]
    cameras: PathBuf,
    /// Frames retrieved per target camera (default: the model's).
    #[arg(long)]
    n: Option<usize>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_arm(s: &str) -> Result<Arm, String> {
    Arm::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
        let names: Vec<&str> = Arm::ALL.iter().map(|a| a.name()).collect();
        format!("unknown arm `{s}` ({})", names.join(", "))
    })
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Render(args) => render(args),
        Command::Train(args) => train(args, progress),
        Command::Generate(args) => generate_cmd(args, progress),
    }
}

fn check_sizes(frames: usize, chunk: usize, size: usize) -> anyhow::Result<()> {
    if frames < 2 || chunk == 0 {
        bail!("--frames must be at least 2 and --chunk at least 1");
    }
    if !(8..=512).contains(&size) || size % 8 != 0 {
        bail!("--size must be a multiple of 8 between 8 and 512");
    }
    genlab_core::limits::elements("frames × size²", &[frames + chunk, size, size, 3])?;
    Ok(())
}

fn render(args: RenderArgs) -> anyhow::Result<ExitCode> {
    check_sizes(args.frames, args.chunk, args.size)?;
    let sc = Scenario::new(args.world, args.path, args.frames, args.chunk, args.size);
    let (input, target) = sc.sequences();
    write_sequence(&args.out.join("input"), &input)?;
    write_sequence(&args.out.join("target"), &target)?;
    fsx::write_json(&args.out.join("world.json"), &sc.world)?;
    let dynamic_px: usize = input.dynamic.iter().flatten().map(|&d| d as usize).sum();
    if args.json {
        let summary = serde_json::json!({
            "world": args.world, "path": args.path, "size": args.size,
            "input_frames": input.len(), "target_frames": target.len(),
            "dynamic_pixels": dynamic_px, "out": args.out,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "rendered world {} ({:?} path): {} input + {} target frames at {}×{} ({} dynamic pixels in the input) into {}",
            args.world,
            args.path,
            input.len(),
            target.len(),
            args.size,
            args.size,
            dynamic_px,
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn train(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    check_sizes(args.frames, args.chunk, args.size)?;
    if args.worlds == 0 || args.steps == 0 || args.batch == 0 || args.base == 0 || args.n == 0 {
        bail!("--worlds, --steps, --batch, --base and --n must be at least 1");
    }
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        bail!("--lr must be a positive number");
    }
    // The rendered worlds, the deepest U-Net layer's weights (4·base channels, 3×3) and a
    // batch of first-level activations.
    let half = args.size / 2;
    let sizes: [(&str, &[usize]); 3] = [
        (
            "--worlds × frames × size²",
            &[
                args.worlds,
                args.frames + args.chunk,
                args.size,
                args.size,
                3,
            ],
        ),
        ("(4·--base)² × 3 × 3", &[4 * args.base, 4 * args.base, 9]),
        (
            "--batch × --base × (size/2)²",
            &[args.batch, args.base, half, half],
        ),
    ];
    for (what, dims) in sizes {
        genlab_core::limits::elements(what, dims)?;
    }
    args.run.refuse_to_restart()?;
    std::fs::create_dir_all(&args.run.out)
        .with_context(|| format!("creating {}", args.run.out.display()))?;
    progress.say(&format!(
        "rendering {} worlds and building their memories",
        args.worlds
    ));
    let params = MaskParams::default();
    let episodes: Vec<Episode> = (args.first_world..args.first_world + args.worlds as u64)
        .map(|w| {
            let sc = Scenario::new(w, PathKind::Revisit, args.frames, args.chunk, args.size);
            let (i, t) = sc.sequences();
            Episode::new(i, t, &params, Geometry::Oracle)
        })
        .collect();
    let spec = GenSpec {
        arm: args.arm,
        factor: 2,
        size: args.size / 2,
        base: args.base,
        n_retrieve: args.n,
        mask: MaskSource::Estimated,
    };
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
    };
    let checkpoint = args.run.checkpoint();
    let (net, history) = generator::train(
        &spec,
        &episodes,
        &config,
        Some(&checkpoint),
        args.run.resume,
        &mut progress,
    )?;
    generator::save(&args.run.out, &spec, &net)?;
    let last = write_losses(&history, &args.run.out)?;
    println!(
        "trained the {} generator on {} worlds for {} steps (final loss {last:.4}); model in {}",
        args.arm.name(),
        args.worlds,
        args.steps,
        args.run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The estimated dynamic mask of `input`, read from OUT's cache when it was computed for this
/// very video, else computed and cached.
fn cached_mask(
    input: &Sequence,
    out: &std::path::Path,
    progress: &Progress,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let key = fingerprint(input);
    let (meta, data) = (out.join("memory-cache.json"), out.join("memory-mask.npy"));
    let hw = input.width * input.height;
    if meta.exists() && data.exists() {
        let cached: serde_json::Value = fsx::read_json(&meta)?;
        if cached["fingerprint"] == key {
            let points = read_npy(&data)?;
            if points.d == hw && points.len() == input.len() {
                progress.say("memory: reusing the cached dynamic mask of this input");
                return Ok(points
                    .data
                    .chunks(hw)
                    .map(|f| f.iter().map(|&v| u8::from(v > 0.5)).collect())
                    .collect());
            }
        }
    }
    progress.say("memory: estimating the dynamic mask (cached for the next run)");
    let est = estimate(input, &MaskParams::default());
    let flat: Vec<f32> = est.mask.iter().flatten().map(|&v| v as f32).collect();
    write_npy(
        &data,
        &Points {
            d: hw,
            data: flat,
            labels: None,
        },
    )?;
    fsx::write_json(
        &meta,
        &serde_json::json!({ "fingerprint": key, "object_level": est.object_level }),
    )?;
    Ok(est.mask)
}

fn generate_cmd(args: GenerateArgs, progress: Progress) -> anyhow::Result<ExitCode> {
    let (spec, net) = generator::load(&args.model)?;
    let input = read_sequence(&args.input)?;
    let targets = read_cameras(&args.cameras)?;
    let want = (spec.size * spec.factor, spec.size * spec.factor);
    if (input.width, input.height) != want {
        bail!(
            "{}: frames are {}×{} but the model takes {}×{} inputs",
            args.input.display(),
            input.width,
            input.height,
            want.0,
            want.1
        );
    }
    let t0 = targets.cameras[0];
    if (t0.width, t0.height) != (input.width, input.height) {
        bail!(
            "{}: cameras are for {}×{} images but the input frames are {}×{}",
            args.cameras.display(),
            t0.width,
            t0.height,
            input.width,
            input.height
        );
    }
    if input.len() < generator::WINDOW {
        bail!("the input needs at least {} frames", generator::WINDOW);
    }
    if input.depth.iter().flatten().any(|d| d.is_nan() || *d < 0.0) {
        bail!(
            "{}: depth must be non-negative numbers",
            args.input.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mask = cached_mask(&input, &args.out, &progress)?;
    let target = Sequence {
        width: input.width,
        height: input.height,
        cameras: targets.cameras.clone(),
        ..Sequence::default()
    };
    let episode = Episode::with_mask(input, target, mask, Geometry::Oracle);
    let n = args.n.unwrap_or(spec.n_retrieve).max(1);
    let frames = generate(
        &net,
        &spec,
        std::slice::from_ref(&episode),
        n,
        MaskSource::Estimated,
    )
    .remove(0);
    let s = spec.size;
    let flat: Vec<f32> = frames.iter().flatten().copied().collect();
    write_npy(
        &args.out.join("frames.npy"),
        &Points {
            d: 3 * s * s,
            data: flat,
            labels: None,
        },
    )?;
    let small: Vec<_> = targets.cameras.iter().map(|c| c.resized(s, s)).collect();
    write_cameras(&args.out, &small, &targets.times)?;
    write_previews(&args.out, &frames, s, s)?;
    if args.json {
        let summary = serde_json::json!({
            "arm": spec.arm, "frames": frames.len(), "size": s, "n": n, "out": args.out,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "generated {} frames at {}×{} with the {} generator (n = {n}) into {}",
            frames.len(),
            s,
            s,
            spec.arm.name(),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

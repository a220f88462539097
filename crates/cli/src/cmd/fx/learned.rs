//! The dataset, training and batch-estimation commands of `genlab fx`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use genlab_core::train::Observer;
use genlab_core::{Error, fsx};
use genlab_fx::engine::resample::resample;
use genlab_fx::engine::spec::{EFFECTS, effect};
use genlab_fx::engine::wav::{self, SampleFormat};
use genlab_fx::estimate::dataset::Example;
use genlab_fx::estimate::learned::{Method, Model, PairOptions, estimate, user_example};
use genlab_fx::estimate::metrics::rendered_distance;
use genlab_fx::estimate::objective::Pair;
use genlab_fx::estimate::regression::{self, RegressionConfig};
use genlab_fx::estimate::search::SearchOptions;
use genlab_fx::estimate::summary::{Row, page, spectrogram_bmp, totals};
use genlab_fx::estimate::toolcaller::audio::FeatureConfig;
use genlab_fx::estimate::toolcaller::corpus::Corpus;
use genlab_fx::estimate::toolcaller::train::{TrainConfig, train_in};
use genlab_fx::sources::dry_source;
use genlab_fx::tools::parse::parse_calls;
use genlab_fx::tools::validate::validate;
use genlab_fx::{AudioBuffer, Chain, Policy};

use genlab_fx::estimate::analysis_window;

use super::{DatasetArgs, EstimateArgs, TrainArgs};
use crate::progress::Progress;

fn wavs_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    out.sort();
    Ok(out)
}

pub fn dataset(a: DatasetArgs, mut progress: Progress) -> anyhow::Result<()> {
    if a.pairs == 0 || a.sample_rate < 8000 || !(a.seconds > 0.0 && a.seconds <= 60.0) {
        bail!("need --pairs ≥ 1, --sample-rate ≥ 8000 and --seconds in (0, 60]");
    }
    let effects = match &a.effects {
        None => EFFECTS.iter().collect(),
        Some(list) => list
            .split(',')
            .map(|n| {
                effect(n.trim())
                    .with_context(|| format!("unknown effect `{n}` (see `genlab fx tools`)"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let clips: Vec<(String, AudioBuffer)> = match &a.dry {
        Some(dir) => {
            let files = wavs_in(dir)?;
            if files.is_empty() {
                bail!("{} holds no .wav files", dir.display());
            }
            files
                .iter()
                .map(|f| {
                    let name = f
                        .file_stem()
                        .map_or("clip".into(), |s| s.to_string_lossy().to_string());
                    Ok((name, resample(&wav::read(f)?, a.sample_rate)?))
                })
                .collect::<anyhow::Result<_>>()?
        }
        None => {
            let cache = genlab_core::data::Cache::from_env();
            let mut clips = Vec::new();
            for name in a.sources.split(',').map(str::trim) {
                for k in 0..2 {
                    let clip = dry_source(
                        name,
                        a.sample_rate,
                        4.0 * a.seconds,
                        a.seed + k,
                        Some(&cache),
                    )?;
                    clips.push((name.to_string(), clip));
                }
            }
            clips
        }
    };
    let options = PairOptions {
        min_effects: a.min_effects,
        max_effects: a.max_effects,
        seconds: a.seconds,
        effects,
    };
    progress.start("generate pairs", a.pairs as u64);
    let mut manifest = Vec::with_capacity(a.pairs);
    for i in 0..a.pairs {
        let e = user_example(&clips, &options, a.seed, i)?;
        let id = format!("{i:04}");
        wav::write(
            &a.out.join(format!("{id}.dry.wav")),
            &e.dry,
            SampleFormat::Float32,
        )?;
        wav::write(
            &a.out.join(format!("{id}.wet.wav")),
            &e.wet,
            SampleFormat::Float32,
        )?;
        fsx::atomic_write(
            &a.out.join(format!("{id}.chain.json")),
            e.chain.to_json().as_bytes(),
        )?;
        manifest
            .push(serde_json::json!({"id": id, "source": e.source, "effects": names(&e.chain)}));
        progress.step(i as u64 + 1, &[]);
    }
    progress.finish();
    fsx::write_json(
        &a.out.join("manifest.json"),
        &serde_json::json!({"seed": a.seed, "sample_rate": a.sample_rate, "seconds": a.seconds, "pairs": manifest}),
    )?;
    println!(
        "wrote {} pairs (dry, wet, chain) to {}",
        a.pairs,
        a.out.display()
    );
    Ok(())
}

fn names(chain: &Chain) -> Vec<&'static str> {
    chain.stages.iter().map(|s| s.spec.name).collect()
}

/// The IDs of DIR's pairs: every ID with both ID.dry.wav and ID.wet.wav.
fn pair_ids(dir: &Path) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = wavs_in(dir)?
        .iter()
        .filter_map(|p| {
            p.file_name()?
                .to_str()?
                .strip_suffix(".dry.wav")
                .map(str::to_string)
        })
        .filter(|id| dir.join(format!("{id}.wet.wav")).exists())
        .collect();
    if ids.is_empty() {
        bail!(
            "{} holds no pairs (ID.dry.wav with ID.wet.wav)",
            dir.display()
        );
    }
    Ok(ids)
}

fn truth(dir: &Path, id: &str) -> anyhow::Result<Option<Chain>> {
    let path = dir.join(format!("{id}.chain.json"));
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let calls = parse_calls(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(
        validate(&calls, Policy::Clamp)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            .chain,
    ))
}

pub fn train(a: TrainArgs, mut progress: Progress) -> anyhow::Result<()> {
    let method: Method = a.method.parse()?;
    if !matches!(method, Method::Regression | Method::ToolCaller) {
        bail!("--method must be regression or toolcaller");
    }
    if !a.resume && genlab_core::train::Checkpoint::path_in(&a.out).exists() {
        bail!(
            "{} already holds a training run; pass --resume to continue it or choose another --out",
            a.out.display()
        );
    }
    let ids = pair_ids(&a.data)?;
    progress.start("read pairs", ids.len() as u64);
    let mut examples = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let chain =
            truth(&a.data, id)?.with_context(|| format!("pair {id} has no {id}.chain.json"))?;
        let dry = wav::read(&a.data.join(format!("{id}.dry.wav")))?;
        let wet = wav::read(&a.data.join(format!("{id}.wet.wav")))?;
        examples.push(Example {
            source: id.clone(),
            dry,
            chain,
            wet,
        });
        progress.step(i as u64 + 1, &[]);
    }
    progress.finish();
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let started = Instant::now();
    let run = Some((a.out.as_path(), a.resume));
    if method == Method::Regression {
        let config = RegressionConfig {
            steps: a.steps.unwrap_or(2000),
            seed: a.seed,
            ..RegressionConfig::default()
        };
        let features = examples
            .iter()
            .map(|e| regression::features(&e.dry, &e.wet, config.max_tail_seconds))
            .collect::<genlab_core::Result<Vec<_>>>()?;
        let chains: Vec<Chain> = examples.iter().map(|e| e.chain.clone()).collect();
        let (model, losses) =
            regression::train_in(&features, &chains, &config, run, &mut progress)?;
        model.save(&a.out)?;
        let last = losses.last().map_or(f64::NAN, |l| l.1);
        println!(
            "trained the regression baseline on {} pairs ({} steps, final loss {last:.4}, {:.1} s); model in {}",
            examples.len(),
            config.steps,
            started.elapsed().as_secs_f64(),
            a.out.display()
        );
    } else {
        let mut config = TrainConfig::new(true, a.seed);
        config.steps = a.steps.unwrap_or(1500);
        config.batch = config.batch.min(examples.len()).max(1);
        let corpus = Corpus::from_examples(&examples, FeatureConfig::default())?;
        let (model, record) = train_in(&corpus, &config, run, &mut progress)?;
        model.save(&a.out)?;
        let last = record.losses.last().map_or(f64::NAN, |l| l.1);
        println!(
            "trained the tool-caller on {} pairs ({} steps, final loss {last:.4}, {:.1} s); model in {}",
            examples.len(),
            config.steps,
            started.elapsed().as_secs_f64(),
            a.out.display()
        );
    }
    Ok(())
}

/// Peak-normalised copy for 16-bit listening copies (never clips).
fn playable(a: &AudioBuffer) -> AudioBuffer {
    let mut a = a.clone();
    let peak = a.peak();
    if peak > 1.0 {
        a.channels.iter_mut().flatten().for_each(|x| *x /= peak);
    }
    a
}

pub fn batch(
    args: &EstimateArgs,
    method: Method,
    model: Option<&Model>,
    dir: &Path,
    report: &Path,
    observer: &mut Progress,
) -> anyhow::Result<()> {
    let ids = pair_ids(dir)?;
    observer.start("estimate pairs", ids.len() as u64);
    let mut rows = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let mut dry = wav::read(&dir.join(format!("{id}.dry.wav")))?;
        let mut wet = wav::read(&dir.join(format!("{id}.wet.wav")))?;
        if dry.sample_rate != wet.sample_rate || dry.n_channels() != wet.n_channels() {
            bail!("pair {id}: dry and wet differ in sample rate or channel count");
        }
        let max_tail_seconds = analysis_window(&mut dry, &mut wet, args.max_seconds);
        let options = SearchOptions {
            max_effects: args.max_effects,
            budget: args.budget.max(1),
            max_tail_seconds,
            ..SearchOptions::default()
        };
        let started = Instant::now();
        let found = estimate(method, model, Some(&dry), &wet, &options)?;
        let seconds = started.elapsed().as_secs_f64();
        let pair = Pair::new(&dry, &wet, Some(max_tail_seconds))?;
        let rendered = pair.render(&found.chain)?;
        for (name, audio) in [
            ("dry", &pair.dry),
            ("wet", &pair.target),
            ("estimate", &rendered),
        ] {
            wav::write(
                &report.join(format!("{id}.{name}.wav")),
                &playable(audio),
                SampleFormat::Pcm16,
            )?;
            fsx::atomic_write(
                &report.join(format!("{id}.{name}.bmp")),
                &spectrogram_bmp(audio),
            )?;
        }
        rows.push(Row {
            id: id.clone(),
            effects: names(&found.chain).iter().map(|s| s.to_string()).collect(),
            chain_json: serde_json::to_string_pretty(&found.chain.to_calls())?,
            truth: truth(dir, id)?.map(|c| names(&c).iter().map(|s| s.to_string()).collect()),
            rationale: found.rationale,
            mrstft: (
                rendered_distance(&pair, &found.chain)?,
                rendered_distance(&pair, &Chain::default())?,
            ),
            seconds,
        });
        observer.step(i as u64 + 1, &[]);
    }
    observer.finish();
    let title = format!("genlab fx estimate — {}", dir.display());
    fsx::atomic_write(
        &report.join("index.html"),
        page(&title, &args.method, &rows).as_bytes(),
    )?;
    let t = totals(&rows);
    let per_pair: Vec<_> = rows
        .iter()
        .map(|r| serde_json::json!({"id": r.id, "estimate": r.effects, "truth": r.truth, "mrstft": r.mrstft.0, "mrstft_no_op": r.mrstft.1, "seconds": r.seconds}))
        .collect();
    let summary = serde_json::json!({"method": args.method, "totals": t, "pairs": per_pair});
    fsx::write_json(&report.join("summary.json"), &summary)?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({"totals": t, "report": report.join("index.html").display().to_string()})
        )?
    );
    Ok(())
}

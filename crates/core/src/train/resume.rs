//! Whether a checkpoint may be continued under new [`TrainOptions`]: the same run, perhaps
//! trained for longer.
//!
//! A checkpoint stores the caller's configuration (`meta`); on resume the new configuration must
//! equal it, so that a changed model, data set or optimiser is never silently mixed into a run.
//! The exception is what the trainer itself controls. At an object key (at any depth) the two
//! values may differ when both are non-negative integers and the new value is the trainer's own
//! setting:
//!
//! ```text
//! key `steps` or `*_steps`   new = TrainOptions::steps (the step budget)
//!                            and stored ≥ the checkpoint's completed steps
//! key `warmup`               new = the schedule's warm-up (LrSchedule::WarmupCosine::warmup)
//! key `log_every`, `eval_every`, `checkpoint_every`
//!                            new = the TrainOptions field of the same name
//! ```
//!
//! So `--steps 40 --resume` on a 20-step run extends it (families derive the warm-up and the
//! logging interval from the budget, and those follow), while `--width 32 --resume` on a
//! `--width 16` run is refused, naming the key. The "stored ≥ completed" condition keeps a
//! setting that merely ends in `_steps` (a sampler's step count) compared: its stored value is
//! not a budget the run has been following.
//!
//! The schedule of the continued run is the new options' schedule, evaluated at the steps still
//! to run; steps already taken keep the learning rate they were taken with (see
//! [`Trainer::run`](super::Trainer::run)).

use serde_json::Value;

use super::schedule::LrSchedule;
use super::trainer::TrainOptions;

/// What resuming found: the stored step budget, when the configuration names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extension {
    /// The budget the checkpoint was written under (`None`: the configuration names none).
    pub stored_steps: Option<u64>,
}

/// Checks that the configuration `stored` in a checkpoint of `done` completed steps may be
/// continued as `new` under `options`; on a mismatch, returns the first differing key path with
/// both values, shortened.
pub(crate) fn compatible(
    stored: &Value,
    new: &Value,
    options: &TrainOptions,
    done: u64,
) -> Result<Extension, String> {
    let mut found = Extension { stored_steps: None };
    let owned = Owned {
        steps: options.steps,
        warmup: match options.schedule {
            LrSchedule::WarmupCosine { warmup, .. }
            | LrSchedule::WarmupConstantDecay { warmup, .. } => Some(warmup),
            LrSchedule::Constant { .. } => None,
        },
        log_every: options.log_every,
        eval_every: options.eval_every,
        checkpoint_every: options.checkpoint_every,
        done,
    };
    diff("", stored, new, &owned, &mut found)?;
    Ok(found)
}

/// The trainer's own settings of the new run, and the completed steps of the stored one.
struct Owned {
    steps: u64,
    warmup: Option<u64>,
    log_every: u64,
    eval_every: u64,
    checkpoint_every: u64,
    done: u64,
}

fn is_budget_key(key: &str) -> bool {
    key == "steps" || key.ends_with("_steps")
}

/// Whether `key: stored → new` is a change of a setting the trainer owns (see the module doc).
fn trainer_owned(key: &str, stored: &Value, new: &Value, owned: &Owned) -> bool {
    let (Some(stored), Some(new)) = (stored.as_u64(), new.as_u64()) else {
        return false;
    };
    match key {
        "warmup" => owned.warmup == Some(new),
        "log_every" => new == owned.log_every,
        "eval_every" => new == owned.eval_every,
        "checkpoint_every" => new == owned.checkpoint_every,
        k if is_budget_key(k) => new == owned.steps && stored >= owned.done,
        _ => false,
    }
}

fn diff(
    path: &str,
    stored: &Value,
    new: &Value,
    owned: &Owned,
    found: &mut Extension,
) -> Result<(), String> {
    match (stored, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                let here = join(path, key);
                let Some(now) = b.get(key) else {
                    return Err(format!("`{here}` is no longer set"));
                };
                if old != now && trainer_owned(key, old, now, owned) {
                    if is_budget_key(key) {
                        found.stored_steps = old.as_u64();
                    }
                    continue;
                }
                if old == now && is_budget_key(key) && now.as_u64() == Some(owned.steps) {
                    found.stored_steps = old.as_u64();
                }
                diff(&here, old, now, owned, found)?;
            }
            match b.keys().find(|k| !a.contains_key(*k)) {
                Some(key) => Err(format!("`{}` is new", join(path, key))),
                None => Ok(()),
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (old, now)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), old, now, owned, found)?;
            }
            Ok(())
        }
        _ if stored == new => Ok(()),
        _ => {
            let at = if path.is_empty() {
                "the configuration".to_string()
            } else {
                format!("`{path}`")
            };
            Err(format!("{at}: {} → {}", short(stored), short(new)))
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A value as compact JSON, cut to 60 characters.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        format!("{}…", text.chars().take(59).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options(steps: u64) -> TrainOptions {
        TrainOptions::warmup_cosine(steps, 0.1)
            .with_log_every(steps / 10)
            .with_checkpoint("ck.bin", steps / 4)
    }

    #[test]
    fn a_grown_budget_and_what_follows_it_are_accepted() {
        // A flow-like config: the warm-up, logging and checkpoint intervals follow the budget.
        let stored = json!({"config": {"steps": 200, "warmup": 10, "log_every": 20,
            "checkpoint_every": 50, "sample_steps": 32, "width": 16}});
        let new = json!({"config": {"steps": 400, "warmup": 20, "log_every": 40,
            "checkpoint_every": 100, "sample_steps": 32, "width": 16}});
        let found = compatible(&stored, &new, &options(400), 200).unwrap();
        assert_eq!(found.stored_steps, Some(200));
        // The same budget: nothing to extend, the stored budget is still reported.
        let same = compatible(&new, &new, &options(400), 400).unwrap();
        assert_eq!(same.stored_steps, Some(400));
        // A phase budget named `*_steps` (an embedder's general phase) is a budget too.
        let phase = |g: u64| json!({"general_steps": g, "scar_steps": 50});
        assert!(compatible(&phase(100), &phase(300), &options(300), 100).is_ok());
    }

    #[test]
    fn a_changed_model_data_or_optimiser_is_refused_by_name() {
        let base = json!({"config": {"steps": 200, "width": 16, "lr": 0.001}, "n": 60});
        let cases = [
            (
                json!({"config": {"steps": 400, "width": 32, "lr": 0.001}, "n": 60}),
                "`config.width`: 16 → 32",
            ),
            (
                json!({"config": {"steps": 400, "width": 16, "lr": 0.002}, "n": 60}),
                "`config.lr`: 0.001 → 0.002",
            ),
            (
                json!({"config": {"steps": 400, "width": 16, "lr": 0.001}, "n": 61}),
                "`n`: 60 → 61",
            ),
            (
                json!({"config": {"steps": 400, "width": 16}, "n": 60}),
                "`config.lr` is no longer set",
            ),
            (
                json!({"config": {"steps": 400, "width": 16, "lr": 0.001, "depth": 2}, "n": 60}),
                "`config.depth` is new",
            ),
        ];
        for (new, why) in cases {
            let err = compatible(&base, &new, &options(400), 200).unwrap_err();
            assert_eq!(err, why);
        }
        assert_eq!(
            compatible(&json!([1, 2]), &json!([1, 3]), &options(4), 0).unwrap_err(),
            "`[1]`: 2 → 3"
        );
        assert_eq!(
            compatible(&Value::Null, &json!("x"), &options(4), 0).unwrap_err(),
            "the configuration: null → \"x\""
        );
    }

    #[test]
    fn owned_keys_must_match_the_trainers_own_settings() {
        // A step count that is not the new budget (a sampler's) is compared as any setting.
        let a = json!({"steps": 200, "sample_steps": 32});
        let b = json!({"steps": 400, "sample_steps": 64});
        assert_eq!(
            compatible(&a, &b, &options(400), 200).unwrap_err(),
            "`sample_steps`: 32 → 64"
        );
        // Even when it coincides with the new budget, a stored value below the completed steps
        // was never this run's budget.
        let c = json!({"steps": 400, "sample_steps": 400});
        assert_eq!(
            compatible(&a, &c, &options(400), 200).unwrap_err(),
            "`sample_steps`: 32 → 400"
        );
        // A warm-up under a constant schedule, or one the schedule does not use, is compared.
        let w = |v: u64| json!({"warmup": v});
        let constant = TrainOptions::constant(400, 0.1);
        assert!(compatible(&w(10), &w(20), &constant, 0).is_err());
        assert!(compatible(&w(10), &w(21), &options(400), 0).is_err());
        assert!(compatible(&w(10), &w(20), &options(400), 0).is_ok());
        // Non-integers are never owned.
        assert!(
            compatible(
                &json!({"steps": "a"}),
                &json!({"steps": 400}),
                &options(400),
                0
            )
            .is_err()
        );
    }
}

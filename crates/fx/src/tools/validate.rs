//! Validation of tool calls against the spec table, under an explicit policy:
//!
//! - `reject`: any unknown tool or argument, missing argument, non-number or out-of-range value
//!   is an error naming the call, the argument, the value and the allowed range;
//! - `clamp`: out-of-range values are clamped to `[min, max]`, missing arguments take the
//!   spec default, unknown arguments are dropped, numeric strings are read as numbers;
//! - `snap`: as `clamp`, then every value moves to the nearest grid point
//!   ([`crate::engine::spec::ParamSpec::snap`]).
//!
//! Every change is recorded as an [`Adjustment`], so the report says exactly what was executed
//! and why it differs from what was asked. Values that are not finite, unknown tools and
//! malformed envelopes are errors under every policy.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::automation::ParamValue;
use crate::engine::chain::{Chain, Stage, ToolCall};
use crate::engine::spec::{EffectSpec, ParamSpec, effect};
use crate::error::{FxError, FxResult};

/// What to do with arguments that do not fit the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Refuse the chain.
    Reject,
    /// Clamp into range (and fill defaults).
    #[default]
    Clamp,
    /// Clamp, then snap to the step grid.
    Snap,
}

impl FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "reject" => Ok(Policy::Reject),
            "clamp" => Ok(Policy::Clamp),
            "snap" => Ok(Policy::Snap),
            other => Err(format!("unknown policy `{other}` (reject, clamp or snap)")),
        }
    }
}

/// Kind of change made to an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Moved into `[min, max]`.
    Clamped,
    /// Moved to the nearest grid point (possibly after clamping).
    Snapped,
    /// Missing; the spec default was used.
    Defaulted,
    /// Not a parameter of the tool; dropped.
    Ignored,
    /// A string holding a number was read as that number.
    Coerced,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// 0-based index of the call in the chain.
    pub call: usize,
    /// Tool name.
    pub tool: String,
    /// Argument name.
    pub param: String,
    /// What was done.
    pub kind: AdjustmentKind,
    /// The value as given (`null` if missing).
    pub from: Value,
    /// The value used (`null` if dropped).
    pub to: Value,
}

/// A validated chain and the record of what was changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The executable chain.
    pub chain: Chain,
    /// Every change made, in call order.
    pub adjustments: Vec<Adjustment>,
}

/// Validates `calls` under `policy`.
pub fn validate(calls: &[ToolCall], policy: Policy) -> FxResult<Validated> {
    let mut adjustments = Vec::new();
    let mut stages = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let spec = effect(call.name.trim()).ok_or_else(|| FxError::UnknownEffect {
            name: call.name.clone(),
            call: Some(i),
        })?;
        stages.push(stage(i, spec, call, policy, &mut adjustments)?);
    }
    Ok(Validated {
        chain: Chain { stages },
        adjustments,
    })
}

fn stage(
    i: usize,
    spec: &'static EffectSpec,
    call: &ToolCall,
    policy: Policy,
    adjustments: &mut Vec<Adjustment>,
) -> FxResult<Stage> {
    let at = |p: &str| format!("call {i} ({}): {p}", spec.name);
    let mut record = |param: &str, kind, from: Value, to: Value| {
        adjustments.push(Adjustment {
            call: i,
            tool: spec.name.to_string(),
            param: param.to_string(),
            kind,
            from,
            to,
        })
    };
    for (name, value) in &call.arguments {
        if spec.param_index(name).is_none() {
            if policy == Policy::Reject {
                let names: Vec<_> = spec.params.iter().map(|p| p.name).collect();
                return Err(FxError::UnknownArgument {
                    arg: at(name),
                    known: names.join(", "),
                });
            }
            record(name, AdjustmentKind::Ignored, value.clone(), Value::Null);
        }
    }
    let wrong = |name: &str, problem: String| FxError::WrongType {
        arg: at(name),
        problem,
    };
    let mut values = Vec::with_capacity(spec.params.len());
    for p in spec.params {
        let Some(raw) = call.arguments.get(p.name) else {
            if policy == Policy::Reject {
                return Err(FxError::MissingArgument {
                    arg: at(p.name),
                    expected: p.range_text(),
                });
            }
            record(
                p.name,
                AdjustmentKind::Defaulted,
                Value::Null,
                p.default.into(),
            );
            values.push(ParamValue::Constant(p.default));
            continue;
        };
        let (given, coerced) = read_value(raw).map_err(|m| wrong(p.name, m))?;
        if coerced {
            if policy == Policy::Reject {
                return Err(wrong(
                    p.name,
                    format!("must be a number, got the string {raw}"),
                ));
            }
            record(p.name, AdjustmentKind::Coerced, raw.clone(), json(&given));
        }
        given.check_times().map_err(|m| wrong(p.name, m))?;
        for v in given.extremes() {
            if !v.is_finite() {
                return Err(wrong(p.name, format!("{v} is not a finite number")));
            }
            if policy == Policy::Reject && !in_range(p, v) {
                return Err(FxError::OutOfRange {
                    arg: at(p.name),
                    value: v,
                    range: p.range_text(),
                });
            }
        }
        let used = match policy {
            Policy::Reject => given.clone(),
            Policy::Clamp => given.map(|v| p.clamp(v)),
            Policy::Snap => given.map(|v| p.snap(v)),
        };
        if used != given {
            let clamped_only = given.map(|v| p.clamp(v)) == used;
            let kind = if clamped_only {
                AdjustmentKind::Clamped
            } else {
                AdjustmentKind::Snapped
            };
            record(p.name, kind, json(&given), json(&used));
        }
        values.push(used);
    }
    Ok(Stage { spec, values })
}

fn in_range(p: &ParamSpec, v: f64) -> bool {
    let slack = 1e-9 * (p.max - p.min);
    v >= p.min - slack && v <= p.max + slack
}

fn json(v: &ParamValue) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn number(v: &Value) -> Option<(f64, bool)> {
    match v {
        Value::Number(n) => n.as_f64().map(|x| (x, false)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|x| (x, true)),
        _ => None,
    }
}

/// A number, numeric string, or list of `[time, value]` pairs; `true` if a string was read.
fn read_value(v: &Value) -> std::result::Result<(ParamValue, bool), String> {
    if let Some((x, coerced)) = number(v) {
        return Ok((ParamValue::Constant(x), coerced));
    }
    let Value::Array(points) = v else {
        return Err(format!("expected a number or [[time, value], …], got {v}"));
    };
    let mut coerced = false;
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        match p.as_array().map(|a| a.as_slice()) {
            Some([t, x]) => match (number(t), number(x)) {
                (Some((t, ct)), Some((x, cx))) => {
                    coerced |= ct || cx;
                    out.push([t, x]);
                }
                _ => return Err(format!("envelope breakpoint {p} is not [time, value]")),
            },
            _ => return Err(format!("envelope breakpoint {p} is not [time, value]")),
        }
    }
    Ok((ParamValue::Envelope(out), coerced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::EFFECTS;
    use serde_json::json;

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall {
            name: name.into(),
            arguments: args.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn policies_reject_clamp_and_snap_and_record_what_changed() {
        let calls = vec![
            call("gain", json!({"gain_db": 25.0})),
            call("panner", json!({"pan": 0.33})),
        ];
        let err = validate(&calls, Policy::Reject).unwrap_err();
        assert!(
            matches!(err, FxError::OutOfRange { value: 25.0, .. }),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(
            err.contains("call 0 (gain): gain_db = 25 is outside -20 to 20 dB"),
            "{err}"
        );

        let v = validate(&calls, Policy::Clamp).unwrap();
        assert_eq!(v.chain.stages[0].values[0], ParamValue::Constant(20.0));
        assert_eq!(v.chain.stages[1].values[0], ParamValue::Constant(0.33));
        assert_eq!(v.adjustments.len(), 1);
        assert_eq!(v.adjustments[0].kind, AdjustmentKind::Clamped);
        assert_eq!(v.adjustments[0].from, json!(25.0));
        assert_eq!(v.adjustments[0].to, json!(20.0));

        let v = validate(&calls, Policy::Snap).unwrap();
        assert_eq!(v.chain.stages[1].values[0], ParamValue::Constant(0.3));
        let kinds: Vec<_> = v.adjustments.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![AdjustmentKind::Clamped, AdjustmentKind::Snapped]
        );

        // In range and on grid: nothing to record under any policy.
        let fine = vec![call("gain", json!({"gain_db": -4}))];
        for policy in [Policy::Reject, Policy::Clamp, Policy::Snap] {
            assert!(validate(&fine, policy).unwrap().adjustments.is_empty());
        }
    }

    #[test]
    fn missing_unknown_and_string_arguments() {
        let calls = vec![call(
            "delay",
            json!({"delay_seconds": "0.3", "feedback": 0.2, "wet": 1}),
        )];
        let err = validate(&calls, Policy::Reject).unwrap_err().to_string();
        assert!(err.contains("wet is not an argument"), "{err}");
        let v = validate(&calls, Policy::Clamp).unwrap();
        let kinds: Vec<_> = v
            .adjustments
            .iter()
            .map(|a| (a.param.as_str(), a.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("wet", AdjustmentKind::Ignored),
                ("delay_seconds", AdjustmentKind::Coerced),
                ("mix", AdjustmentKind::Defaulted)
            ]
        );
        assert_eq!(v.chain.stages[0].values[0], ParamValue::Constant(0.3));
        let unknown = validate(&[call("chorus", json!({}))], Policy::Clamp).unwrap_err();
        assert!(unknown.to_string().contains("unknown tool `chorus`"));
        assert!(matches!(
            unknown,
            FxError::UnknownEffect { call: Some(0), .. }
        ));
        let missing = validate(&[call("gain", json!({}))], Policy::Reject).unwrap_err();
        assert!(missing.to_string().contains("gain_db is missing"));
        assert!(matches!(missing, FxError::MissingArgument { .. }));
        let bad = validate(&[call("gain", json!({"gain_db": true}))], Policy::Clamp);
        assert!(matches!(bad, Err(FxError::WrongType { .. })), "{bad:?}");
    }

    #[test]
    fn envelopes_are_validated_point_by_point() {
        let calls = vec![call("gain", json!({"gain_db": [[0, -30], [1, 3.3]]}))];
        assert!(validate(&calls, Policy::Reject).is_err());
        let v = validate(&calls, Policy::Snap).unwrap();
        assert_eq!(
            v.chain.stages[0].values[0],
            ParamValue::Envelope(vec![[0.0, -20.0], [1.0, 4.0]])
        );
        let backwards = vec![call("gain", json!({"gain_db": [[1, 0], [0, 0]]}))];
        assert!(
            validate(&backwards, Policy::Clamp)
                .unwrap_err()
                .to_string()
                .contains("decrease")
        );
    }

    #[test]
    fn schema_bounds_and_validator_agree_for_every_parameter() {
        // For every parameter: min and max pass `reject`, one step outside fails it, and
        // clamping an outside value lands on the bound.
        for e in EFFECTS {
            for p in e.params {
                let mut args = serde_json::Map::new();
                for q in e.params {
                    args.insert(q.name.into(), q.default.into());
                }
                let with = |v: f64| {
                    let mut a = args.clone();
                    a.insert(p.name.into(), v.into());
                    vec![ToolCall {
                        name: e.name.into(),
                        arguments: a,
                    }]
                };
                for bound in [p.min, p.max] {
                    assert!(
                        validate(&with(bound), Policy::Reject).is_ok(),
                        "{}.{}",
                        e.name,
                        p.name
                    );
                }
                let below = p.min - (p.max - p.min) * 0.01;
                let above = p.max + (p.max - p.min) * 0.01;
                for (v, bound) in [(below, p.min), (above, p.max)] {
                    assert!(
                        validate(&with(v), Policy::Reject).is_err(),
                        "{}.{} {v}",
                        e.name,
                        p.name
                    );
                    let c = validate(&with(v), Policy::Clamp).unwrap();
                    let i = e.param_index(p.name).unwrap();
                    assert_eq!(c.chain.stages[0].values[i], ParamValue::Constant(bound));
                }
            }
        }
    }
}

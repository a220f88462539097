//! Saving and loading in the SAELens layout, so a genlab SAE opens with
//! `sae_lens.SAE.load_from_disk(DIR)`:
//!
//! ```text
//! DIR/cfg.json                  {"architecture": "standard" | "topk" | "jumprelu", "d_in", "d_sae",
//!                                "dtype": "float32", "apply_b_dec_to_input": true,
//!                                "normalize_activations": "none", "k" (topk), "metadata": {..},
//!                                "genlab": {..}}
//! DIR/sae_weights.safetensors   W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in],
//!                                b_dec [d_in], threshold [d_sae] (jumprelu only), all F32
//! ```
//!
//! Checked against SAELens (`sae_lens/constants.py`: `SAE_WEIGHTS_FILENAME`,
//! `SAE_CFG_FILENAME`; `saes/batchtopk_sae.py`): BatchTopK SAEs are saved for inference as
//! JumpReLU SAEs, with the running top-k threshold written as a `threshold` vector of length
//! `d_sae` (one value repeated). genlab does the same for BatchTopK, Matryoshka and OrtSAE
//! (all BatchTopK-trained). genlab's `W_enc` is stored latent-major (`[d_sae, d_in]`), so it is
//! transposed on the way out and back. The `genlab` block (architecture trained, config) is
//! extra; SAELens ignores unknown keys. Loading accepts per-latent thresholds only when they are
//! all equal (genlab has one global θ).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use genlab_core::fsx::{atomic_write, read_json, write_json};
use genlab_core::{Error, Result};

use crate::sae::{Activation, Sae};

/// The config file name.
pub const CFG_FILE: &str = "cfg.json";
/// The weights file name.
pub const WEIGHTS_FILE: &str = "sae_weights.safetensors";

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `sae` to `dir` (created if needed); `genlab` is stored under the config's `genlab` key.
pub fn save(sae: &Sae, dir: &Path, genlab: serde_json::Value) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (d, m) = (sae.d, sae.m);
    let mut w_enc_t = vec![0.0f32; d * m];
    for j in 0..m {
        for t in 0..d {
            w_enc_t[t * m + j] = sae.w_enc[j * d + t];
        }
    }
    let (architecture, threshold) = match sae.activation {
        Activation::Relu => ("standard", None),
        Activation::TopK { .. } => ("topk", None),
        Activation::JumpRelu { threshold } => ("jumprelu", Some(vec![threshold; m])),
    };
    let mut tensors: Vec<(&str, Vec<u8>, Vec<usize>)> = vec![
        ("W_enc", le_bytes(&w_enc_t), vec![d, m]),
        ("b_enc", le_bytes(&sae.b_enc), vec![m]),
        ("W_dec", le_bytes(&sae.w_dec), vec![m, d]),
        ("b_dec", le_bytes(&sae.b_dec), vec![d]),
    ];
    if let Some(t) = &threshold {
        tensors.push(("threshold", le_bytes(t), vec![m]));
    }
    let views = tensors
        .iter()
        .map(|(name, bytes, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (*name, v))
                .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, None::<HashMap<String, String>>)
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    atomic_write(&dir.join(WEIGHTS_FILE), &bytes)?;
    let mut cfg = serde_json::json!({
        "architecture": architecture,
        "d_in": d,
        "d_sae": m,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": true,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {"model_name": null, "hook_name": null},
        "genlab": genlab,
    });
    if let Activation::TopK { k } = sae.activation {
        cfg["k"] = k.into();
    }
    write_json(&dir.join(CFG_FILE), &cfg)
}

/// Reads an SAE saved in the SAELens layout (by genlab or by SAELens) and its `genlab` block
/// (`null` when absent).
pub fn load(dir: &Path) -> Result<(Sae, serde_json::Value)> {
    let cfg_path = dir.join(CFG_FILE);
    let wpath = dir.join(WEIGHTS_FILE);
    let cfg: serde_json::Value = read_json(&cfg_path)?;
    let bad = |msg: String| Error::parse(&cfg_path, None, msg);
    let field = |k: &str| {
        cfg[k]
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| bad(format!("missing or non-integer `{k}`")))
    };
    let (d, m) = (field("d_in")?, field("d_sae")?);
    if d == 0 || m == 0 {
        return Err(bad(format!(
            "d_in = {d} and d_sae = {m} must be at least 1"
        )));
    }
    genlab_core::limits::elements("cfg.json d_in × d_sae", &[d, m])
        .map_err(|e| bad(e.to_string()))?;
    if cfg["apply_b_dec_to_input"] == false {
        return Err(bad("apply_b_dec_to_input = false is not supported".into()));
    }
    if let Some(n) = cfg["normalize_activations"].as_str()
        && n != "none"
    {
        return Err(bad(format!(
            "normalize_activations = {:?} is not supported",
            genlab_core::limits::excerpt(n)
        )));
    }
    let bytes = std::fs::read(&wpath).map_err(|e| Error::io(&wpath, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::parse(&wpath, None, format!("bad safetensors: {e}")))?;
    let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let t = st
            .tensor(name)
            .map_err(|_| Error::parse(&wpath, None, format!("missing tensor `{name}`")))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape {
            return Err(Error::parse(
                &wpath,
                None,
                format!(
                    "`{name}` is {:?} {:?}, expected F32 {shape:?}",
                    t.dtype(),
                    t.shape()
                ),
            ));
        }
        Ok(t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let w_enc_t = tensor("W_enc", &[d, m])?;
    let mut w_enc = vec![0.0f32; m * d];
    for t in 0..d {
        for j in 0..m {
            w_enc[j * d + t] = w_enc_t[t * m + j];
        }
    }
    let activation = match cfg["architecture"].as_str().unwrap_or("standard") {
        "standard" => Activation::Relu,
        "topk" => Activation::TopK { k: field("k")? },
        "jumprelu" => {
            let th = tensor("threshold", &[m])?;
            let first = th.first().copied().unwrap_or(0.0);
            if th.iter().any(|&t| t != first) {
                return Err(bad(
                    "per-latent JumpReLU thresholds are not supported (genlab uses one global θ)"
                        .into(),
                ));
            }
            Activation::JumpRelu { threshold: first }
        }
        other => {
            return Err(bad(format!(
                "architecture {:?} is not supported",
                genlab_core::limits::excerpt(other)
            )));
        }
    };
    let sae = Sae {
        d,
        m,
        w_enc,
        b_enc: tensor("b_enc", &[m])?,
        w_dec: tensor("W_dec", &[m, d])?,
        b_dec: tensor("b_dec", &[d])?,
        activation,
    };
    sae.validate().map_err(|e| bad(e.to_string()))?;
    Ok((sae, cfg["genlab"].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    fn random_sae(activation: Activation) -> Sae {
        let mut rng = SeededRng::new(8);
        let (d, m) = (5, 7);
        Sae {
            d,
            m,
            w_enc: rng.normal_vec(m * d),
            b_enc: rng.normal_vec(m),
            w_dec: rng.normal_vec(m * d),
            b_dec: rng.normal_vec(d),
            activation,
        }
    }

    #[test]
    fn round_trip_keeps_every_weight_and_the_activation() {
        let dir = tempfile::tempdir().unwrap();
        for act in [
            Activation::Relu,
            Activation::TopK { k: 3 },
            Activation::JumpRelu { threshold: 0.25 },
        ] {
            let sae = random_sae(act);
            save(&sae, dir.path(), serde_json::json!({"arch": "test"})).unwrap();
            let (back, extra) = load(dir.path()).unwrap();
            assert_eq!(back, sae);
            assert_eq!(extra["arch"], "test");
            // Same codes before and after.
            let x = SeededRng::new(1).normal_vec(4 * 5);
            assert_eq!(back.encode(&x), sae.encode(&x));
        }
    }

    #[test]
    fn layout_uses_saelens_names_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        save(
            &random_sae(Activation::JumpRelu { threshold: 0.5 }),
            dir.path(),
            serde_json::Value::Null,
        )
        .unwrap();
        let bytes = std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let shape = |n: &str| st.tensor(n).unwrap().shape().to_vec();
        assert_eq!(shape("W_enc"), vec![5, 7]);
        assert_eq!(shape("W_dec"), vec![7, 5]);
        assert_eq!(shape("b_enc"), vec![7]);
        assert_eq!(shape("b_dec"), vec![5]);
        assert_eq!(shape("threshold"), vec![7]);
        let cfg: serde_json::Value = read_json(&dir.path().join(CFG_FILE)).unwrap();
        assert_eq!(cfg["architecture"], "jumprelu");
        assert_eq!(
            (cfg["d_in"].as_u64(), cfg["d_sae"].as_u64()),
            (Some(5), Some(7))
        );
        // W_enc is the transpose of genlab's latent-major encoder.
        let sae = random_sae(Activation::Relu);
        let w = st.tensor("W_enc").unwrap();
        let v = f32::from_le_bytes(
            w.data()[4 * (2 * 7 + 3)..4 * (2 * 7 + 4)]
                .try_into()
                .unwrap(),
        );
        assert_eq!(v, sae.w_enc[3 * 5 + 2]);
    }

    #[test]
    fn wrong_shapes_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).is_err());
        save(
            &random_sae(Activation::Relu),
            dir.path(),
            serde_json::Value::Null,
        )
        .unwrap();
        let mut cfg: serde_json::Value = read_json(&dir.path().join(CFG_FILE)).unwrap();
        cfg["d_in"] = 6.into();
        write_json(&dir.path().join(CFG_FILE), &cfg).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("W_enc") && err.contains("expected F32 [6, 7]"),
            "{err}"
        );
    }

    /// Issue 25: a cfg.json with `k = 0` was evaluated; `d_sae = 0` panicked later; a huge
    /// d_in × d_sae allocated before the weights were checked.
    #[test]
    fn degenerate_configs_are_refused_on_load() {
        let dir = tempfile::tempdir().unwrap();
        save(
            &random_sae(Activation::TopK { k: 2 }),
            dir.path(),
            serde_json::Value::Null,
        )
        .unwrap();
        load(dir.path()).unwrap();
        let cfg_path = dir.path().join(CFG_FILE);
        let cfg: serde_json::Value = read_json(&cfg_path).unwrap();
        let cases = [
            ("k", serde_json::json!(0), "k = 0"),
            ("k", serde_json::json!(8), "k = 8"),
            ("d_sae", serde_json::json!(0), "d_sae = 0"),
            ("d_in", serde_json::json!(1u64 << 40), "d_in × d_sae"),
            (
                "architecture",
                serde_json::json!("x".repeat(10_000)),
                "(10000 bytes)",
            ),
        ];
        for (key, value, needle) in cases {
            let mut bad = cfg.clone();
            bad[key] = value;
            write_json(&cfg_path, &bad).unwrap();
            let err = load(dir.path()).unwrap_err().to_string();
            assert!(err.contains(needle) && err.len() < 400, "{key}: {err}");
        }
    }
}

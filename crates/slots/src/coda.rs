//! Stage B, CODA's objective: slots from the encoder and slot attention, mapped into the
//! decoder's context width, decoded by the frozen pretrained decoder whose cross-attention
//! K/V/O are the only decoder weights that train.
//!
//! ```text
//! s        = W_p LN(SlotAttention(enc(x), ξ))                    [b, K, W]
//! c        = [s ; r̄]  (with registers: the decoder's frozen null-caption encoding)  or  s
//! L_dm     = mean w(u) (ε − ε_θ(x_u, u, c))²                      positive pass (w: see
//!            [`crate::diffusion`])
//! s̃_k      = s_k of the other batch half (same index k) with probability ½, else s_k
//!            (the halves share ξ, so index k means something comparable across them)
//! L_cl     = −mean w(u) (ε − ε_θ̄(x_u, u, [s̃ ; r̄]))²              same x_u, u, ε; θ̄ = sg(θ)
//! L        = L_dm + λ_cl(step) L_cl,   λ_cl = 0 during the warm-up, then λ
//! ```
//!
//! θ̄ is the stop-gradient of the decoder's trainable K/V/O ([`Grad::Stop`]): the negative
//! pass pushes only the encoder and slot attention (through the activations) to make
//! mismatched slots decode badly; the decoder cannot learn to decode negatives badly. The
//! `no-sg` arm drops the stop-gradient (the paper's collapse ablation). The frozen rest of the
//! decoder carries no gradient in either pass. burn has no higher-order gradients, so this is
//! exactly CODA's `enable_grad(unet_trainable_params, False)`: the K/V/O weights enter the
//! negative graph as detached constants.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, DecoderBody, Kvo};
use crate::diffusion::{noisy, weighted_loss};
use crate::encoder::Encoder;
use crate::layers::Grad;
use crate::slot_attention::{SlotAttention, SlotOutput};

/// The five arms of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// Slots only in the context, no contrastive term.
    Baseline,
    /// Context = [slots ; registers].
    Registers,
    /// Slots only, with the contrastive term (stop-gradient on the decoder).
    Contrastive,
    /// Registers and the contrastive term: CODA.
    Coda,
    /// CODA without the decoder stop-gradient in the negative pass.
    NoStopGrad,
}

impl Arm {
    /// Every arm, in the report's order.
    pub const ALL: [Arm; 5] = [
        Arm::Baseline,
        Arm::Registers,
        Arm::Contrastive,
        Arm::Coda,
        Arm::NoStopGrad,
    ];

    /// The arm's name.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Baseline => "baseline",
            Arm::Registers => "registers",
            Arm::Contrastive => "contrastive",
            Arm::Coda => "coda",
            Arm::NoStopGrad => "coda-no-sg",
        }
    }

    /// Parses [`Arm::name`].
    pub fn parse(s: &str) -> Option<Arm> {
        Arm::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Whether the context carries the register tokens.
    pub fn registers(self) -> bool {
        matches!(self, Arm::Registers | Arm::Coda | Arm::NoStopGrad)
    }

    /// Whether the contrastive term is on.
    pub fn contrastive(self) -> bool {
        matches!(self, Arm::Contrastive | Arm::Coda | Arm::NoStopGrad)
    }

    /// Gradient into the decoder's K/V/O from the negative pass.
    pub fn negative_grad(self) -> Grad {
        if self == Arm::NoStopGrad {
            Grad::Flow
        } else {
            Grad::Stop
        }
    }
}

/// The sizes of the slot model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlotSpec {
    /// Image side.
    pub size: usize,
    /// Number of slots K.
    pub slots: usize,
    /// Slot width D (also the encoder's channels).
    pub width: usize,
    /// Slot-attention iterations.
    pub iters: usize,
    /// The decoder's context width W.
    pub context: usize,
}

/// What trains in stage B: encoder, slot attention, the slot → context map and the decoder's
/// cross-attention K/V/O.
#[derive(Module, Debug)]
pub struct SlotModel {
    /// The feature encoder.
    pub encoder: Encoder,
    /// Slot attention.
    pub sa: SlotAttention,
    norm: LayerNorm,
    proj: Linear,
    /// The decoder's cross-attention K/V/O (initialised from the pretrained decoder).
    pub kvo: Vec<Kvo>,
    /// The sizes it was built with.
    #[module(skip)]
    pub spec: SlotSpec,
}

impl SlotSpec {
    /// A fresh slot model whose K/V/O start from `decoder`'s.
    pub fn init(&self, kvo: Vec<Kvo>, device: &Device) -> SlotModel {
        SlotModel {
            encoder: Encoder::new(self.size, self.width, device),
            sa: SlotAttention::new(self.width, self.width, self.iters, device),
            norm: LayerNormConfig::new(self.width).init(device),
            proj: LinearConfig::new(self.width, self.context).init(device),
            kvo,
            spec: *self,
        }
    }
}

impl SlotModel {
    /// Slot attention on encoder patches `[b, N, ·]` with noise `[b, K, D]`; the slots are
    /// mapped to the context width.
    pub fn slots(&self, patches: Tensor<3>, noise: Tensor<3>) -> SlotOutput {
        let out = self.sa.forward(self.encoder.forward(patches), noise);
        SlotOutput {
            slots: self.proj.forward(self.norm.forward(out.slots)),
            attn: out.attn,
        }
    }
}

/// The frozen part of the decoder during slot learning, and its register tokens.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// The decoder without K/V/O, parameters not requiring gradients.
    pub body: DecoderBody,
    /// The null-caption encoding `[1, R, W]`, a constant.
    pub registers: Tensor<3>,
}

impl Frozen {
    /// Splits a pretrained decoder (on the inference device) into its frozen part, moved to the
    /// autodiff device `device` with gradients off, and its K/V/O (trainable, on `device`).
    pub fn from_decoder(decoder: &Decoder, device: &Device) -> (Frozen, Vec<Kvo>) {
        let null = decoder.text.null(&genlab_core::device::device());
        let registers = Tensor::from_data(null.into_data(), device);
        let body = decoder.body.clone().train().no_grad();
        let kvo = decoder.kvo.iter().map(|k| k.clone().train()).collect();
        (Frozen { body, registers }, kvo)
    }

    /// `[s ; r̄]` (registers on) or `s`.
    pub fn context(&self, slots: Tensor<3>, registers: bool) -> Tensor<3> {
        if !registers {
            return slots;
        }
        let [b, _, _] = slots.dims();
        let [_, r, w] = self.registers.dims();
        Tensor::cat(vec![slots, self.registers.clone().expand([b, r, w])], 1)
    }
}

/// s̃: slot k of sample i replaced, where `swap[i·K + k]`, by slot k of sample (i + b/2) mod b.
pub fn swap_slots(slots: Tensor<3>, swap: &[bool]) -> Tensor<3> {
    let [b, k, _] = slots.dims();
    let half = b / 2;
    let other = Tensor::cat(
        vec![
            slots.clone().narrow(0, half, b - half),
            slots.clone().narrow(0, 0, half),
        ],
        0,
    );
    let m: Vec<f32> = swap.iter().map(|&s| if s { 1.0 } else { 0.0 }).collect();
    let m = Tensor::<3>::from_data(TensorData::new(m, [b, k, 1]), &slots.device());
    other * m.clone() + slots * (m.ones_like() - m)
}

/// The random draws of one step: the slot noise (shared by the halves), the diffusion time and
/// noise, and the swap pattern.
#[derive(Debug, Clone)]
pub struct Draws {
    /// Slot-initialisation noise `[b, K, D]`, the second half a copy of the first.
    pub noise: Tensor<3>,
    /// Diffusion times.
    pub u: Vec<f32>,
    /// Diffusion noise `[b, tokens, 48]`.
    pub eps: Tensor<3>,
    /// Which slots the negative pass swaps (`b · K`).
    pub swap: Vec<bool>,
}

impl Draws {
    /// Draws for a batch of `b` (even) with `spec`'s slots and `tokens × patch` decoder data.
    pub fn new(
        spec: &SlotSpec,
        b: usize,
        tokens: usize,
        patch: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Draws {
        let half = rng.normal([b / 2, spec.slots, spec.width], device);
        let noise = Tensor::cat(vec![half.clone(), half], 0);
        let u = rng.uniform_vec(b);
        let eps = rng.normal([b, tokens, patch], device);
        let swap = rng
            .uniform_vec(b * spec.slots)
            .iter()
            .map(|&x| x < 0.5)
            .collect();
        Draws {
            noise,
            u,
            eps,
            swap,
        }
    }
}

/// The loss of one step and its parts.
#[derive(Debug, Clone)]
pub struct Losses {
    /// L = L_dm + λ L_cl.
    pub total: Tensor<1>,
    /// The positive denoising error (mean).
    pub err_pos: Tensor<1>,
    /// The negative denoising error (mean), when the negative pass ran.
    pub err_neg: Option<Tensor<1>>,
}

/// The objective of the module doc on encoder patches `enc` and decoder data `x0`, with weight
/// `lambda` on the contrastive term (0 skips the negative pass).
pub fn coda_loss(
    model: &SlotModel,
    frozen: &Frozen,
    arm: Arm,
    lambda: f64,
    enc: Tensor<3>,
    x0: Tensor<3>,
    draws: &Draws,
) -> Losses {
    let s = model.slots(enc, draws.noise.clone()).slots;
    let xu = noisy(x0, draws.eps.clone(), &draws.u);
    let pos_ctx = frozen.context(s.clone(), arm.registers());
    let pred = frozen
        .body
        .forward(xu.clone(), &draws.u, pos_ctx, &model.kvo, Grad::Flow);
    let err_pos = weighted_loss(draws.eps.clone(), pred, &draws.u);
    if !(arm.contrastive() && lambda > 0.0) {
        return Losses {
            total: err_pos.clone(),
            err_pos,
            err_neg: None,
        };
    }
    let err_neg = negative_error(model, frozen, arm, s, xu, draws);
    Losses {
        total: err_pos.clone() - err_neg.clone() * lambda,
        err_pos,
        err_neg: Some(err_neg),
    }
}

/// mean (ε − ε_θ̄(x_u, u, [s̃ ; r̄]))², with θ̄ detached unless the arm drops the stop-gradient.
pub fn negative_error(
    model: &SlotModel,
    frozen: &Frozen,
    arm: Arm,
    slots: Tensor<3>,
    xu: Tensor<3>,
    draws: &Draws,
) -> Tensor<1> {
    let neg_ctx = frozen.context(swap_slots(slots, &draws.swap), arm.registers());
    let pred = frozen
        .body
        .forward(xu, &draws.u, neg_ctx, &model.kvo, arm.negative_grad());
    weighted_loss(draws.eps.clone(), pred, &draws.u)
}

impl Frozen {
    /// The frozen part and registers on the inference device (evaluation, no autodiff).
    pub fn inference(decoder: &Decoder) -> Frozen {
        let device = genlab_core::device::device();
        Frozen {
            body: decoder.body.clone(),
            registers: decoder.text.null(&device),
        }
    }
}

/// The positive and negative denoising errors of a batch (no training): the two terms of the
/// MI proxy Δ = err_neg − err_pos.
pub fn errors(
    model: &SlotModel,
    frozen: &Frozen,
    arm: Arm,
    enc: Tensor<3>,
    x0: Tensor<3>,
    draws: &Draws,
) -> (f64, f64) {
    let s = model.slots(enc, draws.noise.clone()).slots;
    let xu = noisy(x0, draws.eps.clone(), &draws.u);
    let pos_ctx = frozen.context(s.clone(), arm.registers());
    let pred = frozen
        .body
        .forward(xu.clone(), &draws.u, pos_ctx, &model.kvo, Grad::Flow);
    let pos = weighted_loss(draws.eps.clone(), pred, &draws.u).into_scalar::<f32>() as f64;
    let neg = negative_error(model, frozen, arm, s, xu, draws).into_scalar::<f32>() as f64;
    (pos, neg)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decoder::DecoderSpec;
    use crate::encoder::patches;
    use genlab_core::{device, tensor};

    /// A tiny pretrained-shaped decoder and slot model on 8×8 images, with one batch.
    pub(crate) fn tiny() -> (SlotModel, Frozen, Tensor<3>, Tensor<3>, Draws) {
        let inf = device::device();
        let dev = device::train_device();
        inf.seed(5);
        let dspec = DecoderSpec {
            size: 8,
            width: 8,
            blocks: 1,
            caption_len: 4,
            vocab: 19,
            target: crate::decoder::Target::Eps,
        };
        let decoder = dspec.init(&inf);
        let (frozen, kvo) = Frozen::from_decoder(&decoder, &dev);
        dev.seed(6);
        let spec = SlotSpec {
            size: 8,
            slots: 3,
            width: 8,
            iters: 2,
            context: 8,
        };
        let model = spec.init(kvo, &dev);
        let mut rng = SeededRng::new(7);
        let images = rng.uniform_vec(4 * 8 * 8 * 3);
        let enc = patches(&images, 8, &dev);
        let x0 = crate::decoder::to_patches(&images, 8, &dev);
        let draws = Draws::new(&spec, 4, dspec.tokens(), 48, &mut rng, &dev);
        (model, frozen, enc, x0, draws)
    }

    fn kvo_grads(model: &SlotModel, grads: &burn::tensor::Gradients) -> Vec<f32> {
        let mut out = Vec::new();
        for kvo in &model.kvo {
            for w in kvo.weights() {
                if let Some(g) = w.grad(grads) {
                    out.extend(tensor::to_vec(g));
                }
            }
        }
        out
    }

    #[test]
    fn the_negative_pass_gives_the_decoder_exactly_zero_gradient() {
        let (model, frozen, enc, x0, draws) = tiny();
        let s = model.slots(enc.clone(), draws.noise.clone()).slots;
        let xu = noisy(x0.clone(), draws.eps.clone(), &draws.u);
        let neg = negative_error(&model, &frozen, Arm::Coda, s, xu.clone(), &draws);
        let grads = neg.backward();
        let g = kvo_grads(&model, &grads);
        assert!(
            g.iter().all(|&x| x == 0.0),
            "decoder K/V/O got gradient from L_cl"
        );
        // …while slot attention does get a gradient from the same term.
        let proj = model
            .proj
            .weight
            .val()
            .grad(&grads)
            .expect("slot map gradient");
        assert!(tensor::to_vec(proj).iter().any(|&x| x != 0.0));
        // Without the stop-gradient the same pass does reach the decoder (the test can fail).
        let s = model.slots(enc, draws.noise.clone()).slots;
        let neg = negative_error(&model, &frozen, Arm::NoStopGrad, s, xu, &draws);
        let g = kvo_grads(&model, &neg.backward());
        assert!(g.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn the_total_loss_trains_the_decoder_only_through_the_positive_pass() {
        // ∇_kvo (L_dm + λ L_cl) equals ∇_kvo L_dm exactly under the stop-gradient.
        let (model, frozen, enc, x0, draws) = tiny();
        let both = coda_loss(
            &model,
            &frozen,
            Arm::Coda,
            0.5,
            enc.clone(),
            x0.clone(),
            &draws,
        );
        assert!(both.err_neg.is_some());
        let g_both = kvo_grads(&model, &both.total.backward());
        let pos = coda_loss(&model, &frozen, Arm::Registers, 0.5, enc, x0, &draws);
        assert!(pos.err_neg.is_none());
        let g_pos = kvo_grads(&model, &pos.total.backward());
        assert_eq!(g_both.len(), g_pos.len());
        assert!(!g_pos.is_empty() && g_pos.iter().any(|&x| x != 0.0));
        for (a, b) in g_both.iter().zip(&g_pos) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn swap_takes_the_same_index_slot_of_the_other_half() {
        let dev = device::device();
        // b = 4, K = 2, width 1: slot value = 10·sample + k.
        let v: Vec<f32> = (0..4)
            .flat_map(|i| (0..2).map(move |k| (10 * i + k) as f32))
            .collect();
        let s = Tensor::<3>::from_data(TensorData::new(v, [4, 2, 1]), &dev);
        let swap = [true, false, false, true, false, false, true, true];
        let got = tensor::to_vec(swap_slots(s, &swap));
        // Sample i pairs with i ± 2: (0↔2), (1↔3).
        assert_eq!(got, vec![20.0, 1.0, 10.0, 31.0, 20.0, 21.0, 10.0, 11.0]);
    }

    #[test]
    fn halves_share_the_slot_noise() {
        let dev = device::device();
        let spec = SlotSpec {
            size: 8,
            slots: 3,
            width: 4,
            iters: 1,
            context: 4,
        };
        let d = Draws::new(&spec, 6, 4, 48, &mut SeededRng::new(1), &dev);
        let n = tensor::to_vec(d.noise);
        let (a, b) = n.split_at(n.len() / 2);
        assert_eq!(a, b);
        assert_eq!(d.swap.len(), 18);
    }
}

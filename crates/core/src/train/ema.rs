//! Exponential moving average of a module's parameters, the usual way to get better samples
//! from a generative model than its last iterate.
//!
//! ```text
//! θ_ema ← decay · θ_ema + (1 − decay) · θ
//! ```

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

/// An EMA copy of a module (kept off the autodiff graph).
#[derive(Debug, Clone)]
pub struct Ema<M> {
    /// The averaged module.
    pub model: M,
    /// The decay per update, e.g. 0.999.
    pub decay: f64,
}

impl<M: Module> Ema<M> {
    /// Starts the average at the current weights of `model`.
    pub fn new(model: &M, decay: f64) -> Self {
        Ema {
            model: model.valid(),
            decay,
        }
    }

    /// Moves the average towards `model`. Parameters are matched by id, so `model` must be the
    /// module this EMA was created from (or a checkpointed copy of it).
    pub fn update(&mut self, model: &M) {
        struct Collect(HashMap<ParamId, Tensor<1>>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let t = param.val().detach().inner();
                let n = t.shape().num_elements();
                self.0.insert(param.id, t.reshape([n]));
            }
        }
        struct Blend {
            live: HashMap<ParamId, Tensor<1>>,
            decay: f64,
        }
        impl ModuleMapper for Blend {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let Some(live) = self.live.remove(&param.id) else {
                    return param;
                };
                let decay = self.decay;
                param.map(|ema| {
                    let shape = ema.shape();
                    ema.mul_scalar(decay) + live.reshape(shape).mul_scalar(1.0 - decay)
                })
            }
        }
        let mut collect = Collect(HashMap::new());
        model.visit(&mut collect);
        self.model = self.model.clone().map(&mut Blend {
            live: collect.0,
            decay: self.decay,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    #[test]
    fn ema_moves_by_one_minus_decay() {
        let device = Device::flex();
        let a: Linear = LinearConfig::new(3, 2).init(&device);
        let mut ema = Ema::new(&a, 0.9);
        let shifted = a.clone().map(&mut AddOne);
        ema.update(&shifted);
        let diff = (ema.model.weight.val() - a.weight.val())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for d in diff {
            assert!((d - 0.1).abs() < 1e-6, "{d}");
        }
    }

    struct AddOne;
    impl ModuleMapper for AddOne {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| t.add_scalar(1.0))
        }
    }
}

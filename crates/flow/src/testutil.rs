//! Small seeded networks for unit tests, here and in the crates built on flow (genlab-cmt).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor};

use crate::net::{TimeMlp, TimeMlpConfig};

/// A seeded 2-layer, width-8 network (smooth, for gradient checks).
pub fn tiny_net(dim: usize, device: &Device) -> TimeMlp {
    device.seed(11);
    TimeMlpConfig::new(dim)
        .with_width(8)
        .with_depth(2)
        .with_n_freqs(2)
        .init(device)
}

/// A network whose output is identically zero.
pub fn zero_net(dim: usize, device: &Device) -> TimeMlp {
    struct Zero;
    impl ModuleMapper for Zero {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            p.map(|t| t.zeros_like())
        }
    }
    tiny_net(dim, device).map(&mut Zero)
}

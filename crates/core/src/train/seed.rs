//! Seeded randomness. Every run takes one seed; host-side draws (batches, noise, times) come
//! from a [`SeededRng`] whose full state is a `(seed, position)` pair, so a checkpoint can store
//! it and a resumed run continues the exact same random stream.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The complete state of a [`SeededRng`]: enough to continue its stream exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The seed the stream started from.
    pub seed: u64,
    /// The ChaCha word position reached (how many 32-bit words were consumed).
    pub word_pos: u128,
}

/// A ChaCha8 generator that remembers its seed, with helpers that draw burn tensors.
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: u64,
    rng: ChaCha8Rng,
}

impl SeededRng {
    /// A fresh stream from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Continues the stream recorded in `state`.
    pub fn from_state(state: RngState) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(state.seed);
        rng.set_word_pos(state.word_pos);
        SeededRng {
            seed: state.seed,
            rng,
        }
    }

    /// The current state, for checkpoints.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            word_pos: self.rng.get_word_pos(),
        }
    }

    /// An independent child stream, e.g. one per seed of a multi-seed experiment or one per
    /// purpose (data vs noise) so that changing one does not shift the other.
    pub fn fork(&mut self) -> SeededRng {
        SeededRng::new(self.rng.next_u64())
    }

    /// `n` standard-normal f32 draws.
    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| StandardNormal.sample(&mut self.rng))
            .collect()
    }

    /// `n` uniform f32 draws in `[0, 1)`.
    pub fn uniform_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.rng.random::<f32>()).collect()
    }

    /// A standard-normal tensor of shape `[rows, cols]`.
    pub fn normal<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        let n = shape.iter().product();
        Tensor::from_data(TensorData::new(self.normal_vec(n), shape), device)
    }

    /// A uniform `[0, 1)` tensor of the given shape.
    pub fn uniform<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        let n = shape.iter().product();
        Tensor::from_data(TensorData::new(self.uniform_vec(n), shape), device)
    }

    /// `k` indices drawn uniformly with replacement from `0..n` (minibatch sampling).
    pub fn indices(&mut self, k: usize, n: usize) -> Vec<usize> {
        (0..k).map(|_| self.rng.random_range(0..n)).collect()
    }

    /// A uniformly random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.random_range(0..=i);
            p.swap(i, j);
        }
        p
    }

    /// The underlying generator, for `rand` APIs.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// Seeds burn's own generator (used by parameter initialisation) on `device`.
pub fn seed_device(device: &Device, seed: u64) {
    device.seed(seed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_continues_the_stream() {
        let mut a = SeededRng::new(7);
        a.normal_vec(13);
        let mut b = SeededRng::from_state(a.state());
        assert_eq!(a.normal_vec(5), b.normal_vec(5));
        assert_ne!(
            SeededRng::new(7).normal_vec(5),
            SeededRng::new(8).normal_vec(5)
        );
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = SeededRng::new(1).permutation(100);
        p.sort();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }
}

//! Radix-2 complex FFT (iterative Cooley–Tukey, decimation in time):
//! `X[k] = Σ_{n<N} x[n]·e^{-2πi kn/N}` for `N` a power of two. Input is permuted into
//! bit-reversed order, then `log2 N` butterfly passes combine pairs of half-size transforms:
//! `X[k] = E[k] + w^k O[k]`, `X[k + N/2] = E[k] - w^k O[k]`, `w = e^{-2πi/N}`.

/// A precomputed transform of one size.
#[derive(Debug, Clone)]
pub struct Fft {
    n: usize,
    /// `e^{-2πi k/N}` for `k < N/2`.
    twiddles: Vec<(f64, f64)>,
    /// Bit-reversal permutation.
    reversed: Vec<usize>,
}

impl Fft {
    /// A plan for size `n`; `None` unless `n` is a power of two.
    pub fn new(n: usize) -> Option<Self> {
        if !n.is_power_of_two() {
            return None;
        }
        let bits = n.trailing_zeros();
        let twiddles = (0..n / 2)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .collect();
        let reversed = (0..n)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                }
            })
            .collect();
        Some(Fft {
            n,
            twiddles,
            reversed,
        })
    }

    /// Transform size.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for the size-0 plan (never built; `new(0)` is `None`).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// In-place transform of `(re, im)`, both of length `n`.
    pub fn forward(&self, re: &mut [f64], im: &mut [f64]) {
        let n = self.n;
        for i in 0..n {
            let j = self.reversed[i];
            if j > i {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut half = 1;
        while half < n {
            let stride = n / (2 * half);
            for start in (0..n).step_by(2 * half) {
                for k in 0..half {
                    let (wr, wi) = self.twiddles[k * stride];
                    let (a, b) = (start + k, start + k + half);
                    let tr = wr * re[b] - wi * im[b];
                    let ti = wr * im[b] + wi * re[b];
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            half *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_dft() {
        for n in [1, 2, 8, 64, 256] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let y: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64 - 3.0) / 2.0).collect();
            let (mut re, mut im) = (x.clone(), y.clone());
            Fft::new(n).unwrap().forward(&mut re, &mut im);
            for k in 0..n {
                let (mut sr, mut si) = (0.0, 0.0);
                for t in 0..n {
                    let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                    sr += x[t] * a.cos() - y[t] * a.sin();
                    si += x[t] * a.sin() + y[t] * a.cos();
                }
                assert!(
                    (re[k] - sr).abs() < 1e-9 * n as f64 && (im[k] - si).abs() < 1e-9 * n as f64,
                    "n {n} k {k}"
                );
            }
        }
        assert!(Fft::new(12).is_none());
    }
}

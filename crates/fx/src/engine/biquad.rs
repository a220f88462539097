//! Second-order IIR sections with the RBJ "Audio EQ Cookbook" coefficients (Robert
//! Bristow-Johnson), run in transposed direct form II.
//!
//! With `A = 10^(gain_dB/40)`, `ω0 = 2π f0/fs`, `α = sin ω0 / (2Q)`, `c = cos ω0`:
//!
//! - peaking:    `b = [1 + αA, -2c, 1 - αA]`, `a = [1 + α/A, -2c, 1 - α/A]`
//! - low shelf:  `b = A·[(A+1) - (A-1)c + 2√A α, 2((A-1) - (A+1)c), (A+1) - (A-1)c - 2√A α]`,
//!   `a = [(A+1) + (A-1)c + 2√A α, -2((A-1) + (A+1)c), (A+1) + (A-1)c - 2√A α]`
//! - high shelf: `b = A·[(A+1) + (A-1)c + 2√A α, -2((A-1) + (A+1)c), (A+1) + (A-1)c - 2√A α]`,
//!   `a = [(A+1) - (A-1)c + 2√A α, 2((A-1) - (A+1)c), (A+1) - (A-1)c - 2√A α]`
//!
//! all divided by `a0`. The peaking filter has gain exactly `gain_dB` at `f0`; the low shelf has it
//! at DC, the high shelf at Nyquist. Transposed direct form II, per sample:
//! `y = b0 x + s1;  s1 = b1 x - a1 y + s2;  s2 = b2 x - a2 y` (state in `f64`).

/// Normalised biquad coefficients (`a0 = 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    /// Feed-forward `b0`.
    pub b0: f64,
    /// Feed-forward `b1`.
    pub b1: f64,
    /// Feed-forward `b2`.
    pub b2: f64,
    /// Feedback `a1`.
    pub a1: f64,
    /// Feedback `a2`.
    pub a2: f64,
}

struct Terms {
    a: f64,
    alpha: f64,
    cos: f64,
}

fn terms(fs: f64, f0: f64, q: f64, gain_db: f64) -> Terms {
    let w0 = 2.0 * std::f64::consts::PI * f0 / fs;
    Terms {
        a: 10f64.powf(gain_db / 40.0),
        alpha: w0.sin() / (2.0 * q),
        cos: w0.cos(),
    }
}

impl Coeffs {
    fn normalised(b: [f64; 3], a: [f64; 3]) -> Self {
        Coeffs {
            b0: b[0] / a[0],
            b1: b[1] / a[0],
            b2: b[2] / a[0],
            a1: a[1] / a[0],
            a2: a[2] / a[0],
        }
    }

    /// Peaking (bell) filter at `f0` Hz.
    pub fn peaking(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let Terms { a, alpha, cos } = terms(fs, f0, q, gain_db);
        Self::normalised(
            [1.0 + alpha * a, -2.0 * cos, 1.0 - alpha * a],
            [1.0 + alpha / a, -2.0 * cos, 1.0 - alpha / a],
        )
    }

    /// Low shelf with corner `f0` Hz.
    pub fn low_shelf(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let Terms { a, alpha, cos } = terms(fs, f0, q, gain_db);
        let k = 2.0 * a.sqrt() * alpha;
        Self::normalised(
            [
                a * ((a + 1.0) - (a - 1.0) * cos + k),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
                a * ((a + 1.0) - (a - 1.0) * cos - k),
            ],
            [
                (a + 1.0) + (a - 1.0) * cos + k,
                -2.0 * ((a - 1.0) + (a + 1.0) * cos),
                (a + 1.0) + (a - 1.0) * cos - k,
            ],
        )
    }

    /// High shelf with corner `f0` Hz.
    pub fn high_shelf(fs: f64, f0: f64, q: f64, gain_db: f64) -> Self {
        let Terms { a, alpha, cos } = terms(fs, f0, q, gain_db);
        let k = 2.0 * a.sqrt() * alpha;
        Self::normalised(
            [
                a * ((a + 1.0) + (a - 1.0) * cos + k),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
                a * ((a + 1.0) + (a - 1.0) * cos - k),
            ],
            [
                (a + 1.0) - (a - 1.0) * cos + k,
                2.0 * ((a - 1.0) - (a + 1.0) * cos),
                (a + 1.0) - (a - 1.0) * cos - k,
            ],
        )
    }

    /// `|H(e^{jω})|` in dB at `f` Hz: `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²)/(1 + a1 z⁻¹ + a2 z⁻²)`.
    pub fn magnitude_db(&self, fs: f64, f: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * f / fs;
        let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
        let num = (self.b0 + self.b1 * c1 + self.b2 * c2).hypot(self.b1 * s1 + self.b2 * s2);
        let den = (1.0 + self.a1 * c1 + self.a2 * c2).hypot(self.a1 * s1 + self.a2 * s2);
        20.0 * (num / den).log10()
    }
}

impl From<Coeffs32> for Coeffs {
    fn from(c: Coeffs32) -> Self {
        Coeffs {
            b0: c.b0 as f64,
            b1: c.b1 as f64,
            b2: c.b2 as f64,
            a1: c.a1 as f64,
            a2: c.a2 as f64,
        }
    }
}

/// Normalised biquad coefficients in `f32`, as JUCE's `dsp::IIR::Coefficients<float>` holds
/// them (pedalboard's `LowShelfFilter`, `PeakFilter` and `HighShelfFilter`). The same RBJ
/// formulas as [`Coeffs`], written in JUCE's operation order (`juce_IIRFilter.cpp` at the
/// commit pedalboard pins, `ddaa0911`) and evaluated in `f32`; the corner is at least 2 Hz,
/// `gain` is the linear factor `10^(dB/20)` and `a0` is divided out as `x·(1/a0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs32 {
    /// Feed-forward `b0`.
    pub b0: f32,
    /// Feed-forward `b1`.
    pub b1: f32,
    /// Feed-forward `b2`.
    pub b2: f32,
    /// Feedback `a1`.
    pub a1: f32,
    /// Feedback `a2`.
    pub a2: f32,
}

/// JUCE's `ω = (2·π·max(f, 2))/fs` in `f32`.
fn omega32(fs: f64, f: f32) -> f32 {
    2.0 * std::f32::consts::PI * f.max(2.0) / fs as f32
}

impl Coeffs32 {
    fn normalised(v: [f32; 6]) -> Self {
        let inv = if v[3] != 0.0 { 1.0 / v[3] } else { 0.0 };
        Coeffs32 {
            b0: v[0] * inv,
            b1: v[1] * inv,
            b2: v[2] * inv,
            a1: v[4] * inv,
            a2: v[5] * inv,
        }
    }

    /// JUCE's `makePeakFilter(fs, f0, Q, gain)`.
    pub fn peak(fs: f64, f0: f32, q: f32, gain: f32) -> Self {
        let a = gain.sqrt().max(0.0);
        let w = omega32(fs, f0);
        let alpha = w.sin() / (q * 2.0);
        let c2 = -2.0 * w.cos();
        let (at, ao) = (alpha * a, alpha / a);
        Self::normalised([1.0 + at, c2, 1.0 - at, 1.0 + ao, c2, 1.0 - ao])
    }

    /// JUCE's `makeLowShelf(fs, f0, Q, gain)`.
    pub fn low_shelf(fs: f64, f0: f32, q: f32, gain: f32) -> Self {
        let a = gain.sqrt().max(0.0);
        let (am1, ap1) = (a - 1.0, a + 1.0);
        let w = omega32(fs, f0);
        let cos = w.cos();
        let beta = w.sin() * a.sqrt() / q;
        let amc = am1 * cos;
        Self::normalised([
            a * (ap1 - amc + beta),
            a * 2.0 * (am1 - ap1 * cos),
            a * (ap1 - amc - beta),
            ap1 + amc + beta,
            -2.0 * (am1 + ap1 * cos),
            ap1 + amc - beta,
        ])
    }

    /// JUCE's `makeHighShelf(fs, f0, Q, gain)`.
    pub fn high_shelf(fs: f64, f0: f32, q: f32, gain: f32) -> Self {
        let a = gain.sqrt().max(0.0);
        let (am1, ap1) = (a - 1.0, a + 1.0);
        let w = omega32(fs, f0);
        let cos = w.cos();
        let beta = w.sin() * a.sqrt() / q;
        let amc = am1 * cos;
        Self::normalised([
            a * (ap1 + amc + beta),
            a * -2.0 * (am1 + ap1 * cos),
            a * (ap1 + amc - beta),
            ap1 - amc + beta,
            2.0 * (am1 - ap1 * cos),
            ap1 - amc - beta,
        ])
    }
}

/// One `f32` section state, run as JUCE's `IIR::Filter<float>` runs it (transposed direct
/// form II): `y = x·b0 + s1;  s1 = (x·b1 - y·a1) + s2;  s2 = x·b2 - y·a2`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct State32 {
    s1: f32,
    s2: f32,
}

impl State32 {
    /// One sample through section `c`.
    #[inline(always)]
    pub fn tick(&mut self, c: &Coeffs32, x: f32) -> f32 {
        let y = x * c.b0 + self.s1;
        self.s1 = x * c.b1 - y * c.a1 + self.s2;
        self.s2 = x * c.b2 - y * c.a2;
        y
    }
}

/// One biquad section with its state.
#[derive(Debug, Clone)]
pub struct Biquad {
    /// Current coefficients (may change between blocks; the state is kept).
    pub coeffs: Coeffs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// A section at rest.
    pub fn new(coeffs: Coeffs) -> Self {
        Biquad {
            coeffs,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    /// Filters `x` in place.
    pub fn process(&mut self, x: &mut [f32]) {
        let Coeffs { b0, b1, b2, a1, a2 } = self.coeffs;
        let (mut s1, mut s2) = (self.s1, self.s2);
        for v in x {
            let xin = *v as f64;
            let y = b0 * xin + s1;
            s1 = b1 * xin - a1 * y + s2;
            s2 = b2 * xin - a2 * y;
            *v = y as f32;
        }
        self.s1 = s1;
        self.s2 = s2;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Steady-state gain in dB measured by filtering a sine and comparing RMS after the transient.
    pub(crate) fn measured_gain_db(mut bq: Biquad, fs: f64, f: f64) -> f64 {
        let n = (fs as usize) / 2;
        let mut x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / fs).sin() as f32 * 0.25)
            .collect();
        let input = x.clone();
        bq.process(&mut x);
        let skip = n / 2;
        let rms = |v: &[f32]| (v[skip..].iter().map(|&s| (s as f64).powi(2)).sum::<f64>()).sqrt();
        20.0 * (rms(&x) / rms(&input)).log10()
    }

    #[test]
    fn peaking_gain_at_centre_is_the_requested_gain() {
        let fs = 44100.0;
        for (f0, q, g) in [(1000.0, 0.7, 6.0), (3000.0, 2.0, -12.0), (250.0, 4.0, 18.0)] {
            let c = Coeffs::peaking(fs, f0, q, g);
            assert!((c.magnitude_db(fs, f0) - g).abs() < 1e-9);
            let m = measured_gain_db(Biquad::new(c), fs, f0);
            assert!(
                (m - g).abs() < 0.1,
                "f0 {f0} q {q}: measured {m} dB, wanted {g}"
            );
            // Far from the centre the bell is flat.
            assert!(c.magnitude_db(fs, f0 / 30.0).abs() < 0.5);
        }
    }

    #[test]
    fn shelves_reach_their_gain_at_the_band_edge_and_unity_on_the_other() {
        let fs = 44100.0;
        let lo = Coeffs::low_shelf(fs, 200.0, 0.7, 9.0);
        assert!((lo.magnitude_db(fs, 0.0) - 9.0).abs() < 1e-9);
        assert!(lo.magnitude_db(fs, 20000.0).abs() < 0.05);
        assert!((measured_gain_db(Biquad::new(lo), fs, 30.0) - 9.0).abs() < 0.2);
        let hi = Coeffs::high_shelf(fs, 6000.0, 0.7, -10.0);
        assert!((hi.magnitude_db(fs, fs / 2.0) + 10.0).abs() < 1e-9);
        assert!(hi.magnitude_db(fs, 50.0).abs() < 0.05);
        // Corner frequency: half the gain in dB (the shelf midpoint).
        assert!((hi.magnitude_db(fs, 6000.0) + 5.0).abs() < 1e-6);
        assert!((lo.magnitude_db(fs, 200.0) - 4.5).abs() < 1e-6);
    }

    #[test]
    fn processing_in_pieces_equals_processing_at_once() {
        let c = Coeffs::peaking(48000.0, 500.0, 1.0, 5.0);
        let x: Vec<f32> = (0..1000)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let mut a = x.clone();
        Biquad::new(c).process(&mut a);
        let mut b = x.clone();
        let mut bq = Biquad::new(c);
        for chunk in b.chunks_mut(37) {
            bq.process(chunk);
        }
        assert_eq!(a, b);
    }
}

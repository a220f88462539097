//! `x^e` and `tanh` over a slice, written so the compiler vectorises them (no branches, no
//! calls): the dynamics processors need one power per sample and the distortion one `tanh`, and
//! libm's scalar `powf`/`tanhf` were their hot spots. `tanh` is built on `exp` below
//! ([`tanh`]).
//!
//! `x^e = exp(e·ln x)` in `f64`, for `x > 0` finite:
//!
//! - `ln x`: `x = m·2^k` with `m ∈ [√½, √2)`; `s = (m - 1)/(m + 1)`, `z = s²`,
//!   `ln m = 2s·(1 + z/3 + z²/5 + … + z⁷/15)` (`|s| ≤ 0.1716`, truncation `< 3·10⁻¹³`);
//!   `ln x = k·ln2_hi + (k·ln2_lo + ln m)` with `ln 2` split in two (`ln2_hi` has 32 bits, so
//!   `k·ln2_hi` is exact for `|k| < 2²⁰`).
//! - `exp y`: `y = j·ln 2 + r`, `j = round(y/ln 2)`, `|r| ≤ ln2/2`;
//!   `e^r = Σ_{n≤12} rⁿ/n!` (truncation `< 10⁻¹⁵`), then `·2^j` through the exponent bits.
//!   `y` is clamped to `[-700, 700]`.
//!
//! Integer ↔ float conversions use the `1.5·2⁵²` trick (adding it leaves `round(v)` in the
//! low mantissa bits), so every step is an IEEE add, multiply, divide, compare or bit
//! operation, vectorisable on any x86-64 level. The relative error is below `10⁻¹²`, far
//! under `f32`'s half-ulp (`3·10⁻⁸`): rounded to `f32` the result equals the correctly rounded
//! `x^e` except in the rare near-tie cases (tested against `f64::powf`). The result does not
//! depend on which instruction set runs it: the same IEEE operations in the same order.

const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const LOG2_E: f64 = std::f64::consts::LOG2_E;
const SQRT2: f64 = std::f64::consts::SQRT_2;
/// `1.5·2⁵²`: `v + MAGIC` holds `round(v)` in its low bits for `|v| < 2⁵¹`.
const MAGIC: f64 = 6_755_399_441_055_744.0;
const MANTISSA: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;

/// `ln x` for positive finite normal `x`.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    // Biased exponent as a float, exactly: 2⁵² + e_biased - 2⁵².
    let biased = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52)) - 4_503_599_627_370_496.0;
    let m1 = f64::from_bits((bits & MANTISSA) | ONE_BITS); // [1, 2)
    let big = m1 > SQRT2;
    let m = if big { 0.5 * m1 } else { m1 };
    let k = biased - 1023.0 + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = 1.0
        + z * (1.0 / 3.0
            + z * (1.0 / 5.0
                + z * (1.0 / 7.0
                    + z * (1.0 / 9.0 + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0)))))));
    k * LN2_HI + (k * LN2_LO + 2.0 * s * p)
}

/// `e^y` for finite `y` (clamped to `[-700, 700]`).
#[inline(always)]
pub fn exp(y: f64) -> f64 {
    let y = y.clamp(-700.0, 700.0);
    let t = y * LOG2_E + MAGIC;
    let j = t - MAGIC;
    let r = (y - j * LN2_HI) - j * LN2_LO;
    let mut p = 1.0 / 479_001_600.0; // 1/12!
    for n in (1..12).rev() {
        p = p * r + INV_FACTORIAL[n];
    }
    let p = p * r + 1.0;
    // 2^j: j sits in the low bits of t (two's complement); add the bias and shift it into
    // the exponent field (only the low 11 bits survive the shift, and j + 1023 ∈ [13, 2033]).
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    p * scale
}

/// `1/n!` for `n < 12`.
const INV_FACTORIAL: [f64; 12] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
];

/// `x^e` for positive finite normal `x`.
#[inline(always)]
pub fn pow(x: f64, e: f64) -> f64 {
    exp(e * ln(x))
}

/// `tanh t` in `f64`: `t - t³/3 + 2t⁵/15` for `|t| < 10⁻³` (next term `17t⁷/315`, relative
/// `< 10⁻¹⁹`), else `sign(t)·(1 - e^{-2|t|})/(1 + e^{-2|t|})` (relative error `< 10⁻¹²` there).
#[inline(always)]
pub fn tanh(t: f64) -> f64 {
    let a = t.abs();
    let e = exp(-2.0 * a);
    let big = (1.0 - e) / (1.0 + e);
    let t2 = t * t;
    let small = t * (1.0 + t2 * (-1.0 / 3.0 + t2 * (2.0 / 15.0)));
    if a < 1e-3 { small } else { big.copysign(t) }
}

/// `v[i] ← tanh(v[i]·k)` in `f32` (the product rounded to `f32` first, as a gain stage then a
/// waveshaper compute it); `tanh` in `f64` rounded to `f32`, so the result equals the correctly
/// rounded `tanhf` except on near-ties.
pub fn tanh_scaled_in_place(v: &mut [f32], k: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above).
            unsafe { tanh_avx2(v, k) };
            return;
        }
    }
    tanh_generic(v, k);
}

#[inline(always)]
fn tanh_generic(v: &mut [f32], k: f32) {
    for x in v {
        *x = tanh((*x * k) as f64) as f32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tanh_avx2(v: &mut [f32], k: f32) {
    tanh_generic(v, k);
}

/// `v[i] ← v[i]^e` for every element (each `v[i]` positive, finite and normal).
pub fn pow_in_place(v: &mut [f64], e: f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above).
            unsafe { pow_avx2(v, e) };
            return;
        }
    }
    pow_generic(v, e);
}

#[inline(always)]
fn pow_generic(v: &mut [f64], e: f64) {
    for x in v {
        *x = pow(*x, e);
    }
}

/// The same loop compiled for AVX2 (the same IEEE operations, four lanes at a time; no FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pow_avx2(v: &mut [f64], e: f64) {
    pow_generic(v, e);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test values spread over many decades.
    fn spread(n: usize, lo: f64, hi: f64) -> Vec<f64> {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                lo * (hi / lo).powf(u)
            })
            .collect()
    }

    #[test]
    fn ln_and_exp_match_std_to_1e_13() {
        for x in spread(20_000, 1e-30, 1e30).into_iter().chain([
            1.0,
            2.0,
            0.5,
            SQRT2,
            SQRT2 * (1.0 + 1e-16),
        ]) {
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                "ln {x}: {a} vs {b}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
        for y in spread(20_000, 1e-6, 690.0)
            .into_iter()
            .flat_map(|y| [y, -y])
            .chain([0.0, 1.0, -1.0])
        {
            let (a, b) = (exp(y), y.exp());
            assert!((a - b).abs() <= 1e-13 * b, "exp {y}: {a} vs {b}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1e9) > 0.0 && exp(1e9).is_finite());
    }

    #[test]
    fn pow_rounded_to_f32_is_the_correctly_rounded_power() {
        // The compressor's use: x = env/threshold ≥ ~1, e = 1/ratio - 1 ∈ [-1, 0).
        let xs = spread(50_000, 0.5, 1e4);
        let mut mismatches = 0;
        for (i, &x) in xs.iter().enumerate() {
            let x32 = x as f32;
            let e32 = -((i % 997) as f32 + 1.0) / 998.0;
            let want = (x32 as f64).powf(e32 as f64);
            let got = pow(x32 as f64, e32 as f64);
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "{x32}^{e32}: {got} vs {want}"
            );
            if got as f32 != want as f32 {
                mismatches += 1;
            }
        }
        // Only near-ties can round differently (≈ 1e-12 / 6e-8 of the cases).
        assert!(mismatches <= 2, "{mismatches}");
        assert_eq!(pow(1.0, -0.75), 1.0);
    }

    #[test]
    fn tanh_rounded_to_f32_is_tanhf() {
        let mut mismatches = 0;
        let xs = spread(20_000, 1e-8, 30.0);
        for (i, &x) in xs.iter().enumerate() {
            let x = if i % 2 == 0 { x } else { -x } as f32;
            let (got, want) = (tanh(x as f64), (x as f64).tanh());
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{x}: {got} vs {want}"
            );
            if got as f32 != want as f32 {
                mismatches += 1;
            }
        }
        assert!(mismatches <= 3, "{mismatches}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(1e6), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        let mut v = vec![0.5f32, -2.0, 1e-5, 0.0];
        tanh_scaled_in_place(&mut v, 2.0);
        assert_eq!(v, [1.0f32, -4.0, 2e-5, 0.0].map(|x| tanh(x as f64) as f32));
    }

    #[test]
    fn slice_kernel_equals_the_scalar_formula_bit_for_bit() {
        for n in [0usize, 1, 3, 4, 7, 64, 1001] {
            let xs = spread(n, 0.9, 300.0);
            let mut v = xs.clone();
            pow_in_place(&mut v, -0.8);
            for (a, x) in v.iter().zip(&xs) {
                assert_eq!(a.to_bits(), pow(*x, -0.8).to_bits());
            }
        }
    }
}

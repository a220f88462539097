//! Causal grouped-query attention over a sequence's keys and values (equations in the parent
//! module's doc), for a whole batch of sequences or for new rows after a cached prefix.
//!
//! ```text
//! per (sequence, query head h, block of 16 query rows), kv head g = ⌊h / (H/K)⌋:
//!   s_t  = (q_t / … ) Kᵀ_g / √d_h   over keys 0 ..= t        tiles of 64 keys, Kᵀ_g stored [d_h, T]
//!   p_t  = exp(s_t − max s_t)                                  polynomial exp, vectorised
//!   o_t  = (Σ_s p_ts v_s) / Σ_s p_ts
//! ```
//!
//! No score matrix is materialised beyond one row; keys are transposed once per (sequence, kv
//! head) so that `q Kᵀ` runs as broadcast-multiply-adds into 64 register accumulators. A few
//! query rows (decode) read the keys in place with dot products instead. Every row is summed
//! in one fixed order, whatever the thread count.

use rayon::prelude::*;

use super::kernels::dot_inline;

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heads {
    /// Query heads H.
    pub n_head: usize,
    /// Key/value heads K.
    pub n_kv_head: usize,
    /// Head width d_h.
    pub head_dim: usize,
}

/// Query rows per attention task.
const QUERY_BLOCK: usize = 16;
/// Keys per tile of `q Kᵀ`.
const KEY_TILE: usize = 64;
/// Up to this many query rows per sequence read the keys in place (no transposed copy).
const FEW_QUERIES: usize = 4;

/// Causal grouped-query attention. `q` is `[B·T, H·d_h]`, `k` and `v` are `[B·T, K·d_h]`
/// (B sequences of T positions); returns `[B·T, H·d_h]`. Query head h reads key/value head
/// `h / (H / K)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    seq_len: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
) -> Vec<f32> {
    debug_assert_eq!(q.len(), n_seq * seq_len * n_head * head_dim);
    let heads = Heads {
        n_head,
        n_kv_head,
        head_dim,
    };
    attend(q, k, v, n_seq, 0, heads)
}

/// Causal grouped-query attention of `n` new rows per sequence after a prefix of `start`
/// cached ones: `q` is `[B·n, H·d_h]` (query t of a sequence sits at position `start + t`),
/// `k` and `v` are `[B·(start + n), K·d_h]`; query t reads keys `0 ..= start + t` of its
/// sequence. Work is split over (sequence, head, block of 16 queries).
pub(super) fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    start: usize,
    s: Heads,
) -> Vec<f32> {
    let (qw, kw, hd) = (s.n_head * s.head_dim, s.n_kv_head * s.head_dim, s.head_dim);
    let n = q.len() / qw / n_seq;
    let kv_len = start + n;
    let blocks = n.div_ceil(QUERY_BLOCK);
    let group = s.n_head / s.n_kv_head;
    let kt: Vec<Vec<f32>> = if n > FEW_QUERIES {
        (0..n_seq * s.n_kv_head)
            .into_par_iter()
            .map(|bg| {
                let (b, g) = (bg / s.n_kv_head, bg % s.n_kv_head);
                let mut t = vec![0.0f32; hd * kv_len];
                for p in 0..kv_len {
                    let row = &k[(b * kv_len + p) * kw + g * hd..][..hd];
                    for (j, &x) in row.iter().enumerate() {
                        t[j * kv_len + p] = x;
                    }
                }
                t
            })
            .collect()
    } else {
        Vec::new()
    };
    let parts: Vec<Vec<f32>> = (0..n_seq * s.n_head * blocks)
        .into_par_iter()
        .map(|task| {
            let (b, h, qb) = (
                task / (s.n_head * blocks),
                task / blocks % s.n_head,
                task % blocks,
            );
            let rows = qb * QUERY_BLOCK..((qb + 1) * QUERY_BLOCK).min(n);
            let mut out = vec![0.0f32; rows.len() * hd];
            let view = HeadView {
                q: &q[(b * n + rows.start) * qw..(b * n + rows.end) * qw],
                k: &k[b * kv_len * kw..(b + 1) * kv_len * kw],
                kt: kt.get(b * s.n_kv_head + h / group).map(Vec::as_slice),
                v: &v[b * kv_len * kw..(b + 1) * kv_len * kw],
                q_at: h * hd,
                kv_at: h / group * hd,
                qw,
                kw,
                kv_len,
                head_dim: hd,
                first_pos: start + rows.start,
            };
            head_rows(&mut out, &view);
            out
        })
        .collect();
    let mut out = vec![0.0f32; n_seq * n * qw];
    for (task, part) in parts.iter().enumerate() {
        let (b, h, qb) = (
            task / (s.n_head * blocks),
            task / blocks % s.n_head,
            task % blocks,
        );
        for (i, o) in part.chunks_exact(hd).enumerate() {
            let row = (b * n + qb * QUERY_BLOCK + i) * qw + h * hd;
            out[row..row + hd].copy_from_slice(o);
        }
    }
    out
}

/// One head's slice of a block of query rows and of its sequence's keys and values.
struct HeadView<'a> {
    q: &'a [f32],
    k: &'a [f32],
    /// The keys of this head transposed, `[d_h, kv_len]` (absent for a few rows).
    kt: Option<&'a [f32]>,
    v: &'a [f32],
    q_at: usize,
    kv_at: usize,
    qw: usize,
    kw: usize,
    kv_len: usize,
    head_dim: usize,
    first_pos: usize,
}

fn head_rows(out: &mut [f32], h: &HeadView<'_>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            unsafe { head_rows_avx2(out, h) };
            return;
        }
    }
    head_rows_portable(out, h);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn head_rows_avx2(out: &mut [f32], h: &HeadView<'_>) {
    head_rows_portable(out, h);
}

/// `o_t = Σ_{s ≤ t} softmax_s(q_t · k_s / √d_h) v_s` for each query row of the block.
#[inline(always)]
fn head_rows_portable(out: &mut [f32], h: &HeadView<'_>) {
    let hd = h.head_dim;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut p = vec![0.0f32; h.first_pos + out.len() / hd];
    for (i, ot) in out.chunks_exact_mut(hd).enumerate() {
        let t = h.first_pos + i;
        let qt = &h.q[i * h.qw + h.q_at..][..hd];
        let p = &mut p[..=t];
        match h.kt {
            Some(kt) => scores_tiled(p, qt, kt, h.kv_len),
            None => {
                for (s, ps) in p.iter_mut().enumerate() {
                    *ps = dot_inline(qt, &h.k[s * h.kw + h.kv_at..][..hd]);
                }
            }
        }
        let max = p.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        let mut sum = 0.0f32;
        for ps in p.iter_mut() {
            *ps = exp_neg((*ps - max) * scale);
            sum += *ps;
        }
        if hd == 64 {
            weighted_sum::<64>(ot, p, h.v, h.kw, h.kv_at);
        } else {
            weighted_sum_any(ot, p, h.v, h.kw, h.kv_at);
        }
        let inv = 1.0 / sum;
        for o in ot.iter_mut() {
            *o *= inv;
        }
    }
}

/// `p_s = q · k_s` for s < p.len(), from the transposed keys `kt` (`[d_h, kv_len]`): tiles of
/// 64 keys accumulate `q_j Kᵀ[j, tile]` over j in registers.
#[inline(always)]
fn scores_tiled(p: &mut [f32], q: &[f32], kt: &[f32], kv_len: usize) {
    let len = p.len();
    let mut tiles = p.chunks_exact_mut(KEY_TILE);
    for (ti, tile) in tiles.by_ref().enumerate() {
        let mut acc = [0.0f32; KEY_TILE];
        for (j, &a) in q.iter().enumerate() {
            let row: &[f32; KEY_TILE] = kt[j * kv_len + ti * KEY_TILE..][..KEY_TILE]
                .try_into()
                .unwrap();
            for c in 0..KEY_TILE {
                acc[c] += a * row[c];
            }
        }
        tile.copy_from_slice(&acc);
    }
    let rest = tiles.into_remainder();
    let from = len - rest.len();
    rest.fill(0.0);
    for (j, &a) in q.iter().enumerate() {
        let row = &kt[j * kv_len + from..][..rest.len()];
        for (ps, &x) in rest.iter_mut().zip(row) {
            *ps += a * x;
        }
    }
}

/// `Σ_s p_s v_s` for a head width known at compile time (64 registers of accumulators).
#[inline(always)]
fn weighted_sum<const HD: usize>(o: &mut [f32], p: &[f32], v: &[f32], kw: usize, at: usize) {
    let mut acc = [0.0f32; HD];
    for (s, &w) in p.iter().enumerate() {
        let vs: &[f32; HD] = v[s * kw + at..][..HD].try_into().unwrap();
        for c in 0..HD {
            acc[c] += w * vs[c];
        }
    }
    o.copy_from_slice(&acc);
}

/// [`weighted_sum`] for any head width.
#[inline(always)]
fn weighted_sum_any(o: &mut [f32], p: &[f32], v: &[f32], kw: usize, at: usize) {
    o.fill(0.0);
    let hd = o.len();
    for (s, &w) in p.iter().enumerate() {
        for (o, &x) in o.iter_mut().zip(&v[s * kw + at..][..hd]) {
            *o += w * x;
        }
    }
}

/// `eˣ` for `x ≤ 0` (a score minus its row's maximum), to about 1 ulp: `x = n ln 2 + r` with
/// `|r| ≤ ln 2 / 2`, `eʳ` by its degree-7 Taylor polynomial (truncation < 6·10⁻⁹), `2ⁿ` put in
/// the exponent bits. Below −86 it returns e⁻⁸⁶ ≈ 4·10⁻³⁸ (instead of a subnormal or 0): a
/// weight that small against the row's largest, which is 1, changes no sum. Branch-free, so a
/// loop of it vectorises.
#[inline(always)]
pub(super) fn exp_neg(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 355.0 / 512.0; // n · LN2_HI is exact for |n| < 2¹⁵
    const LN2_LO: f32 = -2.121_944_4e-4; // ln 2 − LN2_HI
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer in the bits
    let x = x.clamp(-86.0, 0.0);
    let big = x * LOG2_E + ROUND;
    let n = big - ROUND;
    let n_bits = (big.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut e = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        e = e * r + c;
    }
    f32::from_bits((e.to_bits() as i32).wrapping_add(n_bits << 23) as u32)
}
#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn exp_neg_is_within_two_ulp_of_exp() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 * i as f32 / 200_000.0;
            let want = (x as f64).exp();
            let got = exp_neg(x) as f64;
            if x >= -86.0 {
                worst = worst.max((got - want).abs() / want);
            } else {
                assert!(got <= 4.5e-38, "{x}: {got}");
            }
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
    }

    #[test]
    fn new_rows_after_a_cached_prefix_match_the_whole_sequence() {
        let mut rng = SeededRng::new(3);
        let (b, t, h, kv, hd) = (2, 37, 6, 2, 8);
        let s = Heads {
            n_head: h,
            n_kv_head: kv,
            head_dim: hd,
        };
        let q = rng.normal_vec(b * t * h * hd);
        let k = rng.normal_vec(b * t * kv * hd);
        let v = rng.normal_vec(b * t * kv * hd);
        let whole = attention(&q, &k, &v, b, t, h, kv, hd);
        for start in [0, 1, 20, 34, 36] {
            let n = t - start;
            let tail: Vec<f32> = (0..b)
                .flat_map(|i| q[(i * t + start) * h * hd..(i + 1) * t * h * hd].to_vec())
                .collect();
            let part = attend(&tail, &k, &v, b, start, s);
            for i in 0..b {
                let want = &whole[(i * t + start) * h * hd..(i + 1) * t * h * hd];
                let got = &part[i * n * h * hd..(i + 1) * n * h * hd];
                let diff = want
                    .iter()
                    .zip(got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-5, "start {start} seq {i}: {diff}");
            }
        }
    }
}

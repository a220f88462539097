//! Level measurement: sample peak and RMS level in dBFS over all channels,
//! `peak = 20·log10 max |x|`, `rms = 10·log10 mean(x²)` (a full-scale sine reads -3.01 dBFS),
//! floored at [`FLOOR_DB`] so silence has a finite value. Loudness matching scales by the RMS
//! ratio (not EBU R128 integrated loudness).

use serde::{Deserialize, Serialize};

use crate::engine::buffer::AudioBuffer;

/// Level reported for silence.
pub const FLOOR_DB: f64 = -120.0;

/// Peak and RMS level of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Levels {
    /// Sample peak in dBFS.
    pub peak_dbfs: f64,
    /// RMS level in dBFS.
    pub rms_dbfs: f64,
}

/// Mean square over all samples of all channels.
pub fn mean_square(audio: &AudioBuffer) -> f64 {
    let n = audio.len() * audio.n_channels();
    if n == 0 {
        return 0.0;
    }
    audio
        .channels
        .iter()
        .flatten()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        / n as f64
}

fn db(power_ratio: f64) -> f64 {
    if power_ratio > 0.0 {
        (10.0 * power_ratio.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// Peak and RMS levels.
pub fn levels(audio: &AudioBuffer) -> Levels {
    let peak = audio.peak() as f64;
    Levels {
        peak_dbfs: db(peak * peak),
        rms_dbfs: db(mean_square(audio)),
    }
}

/// Scales `audio` so its RMS level equals `target_rms_dbfs`; returns the gain applied (dB).
/// Silence is left alone (gain 0).
pub fn match_rms(audio: &mut AudioBuffer, target_rms_dbfs: f64) -> f64 {
    let ms = mean_square(audio);
    if ms <= 0.0 {
        return 0.0;
    }
    let gain_db = target_rms_dbfs - 10.0 * ms.log10();
    let g = 10f64.powf(gain_db / 20.0) as f32;
    for x in audio.channels.iter_mut().flatten() {
        *x *= g;
    }
    gain_db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_levels_and_matching() {
        let n = 48000;
        let sine: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48000.0).sin() as f32)
            .collect();
        let mut a = AudioBuffer::new(48000, vec![sine.clone(), sine]).unwrap();
        let l = levels(&a);
        assert!(l.peak_dbfs.abs() < 1e-4);
        assert!((l.rms_dbfs + 3.0103).abs() < 1e-3);
        let g = match_rms(&mut a, -20.0);
        assert!((g + 16.9897).abs() < 1e-3);
        assert!((levels(&a).rms_dbfs + 20.0).abs() < 1e-4);
        let silent = AudioBuffer::silence(8000, 1, 10);
        assert_eq!(levels(&silent).rms_dbfs, FLOOR_DB);
    }
}

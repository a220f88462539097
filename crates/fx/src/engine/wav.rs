//! WAV (RIFF/WAVE) reading and writing, written from the format description.
//!
//! Layout: `"RIFF" u32 "WAVE"` followed by chunks `id[4] u32 size, payload, pad byte if size is odd`.
//! The `fmt ` chunk holds `format u16, channels u16, rate u32, byte_rate u32, block_align u16,
//! bits u16` (+ for `WAVE_FORMAT_EXTENSIBLE` = 0xFFFE: `cb_size u16, valid_bits u16, mask u32,
//! sub-format GUID` whose first two bytes are the real format). `data` holds interleaved frames
//! `frame[n] = (s[0][n], …, s[C-1][n])`, little-endian.
//!
//! Samples are converted to `f32` with `x = q / 2^(b-1)` for `b`-bit signed PCM (8-bit PCM is
//! unsigned: `x = (q - 128) / 128`) and read as-is for IEEE float (format 3). Writing 16-bit PCM
//! uses `q = clamp(round(x · 32768), -32768, 32767)`, so a round trip is exact to half a step
//! (`|Δx| ≤ 2^-16`) and full-scale `+1.0` clips to 32767 (counted and returned).

use std::path::Path;

use genlab_core::fsx::atomic_write;
use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;

/// How samples are stored in a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleFormat {
    /// 16-bit signed integer PCM.
    Pcm16,
    /// 32-bit IEEE float.
    Float32,
}

/// The highest sample rate a WAV file may declare (768 kHz, the top of audio interfaces).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// The most channels a WAV file may declare.
pub const MAX_CHANNELS: usize = 64;

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The tail of the KSDATAFORMAT_SUBTYPE GUIDs (after the 2-byte format code and two zero bytes).
const SUBTYPE_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Reads a WAV file into a channel-first buffer.
pub fn read(path: &Path) -> Result<AudioBuffer> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes).map_err(|msg| Error::parse(path, None, msg))
}

/// Writes `audio` atomically; returns how many samples were clipped to the format's range.
pub fn write(path: &Path, audio: &AudioBuffer, format: SampleFormat) -> Result<usize> {
    let (bytes, clipped) = encode(audio, format);
    atomic_write(path, &bytes)?;
    Ok(clipped)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

struct Fmt {
    format: u16,
    channels: usize,
    sample_rate: u32,
    bits: u16,
}

/// Parses WAV bytes; the error says what is wrong with the file.
pub fn decode(b: &[u8]) -> std::result::Result<AudioBuffer, String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err("not a WAV file (no RIFF/WAVE header)".into());
    }
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<&[u8]> = None;
    let mut i = 12;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let size = u32_at(b, i + 4) as usize;
        let start = i + 8;
        // A truncated last chunk (common for streamed files with a wrong size) is read as far
        // as the file goes.
        let end = start.saturating_add(size).min(b.len());
        let payload = &b[start..end];
        match id {
            b"fmt " => {
                if payload.len() < 16 {
                    return Err(format!("fmt chunk is {} bytes, need 16", payload.len()));
                }
                let mut format = u16_at(payload, 0);
                if format == FORMAT_EXTENSIBLE {
                    if payload.len() < 40 {
                        return Err("extensible fmt chunk shorter than 40 bytes".into());
                    }
                    if payload[28..40] != SUBTYPE_TAIL {
                        return Err("unknown WAVE_FORMAT_EXTENSIBLE sub-format".into());
                    }
                    format = u16_at(payload, 24);
                }
                fmt = Some(Fmt {
                    format,
                    channels: u16_at(payload, 2) as usize,
                    sample_rate: u32_at(payload, 4),
                    bits: u16_at(payload, 14),
                });
            }
            b"data" => data = Some(payload),
            _ => {}
        }
        i = start.saturating_add(size).saturating_add(size & 1);
    }
    let fmt = fmt.ok_or("no fmt chunk")?;
    let data = data.ok_or("no data chunk")?;
    if fmt.channels == 0 {
        return Err("fmt chunk declares 0 channels".into());
    }
    if fmt.sample_rate == 0 {
        return Err("fmt chunk declares a sample rate of 0".into());
    }
    // Effects size their buffers from the rate and channel count: 10^9 Hz or 65,535 channels
    // aborted on allocation (issue 25).
    if fmt.sample_rate > MAX_SAMPLE_RATE {
        return Err(format!(
            "fmt chunk declares a sample rate of {} Hz; the limit is {MAX_SAMPLE_RATE} Hz",
            fmt.sample_rate
        ));
    }
    if fmt.channels > MAX_CHANNELS {
        return Err(format!(
            "fmt chunk declares {} channels; the limit is {MAX_CHANNELS}",
            fmt.channels
        ));
    }
    let width = match (fmt.format, fmt.bits) {
        (FORMAT_PCM, 8 | 16 | 24 | 32) | (FORMAT_FLOAT, 32 | 64) => fmt.bits as usize / 8,
        (FORMAT_PCM | FORMAT_FLOAT, bits) => {
            return Err(format!(
                "unsupported sample size: {bits}-bit {}",
                if fmt.format == FORMAT_PCM {
                    "PCM"
                } else {
                    "float"
                }
            ));
        }
        (other, _) => {
            return Err(format!(
                "unsupported WAV format code {other} (only PCM and IEEE float)"
            ));
        }
    };
    let frame = width * fmt.channels;
    let frames = data.len() / frame;
    let data = &data[..frames * frame];
    let channels = match (fmt.format, width) {
        (FORMAT_PCM, 1) => deinterleave::<1>(data, fmt.channels, |s| (s[0] as f32 - 128.0) / 128.0),
        (FORMAT_PCM, 2) => deinterleave::<2>(data, fmt.channels, |s| {
            i16::from_le_bytes(s) as f32 / 32768.0
        }),
        (FORMAT_PCM, 3) => deinterleave::<3>(data, fmt.channels, |s| {
            (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0
        }),
        (FORMAT_PCM, _) => deinterleave::<4>(data, fmt.channels, |s| {
            (i32::from_le_bytes(s) as f64 / 2_147_483_648.0) as f32
        }),
        (_, 4) => deinterleave::<4>(data, fmt.channels, f32::from_le_bytes),
        _ => deinterleave::<8>(data, fmt.channels, |s| f64::from_le_bytes(s) as f32),
    };
    if let Some((c, n)) = channels
        .iter()
        .enumerate()
        .find_map(|(c, ch)| ch.iter().position(|v| !v.is_finite()).map(|n| (c, n)))
    {
        return Err(format!("sample {n} of channel {c} is not finite"));
    }
    AudioBuffer::new(fmt.sample_rate, channels).map_err(|e| e.to_string())
}

/// Splits interleaved frames of `W`-byte samples into channels, converting each with `conv`
/// (one monomorphised loop per format instead of a format match per sample).
fn deinterleave<const W: usize>(
    data: &[u8],
    channels: usize,
    conv: impl Fn([u8; W]) -> f32,
) -> Vec<Vec<f32>> {
    let frames = data.len() / (W * channels);
    let mut out = vec![vec![0.0f32; frames]; channels];
    for (c, ch) in out.iter_mut().enumerate() {
        for (y, f) in ch.iter_mut().zip(data.chunks_exact(W * channels)) {
            let mut s = [0u8; W];
            s.copy_from_slice(&f[c * W..(c + 1) * W]);
            *y = conv(s);
        }
    }
    out
}

/// Serialises `audio`; returns the bytes and the number of clipped samples. More than two
/// channels are written as WAVE_FORMAT_EXTENSIBLE with channel mask 0 (no speaker assignment).
pub fn encode(audio: &AudioBuffer, format: SampleFormat) -> (Vec<u8>, usize) {
    let (code, bits) = match format {
        SampleFormat::Pcm16 => (FORMAT_PCM, 16u16),
        SampleFormat::Float32 => (FORMAT_FLOAT, 32u16),
    };
    let channels = audio.n_channels();
    let width = bits as usize / 8;
    let data_len = audio.len() * channels * width;
    let extensible = channels > 2;
    let fmt_len: u32 = if extensible { 40 } else { 16 };
    let mut b = Vec::with_capacity(data_len + 80);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 8 + fmt_len + 8 + data_len as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&fmt_len.to_le_bytes());
    b.extend_from_slice(&(if extensible { FORMAT_EXTENSIBLE } else { code }).to_le_bytes());
    b.extend_from_slice(&(channels as u16).to_le_bytes());
    b.extend_from_slice(&audio.sample_rate.to_le_bytes());
    b.extend_from_slice(&(audio.sample_rate * (channels * width) as u32).to_le_bytes());
    b.extend_from_slice(&((channels * width) as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&code.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&SUBTYPE_TAIL);
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data_len as u32).to_le_bytes());
    let mut clipped = 0;
    let start = b.len();
    b.resize(start + data_len, 0);
    let body = &mut b[start..];
    for (c, ch) in audio.channels.iter().enumerate() {
        let frames = body.chunks_exact_mut(channels * width);
        match format {
            SampleFormat::Pcm16 => {
                for (f, &x) in frames.zip(ch) {
                    let q = (x as f64 * 32768.0).round();
                    if !(-32768.0..=32767.0).contains(&q) {
                        clipped += 1;
                    }
                    let q = q.clamp(-32768.0, 32767.0) as i16;
                    f[c * 2..c * 2 + 2].copy_from_slice(&q.to_le_bytes());
                }
            }
            SampleFormat::Float32 => {
                for (f, &x) in frames.zip(ch) {
                    f[c * 4..c * 4 + 4].copy_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
    if data_len % 2 == 1 {
        b.push(0);
    }
    (b, clipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_audio(channels: usize, len: usize) -> AudioBuffer {
        let ch = (0..channels)
            .map(|c| {
                (0..len)
                    .map(|n| (n as f32 * 0.01 * (c + 1) as f32).sin() * 0.9)
                    .collect()
            })
            .collect();
        AudioBuffer::new(22050, ch).unwrap()
    }

    #[test]
    fn float32_round_trip_is_exact_for_1_2_and_5_channels() {
        let dir = tempfile::tempdir().unwrap();
        for channels in [1, 2, 5] {
            let a = test_audio(channels, 1001);
            let p = dir.path().join(format!("f{channels}.wav"));
            assert_eq!(write(&p, &a, SampleFormat::Float32).unwrap(), 0);
            assert_eq!(read(&p).unwrap(), a);
        }
    }

    #[test]
    fn pcm16_round_trip_is_within_half_a_step_and_counts_clipping() {
        let mut a = test_audio(2, 500);
        a.channels[0][3] = 1.0; // rounds to 32768, clips to 32767
        a.channels[1][4] = -1.0; // exactly representable
        let (bytes, clipped) = encode(&a, SampleFormat::Pcm16);
        assert_eq!(clipped, 1);
        let b = decode(&bytes).unwrap();
        assert_eq!(b.sample_rate, 22050);
        assert_eq!(b.n_channels(), 2);
        for (x, y) in a.channels.iter().flatten().zip(b.channels.iter().flatten()) {
            assert!((x - y).abs() <= 1.0 / 32768.0, "{x} vs {y}");
        }
        assert_eq!(b.channels[1][4], -1.0);
        // The interleaving is frame-major: the second sample in the data is channel 1, frame 0.
        let q = i16::from_le_bytes([bytes[46], bytes[47]]);
        assert_eq!(q, (a.channels[1][0] as f64 * 32768.0).round() as i16);
    }

    #[test]
    fn reads_24_bit_pcm_and_skips_unknown_chunks() {
        // Hand-built file: a LIST chunk of odd size (padded) before fmt, one 24-bit stereo frame.
        let mut b = b"RIFF\0\0\0\0WAVELIST\x03\0\0\0abc\0".to_vec();
        b.extend_from_slice(b"fmt \x10\0\0\0\x01\0\x02\0");
        b.extend_from_slice(&8000u32.to_le_bytes());
        b.extend_from_slice(&48000u32.to_le_bytes());
        b.extend_from_slice(&6u16.to_le_bytes());
        b.extend_from_slice(&24u16.to_le_bytes());
        b.extend_from_slice(b"data\x06\0\0\0");
        b.extend_from_slice(&[0x00, 0x00, 0x40, 0x00, 0x00, 0xC0]); // +0.5, -0.5
        let a = decode(&b).unwrap();
        assert_eq!(a.channels, vec![vec![0.5], vec![-0.5]]);
    }

    #[test]
    fn bad_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.wav");
        std::fs::write(&p, b"hello, not audio").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("bad.wav") && err.contains("RIFF"), "{err}");
        let (mut bytes, _) = encode(&test_audio(1, 4), SampleFormat::Pcm16);
        bytes[20] = 2; // format code 2 (ADPCM)
        assert!(decode(&bytes).unwrap_err().contains("format code 2"));
        let (mut bytes, _) = encode(&test_audio(1, 4), SampleFormat::Pcm16);
        bytes[34] = 12; // 12-bit
        assert!(decode(&bytes).unwrap_err().contains("12-bit"));
        assert!(decode(&bytes[..30]).unwrap_err().contains("fmt"));
        assert!(read(&dir.path().join("missing.wav")).is_err());
    }

    /// Issue 25: a sample rate of 10^9 or 65,535 channels aborted on allocation downstream;
    /// a NaN float sample was rendered.
    #[test]
    fn implausible_headers_and_non_finite_samples_are_refused() {
        let (good, _) = encode(&test_audio(2, 8), SampleFormat::Float32);
        let mut rate = good.clone();
        rate[24..28].copy_from_slice(&1_000_000_000u32.to_le_bytes());
        assert!(decode(&rate).unwrap_err().contains("limit is 768000 Hz"));
        let mut chans = good.clone();
        chans[22..24].copy_from_slice(&65535u16.to_le_bytes());
        assert!(decode(&chans).unwrap_err().contains("65535 channels"));
        let mut nan = good.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(decode(&nan).unwrap_err().contains("not finite"));
    }
}

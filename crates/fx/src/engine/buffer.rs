//! Channel-first audio buffers.
//!
//! An [`AudioBuffer`] is `channels[c][n]`: channel `c`, sample index `n`, at `sample_rate` Hz.
//! The layout is explicit — there is no interleaved form and no shape guessing (a `(2, 2)`
//! buffer is two channels of two samples, always). Every channel has the same length; the
//! constructor checks it, so every other function may rely on it.

use genlab_core::{Error, Result};

/// N-channel audio, channel-first, `f32` samples nominally in `[-1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBuffer {
    /// Samples per second.
    pub sample_rate: u32,
    /// One `Vec` per channel, all of the same length.
    pub channels: Vec<Vec<f32>>,
}

impl AudioBuffer {
    /// Checks the invariants: a positive sample rate, at least one channel, equal lengths.
    pub fn new(sample_rate: u32, channels: Vec<Vec<f32>>) -> Result<Self> {
        if sample_rate == 0 {
            return Err(Error::InvalidInput("sample rate must be positive".into()));
        }
        if channels.is_empty() {
            return Err(Error::InvalidInput(
                "audio needs at least one channel".into(),
            ));
        }
        let len = channels[0].len();
        if let Some((c, ch)) = channels.iter().enumerate().find(|(_, ch)| ch.len() != len) {
            return Err(Error::InvalidInput(format!(
                "channel {c} has {} samples but channel 0 has {len}; channels must have equal lengths",
                ch.len()
            )));
        }
        Ok(AudioBuffer {
            sample_rate,
            channels,
        })
    }

    /// `n_channels` channels of `len` zeros.
    pub fn silence(sample_rate: u32, n_channels: usize, len: usize) -> Self {
        AudioBuffer {
            sample_rate,
            channels: vec![vec![0.0; len]; n_channels.max(1)],
        }
    }

    /// Samples per channel.
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// True when the buffer holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of channels.
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }

    /// Duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.len() as f64 / self.sample_rate as f64
    }

    /// Appends `n` zero samples to every channel.
    pub fn pad_end(&mut self, n: usize) {
        for ch in &mut self.channels {
            ch.resize(ch.len() + n, 0.0);
        }
    }

    /// Drops the first `n` samples of every channel.
    pub fn drop_start(&mut self, n: usize) {
        for ch in &mut self.channels {
            ch.drain(..n.min(ch.len()));
        }
    }

    /// A mono buffer duplicated to two channels (explicit up-mix; never done implicitly).
    pub fn mono_to_stereo(&self) -> Result<Self> {
        if self.n_channels() != 1 {
            return Err(Error::InvalidInput(format!(
                "mono_to_stereo needs 1 channel, got {}",
                self.n_channels()
            )));
        }
        Ok(AudioBuffer {
            sample_rate: self.sample_rate,
            channels: vec![self.channels[0].clone(), self.channels[0].clone()],
        })
    }

    /// Largest absolute sample over all channels.
    pub fn peak(&self) -> f32 {
        self.channels
            .iter()
            .flat_map(|c| c.iter())
            .fold(0.0f32, |m, &x| m.max(x.abs()))
    }

    /// Fails with a clear error if any sample is NaN or infinite.
    pub fn check_finite(&self, what: &str) -> Result<()> {
        for (c, ch) in self.channels.iter().enumerate() {
            if let Some(n) = ch.iter().position(|x| !x.is_finite()) {
                return Err(Error::InvalidInput(format!(
                    "{what}: sample {n} of channel {c} is {}",
                    ch[n]
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unequal_channels_are_rejected() {
        let err = AudioBuffer::new(44100, vec![vec![0.0; 3], vec![0.0; 2]]).unwrap_err();
        assert!(err.to_string().contains("channel 1 has 2 samples"), "{err}");
        assert!(AudioBuffer::new(0, vec![vec![0.0]]).is_err());
        assert!(AudioBuffer::new(8000, vec![]).is_err());
    }

    #[test]
    fn square_buffers_keep_their_layout() {
        // Two channels of two samples is never reinterpreted.
        let b = AudioBuffer::new(8000, vec![vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
        assert_eq!(b.n_channels(), 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b.channels[1], vec![3.0, 4.0]);
    }

    #[test]
    fn pad_drop_and_upmix() {
        let mut b = AudioBuffer::new(8000, vec![vec![0.5, -1.0]]).unwrap();
        b.pad_end(3);
        assert_eq!(b.len(), 5);
        b.drop_start(1);
        assert_eq!(b.channels[0], vec![-1.0, 0.0, 0.0, 0.0]);
        assert_eq!(b.peak(), 1.0);
        let s = b.mono_to_stereo().unwrap();
        assert_eq!(s.channels[0], s.channels[1]);
        assert!(s.mono_to_stereo().is_err());
        let bad = AudioBuffer::new(8000, vec![vec![f32::NAN]]).unwrap();
        assert!(bad.check_finite("x").is_err());
    }
}

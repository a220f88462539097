//! The parts of one training step, in the order the step runs them. The step reports the end
//! of each part to a callback, which training ignores and `genlab bench sae` timestamps, so the
//! profile is of the real step, not a copy of it.

/// One part of a training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Fetching the batch from the activation source.
    Batch,
    /// OrtSAE: drawing this step's random partition into chunks.
    Partition,
    /// The dense encoder `W_enc (x − b_dec) + b_enc`.
    Encoder,
    /// Choosing the firing latents (ReLU, TopK or BatchTopK).
    Selection,
    /// Sparse decode, loss, AuxK and the hand-written backward pass on the firing entries.
    SparseLoss,
    /// OrtSAE: the chunked orthogonality penalty and its gradient.
    Penalty,
    /// Removing the decoder gradient's component along each row.
    ParallelRemoval,
    /// Gradient clip and Adam.
    Adam,
    /// Decoder rows back to unit norm.
    Renormalise,
    /// Dead-latent counters, the BatchTopK θ average and ReLU's λ control.
    Counters,
}

impl Phase {
    /// Every phase, in step order.
    pub const ALL: [Phase; 10] = [
        Phase::Batch,
        Phase::Partition,
        Phase::Encoder,
        Phase::Selection,
        Phase::SparseLoss,
        Phase::Penalty,
        Phase::ParallelRemoval,
        Phase::Adam,
        Phase::Renormalise,
        Phase::Counters,
    ];

    /// What the phase does, in a few words.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Batch => "fetch batch",
            Phase::Partition => "ortho partition",
            Phase::Encoder => "encoder (dense)",
            Phase::Selection => "top-k selection",
            Phase::SparseLoss => "sparse decode, loss, AuxK, backward",
            Phase::Penalty => "ortho penalty",
            Phase::ParallelRemoval => "parallel-gradient removal",
            Phase::Adam => "clip + Adam",
            Phase::Renormalise => "renormalise rows",
            Phase::Counters => "dead counters, θ, λ",
        }
    }

    /// Only OrtSAE runs this phase.
    pub fn ortho_only(self) -> bool {
        matches!(self, Phase::Partition | Phase::Penalty)
    }
}

/// Called at the end of each phase of a step.
pub type Laps<'a> = &'a mut dyn FnMut(Phase);

//! The job-wide hash seed: every process of a job with worker processes
//! seeds its keyed partials' hash from the job's secret, so a key lands in
//! the same radix partition in every process (see `action/radix.rs`). The
//! leader sets it when it makes the secret, a worker when it reads it;
//! the keyed tables read it ([`job_seed`]) when the first one is made.

use std::sync::OnceLock;

/// Odd constants (digits of pi) that spread the secret's bits.
const MIX: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];

/// The seed every process of this job shares, once set.
static JOB_SEED: OnceLock<u64> = OnceLock::new();

/// Seeds the keyed partials of this process with `secret`, the job's
/// secret that the leader made and its workers were given. Call it before
/// the first keyed partial: afterwards it changes nothing (the partials
/// then hash apart from the leader's, which a leader detects and mends by
/// re-partitioning their pairs).
pub(crate) fn set_job_seed(secret: &str) {
    let mut seed = 0x5140_u64;
    for chunk in secret.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let p = u128::from(seed ^ u64::from_le_bytes(word)) * u128::from(MIX[1]);
        seed = (p as u64) ^ ((p >> 64) as u64) ^ MIX[0];
    }
    let _ = JOB_SEED.set(seed);
}

/// The job's seed, if this process is part of a job with worker processes.
pub(crate) fn job_seed() -> Option<u64> {
    JOB_SEED.get().copied()
}

#[cfg(test)]
mod tests {
    /// One secret gives one seed; the first setting stays.
    #[test]
    fn the_first_secret_sets_the_seed() {
        super::set_job_seed("a secret");
        let first = super::job_seed();
        assert!(first.is_some());
        super::set_job_seed("another secret");
        assert_eq!(super::job_seed(), first);
    }
}

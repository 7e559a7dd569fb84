//! The messages between a leader and its workers.
//!
//! Order on one connection (worker → leader / leader → worker):
//! 1. `Hello` → `Welcome` or `Refused` (the handshake: protocol version,
//!    program fingerprint, the job's secret).
//! 2. Per action `k`, in program order: `Ready{k}` → `Plan{k}`, then any
//!    number of `Run{k, split}` ↔ `Partial{k, split}` (or `Failed`), then
//!    `Done{k}` with the action's output. A worker that is behind (a
//!    replacement re-running the program) gets `Done` at once for actions
//!    that already finished.
//! 3. `Acquire`/`Granted`/`Release` for job-wide concurrency limits, and
//!    `Heartbeat` from a worker's own thread, at any time.
//! 4. `Goodbye` when a worker's program ends; at shutdown the leader sends
//!    `End` with the job's exit status, then closes the socket. A worker
//!    exits with that status; one that sees end of file without `End` lost
//!    its leader mid-job and exits with status 1, saying so.
//!
//! Payloads are postcard; partials and outputs are nested postcard bytes so
//! the protocol itself is not generic over the action.

use crate::error::WireError;
use crate::plan::Plan;
use crate::report::Report;
use crate::transport::bytes::Payload;
use crate::transport::frame;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// Bumped whenever a message changes shape.
pub(crate) const PROTOCOL: u32 = 4;
/// Identifies a Shoal peer before anything else is trusted.
pub(crate) const MAGIC: u64 = 0x5348_4f41_4c21_0001;

/// Worker to leader.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToLeader {
    Hello {
        magic: u64,
        protocol: u32,
        program: u64,
        secret: String,
        worker: Option<usize>,
        /// The rank of a cluster launch (`srun`, `mpirun`), and its host.
        rank: Option<usize>,
        /// A process that rank started beside itself (`-p`), not the rank.
        helper: bool,
        host: String,
        pid: u32,
        threads: usize,
    },
    Ready {
        action: u64,
        fingerprint: u64,
    },
    /// Sent by [`send_partial`] and read by [`recv_to_leader`] without
    /// copying the partial (variant [`PARTIAL_VARIANT`]).
    Partial {
        action: u64,
        split: usize,
        partial: Payload,
        report: Report,
    },
    Failed {
        action: u64,
        split: usize,
        error: WireError,
    },
    Acquire {
        limit: String,
        capacity: usize,
        token: u64,
    },
    Release {
        limit: String,
    },
    /// Alive; the bytes its running splits' streams have read so far (for
    /// the leader's progress).
    Heartbeat {
        streaming: u64,
    },
    Goodbye,
}

/// Leader to worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Welcome {
        worker: usize,
    },
    Refused {
        reason: String,
    },
    Plan {
        action: u64,
        plan: Plan,
    },
    Run {
        action: u64,
        split: usize,
    },
    Done {
        action: u64,
        #[serde(with = "crate::transport::bytes::as_bytes")]
        output: Vec<u8>,
        report: Report,
    },
    Granted {
        token: u64,
    },
    /// The job is over, with this exit status (0: it succeeded).
    End {
        status: u8,
    },
}

/// Serializes a value with postcard, into a buffer of exactly its size (a
/// split's partial can be tens of MB: growing the buffer would copy it
/// again and again).
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Encodes `value` over `out` (as [`encode`] does), keeping its memory: a worker encodes each
/// split's partial into the buffer of the last one, so a partial of tens of
/// megabytes does not fault fresh pages in every split. A buffer grown past
/// [`KEPT_ENCODED`] is freed at the next call instead of reused.
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let size = postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default()).map_err(invalid)?;
    let mut buf = std::mem::take(out);
    if buf.capacity() > KEPT_ENCODED {
        buf = Vec::new();
    }
    buf.clear();
    buf.reserve(size);
    *out = postcard::to_extend(value, buf).map_err(invalid)?;
    Ok(())
}

/// The largest encoding buffer [`encode_into`] reuses.
const KEPT_ENCODED: usize = 256 << 20;

/// The postcard variant index of [`ToLeader::Partial`].
pub(crate) const PARTIAL_VARIANT: u32 = 2;

/// Sends `ToLeader::Partial` as one frame written in pieces: the head, the
/// partial's bytes as they are, and the report, so the partial is never
/// copied into a message first. The bytes equal `send` of the message.
pub(crate) fn send_partial<W: Write + ?Sized>(
    w: &mut W,
    action: u64,
    split: usize,
    partial: &[u8],
    report: &Report,
) -> io::Result<()> {
    let head = encode(&(PARTIAL_VARIANT, action, split, partial.len()))?;
    let tail = encode(report)?;
    let len = (head.len() + partial.len() + tail.len()) as u64;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&head)?;
    w.write_all(partial)?;
    w.write_all(&tail)?;
    w.flush()
}

/// Receives one message from a worker; a `Partial` keeps its bytes in the
/// frame they came in ([`Payload`]).
pub(crate) fn recv_to_leader<R: Read + ?Sized>(r: &mut R, max: u64) -> io::Result<Option<ToLeader>> {
    let Some(frame) = frame::read_frame(r, max)? else { return Ok(None) };
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let (variant, _) = postcard::take_from_bytes::<u32>(&frame).map_err(invalid)?;
    if variant != PARTIAL_VARIANT {
        return decode(&frame).map(Some);
    }
    let ((_, action, split, len), rest) =
        postcard::take_from_bytes::<(u32, u64, usize, usize)>(&frame).map_err(invalid)?;
    let start = frame.len() - rest.len();
    let end = start
        .checked_add(len)
        .filter(|&e| e <= frame.len())
        .ok_or_else(|| invalid(postcard::Error::DeserializeUnexpectedEnd))?;
    let report: Report = postcard::from_bytes(&frame[end..]).map_err(invalid)?;
    Ok(Some(ToLeader::Partial { action, split, partial: Payload::within(frame, start..end), report }))
}

/// Deserializes a postcard value.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Sends one message as one frame.
pub(crate) fn send<T: Serialize, W: Write + ?Sized>(w: &mut W, msg: &T) -> io::Result<()> {
    frame::write_frame(w, &encode(msg)?)
}

/// Receives one message; `None` when the peer closed the stream.
pub(crate) fn recv<T: DeserializeOwned, R: Read + ?Sized>(r: &mut R, max: u64) -> io::Result<Option<T>> {
    match frame::read_frame(r, max)? {
        Some(bytes) => decode(&bytes).map(Some),
        None => Ok(None),
    }
}

/// FNV-1a: a small stable hash for fingerprints (not for security).
pub(crate) fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The FNV-1a offset basis.
pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// A fingerprint of the running executable: leader and workers must run the
/// same program. It hashes the size, the first and last 64 KiB and 256 blocks
/// spread over the file (about 1 MiB read), which tells any two builds apart
/// (code and build ids move throughout the file) at a small fixed cost.
pub(crate) fn program_fingerprint() -> u64 {
    static PRINT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| sample_hash(&std::env::current_exe().unwrap_or_default()).unwrap_or(0))
}

fn sample_hash(path: &std::path::Path) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    const EDGE: u64 = 64 << 10;
    const BLOCK: u64 = 4 << 10;
    const BLOCKS: u64 = 256;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut h = fnv1a(&len.to_le_bytes(), FNV_START);
    let read = |start: u64, size: u64, h: u64| -> io::Result<u64> {
        let size = size.min(len.saturating_sub(start));
        let mut buf = vec![0u8; size as usize];
        file.read_exact_at(&mut buf, start)?;
        Ok(fnv1a(&buf, h))
    };
    h = read(0, EDGE, h)?;
    h = read(len.saturating_sub(EDGE), EDGE, h)?;
    for i in 0..BLOCKS {
        h = read(len / BLOCKS * i, BLOCK, h)?;
    }
    Ok(h)
}

/// A fingerprint of a pipeline and action type: the workers must be at the
/// same action of the same program as the leader.
pub(crate) fn pipeline_fingerprint<P: ?Sized, A: ?Sized>() -> u64 {
    let h = fnv1a(std::any::type_name::<P>().as_bytes(), FNV_START);
    fnv1a(std::any::type_name::<A>().as_bytes(), h)
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh random secret for a job, from the OS.
pub(crate) fn new_secret() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let mut buf = Vec::new();
        send(&mut buf, &ToLeader::Ready { action: 3, fingerprint: 9 }).unwrap();
        match recv::<ToLeader, _>(&mut &buf[..], frame::MAX_FRAME).unwrap() {
            Some(ToLeader::Ready { action: 3, fingerprint: 9 }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert_eq!(new_secret().unwrap().len(), 32);
    }
}

#[cfg(test)]
mod partial_frames {
    use super::*;

    /// The piecewise frame of `send_partial` is the frame `send` writes for
    /// the same message, and `recv_to_leader` reads both.
    #[test]
    fn a_partial_sent_in_pieces_is_the_message_and_reads_back_without_a_copy() {
        let report = Report { records_read: 42, ..Report::default() };
        let partial: Vec<u8> = (0..100_000u32).map(|i| (i * 31) as u8).collect();
        let mut pieces = Vec::new();
        send_partial(&mut pieces, 7, 3, &partial, &report).unwrap();
        let mut whole = Vec::new();
        let msg =
            ToLeader::Partial { action: 7, split: 3, partial: Payload::from(partial.clone()), report: report.clone() };
        send(&mut whole, &msg).unwrap();
        assert_eq!(pieces, whole);
        for frame in [&pieces[..], &whole[..]] {
            match recv_to_leader(&mut &frame[..], frame::MAX_FRAME).unwrap() {
                Some(ToLeader::Partial { action: 7, split: 3, partial: p, report: r }) => {
                    assert_eq!(&*p, &partial[..]);
                    assert_eq!(r, report);
                }
                other => panic!("{other:?}"),
            }
        }
        let mut beat = Vec::new();
        send(&mut beat, &ToLeader::Heartbeat { streaming: 5 }).unwrap();
        assert!(matches!(
            recv_to_leader(&mut &beat[..], frame::MAX_FRAME).unwrap(),
            Some(ToLeader::Heartbeat { streaming: 5 })
        ));
        let cut = &pieces[..pieces.len() - 10];
        assert!(recv_to_leader(&mut &cut[..], frame::MAX_FRAME).is_err());
    }
}

//! Reading ahead: a stream read (and decompressed) on a thread of its own.
//!
//! [`ReadAhead`] starts one thread, named `shoal-read`, that reads its
//! source into buffers of [`BLOCK`] bytes and hands them over a channel of
//! [`IN_FLIGHT`] places; the reader side is a [`BufRead`] over the buffer
//! it holds. So decompressing a `.gz` or `.zst` file (or waiting on a pipe)
//! overlaps parsing what came before, and memory stays bounded: at most
//! `IN_FLIGHT + 2` buffers exist (the queued ones, the one being filled and
//! the one being read), 4.5 MiB, whatever the size of the stream.
//! Emptied buffers go back to the thread, which reuses them.
//!
//! A file (or decoder) fills whole buffers; a pipe, a terminal or another
//! special file ([`ReadAhead::eager`]) hands over what each read returned,
//! at once, so a slow writer's bytes are parsed as they come rather than
//! when 256 KiB have piled up.
//!
//! Invariants:
//! - the bytes handed out are the source's, in order, each once;
//! - a read error ends the stream: it is handed out in its place (after
//!   every byte read before it), and every later read returns end of file
//!   (the error is not repeated);
//! - a panic of the source (a decoder's bug) becomes such an error;
//! - the stream ends at the first read that returns 0 bytes, even right
//!   after a short read (a terminal's Ctrl-D is read once);
//! - dropping the reader ends the thread at its next hand-over (the thread
//!   is not joined: a source blocked on a silent pipe cannot hold up the
//!   split that dropped it).

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The size of one read-ahead buffer: 256 KiB.
pub const BLOCK: usize = 256 << 10;

/// How many filled buffers may wait in the channel.
pub const IN_FLIGHT: usize = 16;

/// What the read-ahead thread hands over.
enum Message {
    /// Bytes of the stream, in order (never empty).
    Data(Vec<u8>),
    /// The read failed; nothing follows.
    Failed(io::Error),
}

/// A [`BufRead`] over a source read ahead on a `shoal-read` thread.
pub struct ReadAhead {
    filled: Receiver<Message>,
    /// Emptied buffers, back to the thread (it may have ended: sends fail then).
    empty: SyncSender<Vec<u8>>,
    /// The buffer being read and the position of its next byte.
    current: Vec<u8>,
    pos: usize,
    /// End of stream reached (or an error handed out).
    done: bool,
    /// A message taken by [`ReadAhead::ready`], handed out next.
    stash: Option<Message>,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("buffered", &(self.current.len() - self.pos))
            .field("done", &self.done)
            .finish()
    }
}

impl ReadAhead {
    /// Starts reading `source` ahead.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn new(source: Box<dyn Read + Send>) -> io::Result<ReadAhead> {
        ReadAhead::start(source, false)
    }

    /// Starts reading `source` ahead, handing over the bytes of each read
    /// at once (for pipes and special files, whose reads return what is
    /// there: a buffer may not fill for a long time).
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn eager(source: Box<dyn Read + Send>) -> io::Result<ReadAhead> {
        ReadAhead::start(source, true)
    }

    fn start(source: Box<dyn Read + Send>, eager: bool) -> io::Result<ReadAhead> {
        let (filled_tx, filled) = sync_channel(IN_FLIGHT);
        // Room for every buffer that can exist, so returning one never blocks.
        let (empty, empty_rx) = sync_channel(IN_FLIGHT + 2);
        std::thread::Builder::new()
            .name("shoal-read".into())
            .spawn(move || fill(source, eager, &filled_tx, &empty_rx))?;
        Ok(ReadAhead { filled, empty, current: Vec::new(), pos: 0, done: false, stash: None })
    }

    /// [`ready`](ReadAhead::ready), waiting up to `timeout` for a buffer
    /// to arrive.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) -> bool {
        if self.ready() {
            return true;
        }
        match self.filled.recv_timeout(timeout) {
            Ok(message) => {
                self.stash = Some(message);
                true
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
        }
    }

    /// Whether the next read returns without waiting: bytes are buffered,
    /// a buffer (or the end, or an error) has arrived, or the stream ended.
    pub fn ready(&mut self) -> bool {
        if self.pos < self.current.len() || self.done || self.stash.is_some() {
            return true;
        }
        match self.filled.try_recv() {
            Ok(message) => {
                self.stash = Some(message);
                true
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => false,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => true,
        }
    }
}

/// The thread's loop: fill a buffer (a reused one when there is one), send
/// it, until end of stream, an error, or a reader that went away.
fn fill(mut source: Box<dyn Read + Send>, eager: bool, filled: &SyncSender<Message>, empty: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = empty.try_recv().unwrap_or_default();
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fill_one(&mut *source, &mut buf, eager)));
        let (failed, ended) = match read {
            Ok(Filled { failed, ended }) => (failed, ended),
            Err(_) => {
                buf.clear();
                (Some(io::Error::other("the reader of the stream panicked")), true)
            }
        };
        let end = failed.is_some() || ended;
        if !buf.is_empty() && filled.send(Message::Data(buf)).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = filled.send(Message::Failed(e));
        }
        if end {
            return;
        }
    }
}

/// How [`fill_one`] ended.
struct Filled {
    /// A read failed (after the bytes in the buffer).
    failed: Option<io::Error>,
    /// A read returned 0: the source has no more bytes.
    ended: bool,
}

/// Reads `source` into `buf` until it holds [`BLOCK`] bytes (`eager`: any
/// bytes at all), the source ends (a read returns 0: then `buf` is
/// shorter, empty at the very end) or a read fails: the error is returned,
/// and `buf` holds the bytes read before it. (`buf` is grown to [`BLOCK`]
/// once and cut to what was read: a reused buffer is not zeroed again.)
fn fill_one(source: &mut dyn Read, buf: &mut Vec<u8>, eager: bool) -> Filled {
    buf.resize(BLOCK, 0);
    let mut n = 0;
    let filled = loop {
        if n == BLOCK || (eager && n > 0) {
            break Filled { failed: None, ended: false };
        }
        match source.read(&mut buf[n..]) {
            Ok(0) => break Filled { failed: None, ended: true },
            Ok(got) => n += got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Filled { failed: Some(e), ended: false },
        }
    };
    buf.truncate(n);
    filled
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.current.len() && !self.done {
            let next = match self.stash.take() {
                Some(message) => Ok(message),
                None => self.filled.recv(),
            };
            match next {
                Ok(Message::Data(next)) => {
                    let old = std::mem::replace(&mut self.current, next);
                    self.pos = 0;
                    if old.capacity() > 0 {
                        // The thread may have ended: then the buffer is dropped.
                        let _ = self.empty.try_send(old);
                    }
                }
                Ok(Message::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.current.len());
    }
}

/// A stream's reader: a [`BufRead`] that can tell whether its next read
/// would wait ([`ready`](StreamRead::ready)), so blocks of a slow pipe are
/// cut at what has arrived rather than held until they fill.
pub trait StreamRead: BufRead + Send {
    /// Whether the next `fill_buf` returns without waiting.
    fn ready(&mut self) -> bool {
        true
    }

    /// [`ready`](StreamRead::ready), waiting up to `timeout` for it.
    fn wait_ready(&mut self, timeout: std::time::Duration) -> bool {
        let _ = timeout;
        self.ready()
    }
}

impl StreamRead for ReadAhead {
    fn ready(&mut self) -> bool {
        ReadAhead::ready(self)
    }

    fn wait_ready(&mut self, timeout: std::time::Duration) -> bool {
        ReadAhead::wait_ready(self, timeout)
    }
}

impl StreamRead for std::io::Empty {}
impl StreamRead for &[u8] {}
impl<R: Read + Send> StreamRead for std::io::BufReader<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands out `data` in pieces of `step` bytes, then fails
    /// once with `fail` (if any), then ends.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail: Option<io::ErrorKind>,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return match self.fail.take() {
                    Some(kind) => Err(io::Error::new(kind, "broken")),
                    None => Ok(0),
                };
            }
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn hands_out_every_byte_in_order() {
        for (len, step) in [(0, 1), (5, 1), (BLOCK, 4096), (3 * BLOCK + 17, 1 << 16), (BLOCK * 9 + 1, BLOCK)] {
            let data = pattern(len);
            let source = Pieces { data: data.clone(), at: 0, step, fail: None };
            let mut got = Vec::new();
            ReadAhead::new(Box::new(source)).unwrap().read_to_end(&mut got).unwrap();
            assert!(got == data, "len {len} step {step}");
        }
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it_and_once() {
        let data = pattern(BLOCK + 100);
        let source = Pieces { data: data.clone(), at: 0, step: 1000, fail: Some(io::ErrorKind::InvalidData) };
        let mut reader = ReadAhead::new(Box::new(source)).unwrap();
        let mut got = Vec::new();
        let err = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(got == data);
        assert!(reader.fill_buf().unwrap().is_empty(), "the stream ends after its error");
    }

    #[test]
    fn a_panicking_source_is_an_error() {
        struct Panics;
        impl Read for Panics {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("decoder bug")
            }
        }
        let err = ReadAhead::new(Box::new(Panics)).unwrap().fill_buf().map(<[u8]>::len).unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
    }

    #[test]
    fn dropping_the_reader_ends_the_thread() {
        /// An endless source that says when it is dropped (the thread owns
        /// it: dropped when the thread ends).
        struct Endless(std::sync::mpsc::Sender<()>);
        impl Read for Endless {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                out.fill(b'x');
                Ok(out.len())
            }
        }
        impl Drop for Endless {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (tx, dropped) = std::sync::mpsc::channel();
        let mut reader = ReadAhead::new(Box::new(Endless(tx))).unwrap();
        assert!(!reader.fill_buf().unwrap().is_empty());
        assert!(dropped.try_recv().is_err(), "the thread runs while the reader is there");
        drop(reader);
        let ended = dropped.recv_timeout(std::time::Duration::from_secs(10));
        assert!(ended.is_ok(), "the read-ahead thread did not end after the reader was dropped");
    }

    /// A source that hands out `pieces` one per read, then ends once, then
    /// fails any later read (a terminal after Ctrl-D: reading again would
    /// wait for another Ctrl-D).
    struct EndsOnce {
        pieces: std::collections::VecDeque<Vec<u8>>,
        ended: bool,
    }

    impl Read for EndsOnce {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if let Some(piece) = self.pieces.pop_front() {
                out[..piece.len()].copy_from_slice(&piece);
                return Ok(piece.len());
            }
            if self.ended {
                return Err(io::Error::other("read again after the end of the stream"));
            }
            self.ended = true;
            Ok(0)
        }
    }

    #[test]
    fn the_end_after_a_short_read_takes_one_read() {
        for eager in [false, true] {
            let source = EndsOnce { pieces: [b"a,b\n".to_vec(), b"1,2\n".to_vec()].into(), ended: false };
            let source: Box<dyn Read + Send> = Box::new(source);
            let mut reader = if eager { ReadAhead::eager(source) } else { ReadAhead::new(source) }.unwrap();
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"a,b\n1,2\n", "eager {eager}");
        }
    }

    #[test]
    fn an_eager_reader_hands_over_each_read_at_once() {
        /// Reads what the test sends, blocking in between (a pipe).
        struct Piped(std::sync::mpsc::Receiver<Vec<u8>>);
        impl Read for Piped {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let Ok(piece) = self.0.recv() else { return Ok(0) };
                out[..piece.len()].copy_from_slice(&piece);
                Ok(piece.len())
            }
        }
        let (write, source) = std::sync::mpsc::channel();
        let (got_tx, got) = std::sync::mpsc::channel();
        write.send(b"a,b\n".to_vec()).unwrap();
        // The reader runs on a thread of its own so that the test fails,
        // not hangs, if the bytes are held back.
        std::thread::spawn(move || {
            let mut reader = ReadAhead::eager(Box::new(Piped(source))).unwrap();
            let first = reader.fill_buf().map(<[u8]>::to_vec);
            let _ = got_tx.send(first);
        });
        let first = got.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(first.expect("the first read was not handed over").unwrap(), b"a,b\n");
        drop(write);
    }
}

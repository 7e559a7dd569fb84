//! Where a CSV stream's blocks end: the [`Framing`] that lets the
//! framework's [`Cutter`](shoal::plumbing::read::blocks::Cutter) cut a
//! stream of CSV into blocks of whole records, so several threads parse it.
//!
//! The producer reads the stream front to back, so, unlike the planner's
//! cuts of a mapped file ([`super::scan`]), it could know the reader's
//! state exactly by running csv-core's state machine ([`Dfa`]) over every
//! byte; that would cost about what parsing does. Instead each block is
//! read by quote parity, 64 bytes at a time ([`scan_chunk_at`]), entered
//! between records (a block starts at a record start), and the last record
//! start is found walking back from the block's end, usually within its
//! last record. A block that breaks the parity rule (a stray quote, an
//! escape inside quotes, a comment line; see [`super::scan`]) is read with
//! the [`Dfa`] instead, byte by byte, from its start: every cut is where a
//! sequential `csv::Reader` is between records.
//!
//! A record over the record limit is dropped by the [`Dfa`] too, from its
//! first byte (it ends where csv-core's reader ends it, quoted line breaks
//! included).
//!
//! Neither reading cuts between the `\r` and `\n` of a CRLF: a block that
//! ends in `\r` is cut before that record, or once the next byte is known.
//! (A too-long record dropped from a `\r` on may leave its `\n` to start
//! the next block: a blank line, which readers skip.)

use super::dialect::Dialect;
use super::scan::{Dfa, State, scan_chunk_at};
use shoal::plumbing::read::blocks::Framing;

/// How the bytes of the current block are read.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// By quote parity: `scanned` bytes read, `odd` quotes among them.
    Parity { scanned: usize, odd: bool },
    /// By the state machine: `pos` bytes read, leaving it in `state`;
    /// `last` is the last record start found.
    Exact { pos: usize, state: State, last: Option<usize> },
}

const FRESH: Reading = Reading::Parity { scanned: 0, odd: false };

/// CSV records of one dialect (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Records {
    dialect: Dialect,
    dfa: Dfa,
    reading: Reading,
    /// The state of a too-long record being dropped.
    skipping: State,
}

impl Records {
    pub(crate) fn new(dialect: Dialect) -> Records {
        Records { dialect, dfa: Dfa::new(dialect), reading: FRESH, skipping: State::Record }
    }

    /// The last record start in `bytes[lo..]` (`lo` > 0 so that
    /// `bytes[lo - 1]`, a line break, may be looked at) when an odd number
    /// of quotes precede `bytes.len()` iff `odd`, walking back from the end.
    fn walk_back(&self, bytes: &[u8], lo: usize, odd: bool) -> Option<usize> {
        let len = bytes.len();
        // `inside`: an odd number of quotes in `bytes[..hi]`.
        let (mut hi, mut inside) = (len, odd);
        let quote = self.dialect.quote;
        loop {
            let window = &bytes[lo..hi];
            let at = match quote {
                Some(q) => memchr::memrchr3(q, b'\n', b'\r', window),
                None => memchr::memrchr2(b'\n', b'\r', window),
            }?;
            let j = lo + at;
            let b = bytes[j];
            if quote == Some(b) {
                inside = !inside;
            } else if !inside {
                // A line break outside quotes: a record starts after it,
                // unless it is the `\r` of a CRLF (or may be: the last byte).
                let p = j + 1;
                if b == b'\n' || (p < len && bytes[p] != b'\n') {
                    return Some(p);
                }
            }
            hi = j;
        }
    }

    /// The state machine from where it stopped to the end of `bytes`.
    fn exact(&mut self, bytes: &[u8]) -> Option<usize> {
        let Reading::Exact { pos, state, last } = &mut self.reading else { return None };
        let len = bytes.len();
        while *pos < len {
            let b = bytes[*pos];
            let next = self.dfa.step(*state, b);
            if next == State::Record && matches!(b, b'\n' | b'\r') {
                if b == b'\n' || (*pos + 1 < len && bytes[*pos + 1] != b'\n') {
                    *last = Some(*pos + 1);
                } else if *pos + 1 == len {
                    // A `\r` last: whether a `\n` follows is not known yet;
                    // read it again with the next bytes.
                    break;
                }
            }
            *state = next;
            *pos += 1;
        }
        *last
    }
}

impl Framing for Records {
    fn last_start(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        if from == 0 {
            self.reading = FRESH;
        }
        let Reading::Parity { scanned, odd } = self.reading else { return self.exact(bytes) };
        // Byte 0 is a record start: scanned as a file's first byte.
        let scan = scan_chunk_at(&self.dialect, bytes, scanned, bytes.len(), 0);
        if scan.ambiguous[usize::from(odd)] {
            self.reading = Reading::Exact { pos: 0, state: State::Record, last: None };
            return self.exact(bytes);
        }
        let odd = odd ^ scan.odd;
        self.reading = Reading::Parity { scanned: bytes.len(), odd };
        // A start at `from` may only now be known (after a `\r`).
        self.walk_back(bytes, from.max(1) - 1, odd)
    }

    fn begin_skip(&mut self, record: &[u8]) {
        self.skipping = self.dfa.run(State::Record, record);
    }

    fn skip(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut s = self.skipping;
        if s == State::Record {
            // It ended with its last byte read (a `\r`).
            return Some(0);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let next = self.dfa.step(s, b);
            if next == State::Record {
                self.skipping = State::Record;
                return Some(i + 1);
            }
            s = next;
        }
        self.skipping = s;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record start of `bytes` (after byte 0), by the state machine.
    fn starts(d: Dialect, bytes: &[u8]) -> Vec<usize> {
        let dfa = Dfa::new(d);
        let mut s = State::Record;
        let mut out = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            s = dfa.step(s, b);
            let p = i + 1;
            if s == State::Record && matches!(b, b'\n' | b'\r') && !(b == b'\r' && bytes.get(p) == Some(&b'\n')) {
                out.push(p);
            }
        }
        out
    }

    /// Fed `bytes` in pieces of `step`, the framing's last start after each
    /// piece is the last true start known by then.
    fn check(d: Dialect, bytes: &[u8], step: usize) {
        let truth = starts(d, bytes);
        let mut f = Records::new(d);
        let mut last = None;
        let mut from = 0;
        while from < bytes.len() {
            let to = (from + step).min(bytes.len());
            last = f.last_start(&bytes[..to], from).or(last);
            // Known by `to`: every start before `to`, and one at `to` after a `\n`.
            let want = truth.iter().copied().rfind(|&p| p < to || (p == to && bytes[p - 1] == b'\n'));
            assert_eq!(last, want, "{:?} step {step} to {to}", String::from_utf8_lossy(bytes));
            from = to;
        }
    }

    #[test]
    fn the_last_start_is_the_readers_at_every_piece_size() {
        let plain = Dialect::default();
        let comments = Dialect { comment: Some(b'#'), ..plain };
        let escapes = Dialect { escape: Some(b'\\'), ..plain };
        let unquoted = Dialect { quote: None, ..plain };
        let texts: &[&[u8]] = &[
            b"a,b\n1,2\n",
            b"a,\"b\nc\",d\r\n\"x\"\"y\",z\rlast",
            b"\"open\n,still\nopen",
            b"ab\"c,d\n\"e\nf\",g\n",
            b"# a \"comment\nx,\"y\n\"\n#z\n1\n",
            b"\"a\\\"\n\",b\n\"c\"\n",
            b"\r\n\r\n\n\"\"\n\r",
        ];
        for text in texts {
            for d in [plain, comments, escapes, unquoted] {
                for step in 1..=text.len() {
                    check(d, text, step);
                }
            }
        }
    }

    #[test]
    fn a_dropped_record_ends_where_the_reader_ends_it() {
        let d = Dialect::default();
        let mut f = Records::new(d);
        f.begin_skip(b"\"long field");
        assert_eq!(f.skip(b" still\n inside"), None);
        assert_eq!(f.skip(b"\" and out\nnext\n"), Some(10));
        f.begin_skip(b"long\r");
        assert_eq!(f.skip(b"\nnext"), Some(0), "ended at its \\r: the \\n is a blank line");
    }
}

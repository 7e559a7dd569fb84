//! Records of a region of CSV bytes, into a reused `csv::ByteRecord`.
//!
//! The region starts at a record start. A line without quote bytes and
//! without a stray `\r` takes the fast path: fields are cut at the
//! delimiter with `memchr`, which is exactly what csv-core does with such a
//! line. Any other record goes through `csv_core::Reader`. Both paths skip
//! blank lines and (when configured) comment lines, like csv-core.

use super::dialect::Dialect;
use super::scan::{Dfa, State};
use csv::ByteRecord;
use std::ops::Range;

/// Splits a region of bytes into records.
pub(crate) struct Tokenizer {
    dialect: Dialect,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Records taken by csv-core (for the report).
    pub(crate) slow: u64,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("dialect", &self.dialect).finish()
    }
}

/// One record's place in its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    /// Its bytes, from its first byte to the end of its terminator.
    pub(crate) raw: Range<usize>,
    /// It ends the region inside a quoted field (an unterminated quote).
    pub(crate) unterminated: bool,
}

impl Tokenizer {
    pub(crate) fn new(dialect: Dialect) -> Tokenizer {
        Tokenizer { dialect, core: dialect.core_reader(), out: vec![0; 1024], ends: vec![0; 32], slow: 0 }
    }

    /// Reads the record at `*pos` of `region` into `rec` and moves `*pos`
    /// past it; `None` when only blank or comment lines remain.
    /// `at_eof`: the region ends at the end of its file.
    #[inline]
    pub(crate) fn next(&mut self, region: &[u8], pos: &mut usize, rec: &mut ByteRecord, at_eof: bool) -> Option<Span> {
        let start = self.skip_blank(region, *pos);
        *pos = start;
        if start >= region.len() {
            return None;
        }
        let rest = &region[start..];
        let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let mut line = &rest[..line_end];
        let special = match self.dialect.quote {
            Some(q) => memchr::memchr2(q, b'\r', line),
            None => memchr::memchr(b'\r', line),
        };
        let fast = match special {
            None => true,
            Some(i) if i + 1 == line.len() && line[i] == b'\r' => {
                line = &line[..i];
                true
            }
            Some(_) => false,
        };
        if fast {
            rec.clear();
            let mut s = 0;
            for d in memchr::memchr_iter(self.dialect.delimiter, line) {
                rec.push_field(&line[s..d]);
                s = d + 1;
            }
            rec.push_field(&line[s..]);
            *pos = start + (line_end + 1).min(rest.len());
            return Some(Span { raw: start..*pos, unterminated: false });
        }
        self.slow += 1;
        let used = self.read_core(rest, rec);
        *pos = start + used;
        let unterminated = *pos == region.len()
            && at_eof
            && self.dialect.quote.is_some()
            && matches!(Dfa::new(self.dialect).run(State::Record, rest), State::Quoted | State::Escaped);
        Some(Span { raw: start..*pos, unterminated })
    }

    /// The first byte at or after `pos` that is not a line break or inside
    /// a comment line.
    #[inline]
    fn skip_blank(&self, region: &[u8], mut pos: usize) -> usize {
        loop {
            match region.get(pos) {
                Some(b'\n' | b'\r') => pos += 1,
                Some(&b) if self.dialect.comment == Some(b) => {
                    pos = match memchr::memchr(b'\n', &region[pos..]) {
                        Some(i) => pos + i + 1,
                        None => region.len(),
                    }
                }
                _ => return pos,
            }
        }
    }

    /// One record with csv-core from the start of `input`; returns the bytes used.
    fn read_core(&mut self, input: &[u8], rec: &mut ByteRecord) -> usize {
        use csv_core::ReadRecordResult as R;
        self.core.reset();
        let (mut inpos, mut outlen, mut endlen) = (0, 0, 0);
        loop {
            let (res, nin, nout, nend) =
                self.core.read_record(&input[inpos..], &mut self.out[outlen..], &mut self.ends[endlen..]);
            inpos += nin;
            outlen += nout;
            endlen += nend;
            match res {
                // All input used: the next call passes an empty slice,
                // which tells csv-core the input ended, and it ends the record.
                R::InputEmpty => {}
                R::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                R::Record | R::End => break,
            }
        }
        rec.clear();
        let mut s = 0;
        for &e in &self.ends[..endlen] {
            rec.push_field(&self.out[s..e]);
            s = e;
        }
        debug_assert_eq!(s, outlen);
        inpos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(d: Dialect, text: &[u8]) -> Vec<(Vec<Vec<u8>>, Range<usize>, bool)> {
        let mut t = Tokenizer::new(d);
        let mut rec = ByteRecord::new();
        let mut pos = 0;
        let mut out = Vec::new();
        while let Some(span) = t.next(text, &mut pos, &mut rec, true) {
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), span.raw, span.unterminated));
        }
        out
    }

    fn reference(d: Dialect, text: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut rdr = d.reference_builder().from_reader(text);
        rdr.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect()
    }

    #[test]
    fn agrees_with_csv_reader() {
        let d = Dialect::default();
        let comments = Dialect { comment: Some(b'#'), escape: Some(b'\\'), ..d };
        let unquoted = Dialect { quote: None, ..d };
        for text in [
            &b"a,b\n1,2\n"[..],
            b"a,\"x\ny\",c\r\n\"q\"\"\",2\r\n3,\"\"\n",
            b"\n\r\nx\r\r\ny,\n,\n",
            b"ab\"c,d\ne\"\nf,g",
            b"\"a\"b,c\n\"d\ne\"\n",
            b"#c,\"\na,\"b\\\"c\"\n  #x\n",
            b"1,\"2\" ,3\n",
            b"a\rb\r\n",
        ] {
            for dialect in [d, comments, unquoted] {
                let got: Vec<_> = records(dialect, text).into_iter().map(|r| r.0).collect();
                assert_eq!(got, reference(dialect, text), "{:?} {dialect:?}", String::from_utf8_lossy(text));
            }
        }
    }

    #[test]
    fn spans_and_unterminated_quotes() {
        let got = records(Dialect::default(), b"\na,b\r\n\"c\nd");
        assert_eq!(got[0], (vec![b"a".to_vec(), b"b".to_vec()], 1..6, false));
        assert_eq!(got[1], (vec![b"c\nd".to_vec()], 6..10, true));
        let closed = records(Dialect::default(), b"\"c\nd\"");
        assert!(!closed[0].2);
    }
}

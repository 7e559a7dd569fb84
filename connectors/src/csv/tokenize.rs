//! Records of a region of CSV bytes, into a reused `csv::ByteRecord`.
//!
//! The region starts at a record start. A line without quote bytes and
//! without a stray `\r` takes the fast path: one pass over a byte-class
//! mask (eight bytes at a time) cuts fields at the delimiter, which is exactly what csv-core does
//! with such a line. A record with quoted fields in RFC 4180 form takes a
//! second path that copies quoted fields with `memchr` between quotes. Any
//! other record goes through `csv_core::Reader`. Both paths skip
//! blank lines and (when configured) comment lines, like csv-core.

use super::dialect::Dialect;
use super::record::Record;
use super::scan::{Dfa, State};
use std::ops::Range;

/// The outcome of the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fast {
    /// The record was read; this many bytes were used.
    Done(usize),
    /// A field starts with a quote at this offset.
    QuotedAt(usize),
    /// The record needs csv-core.
    Slow,
}

/// How the fast path sees a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Data,
    Delimiter,
    Newline,
    CarriageReturn,
    Quote,
}

/// SWAR detection of four byte values in a `u64` word.
#[derive(Debug, Clone, Copy)]
struct Special {
    /// Each byte value repeated in all eight lanes.
    patterns: [u64; 4],
}

impl Special {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

    fn new(bytes: [u8; 4]) -> Special {
        Special { patterns: bytes.map(|b| u64::from_ne_bytes([b; 8])) }
    }

    /// The high bit of each lane of `w` that equals one of the bytes.
    #[inline(always)]
    fn mask(&self, w: u64) -> u64 {
        let zero = |v: u64| !(((v & Self::LOW7).wrapping_add(Self::LOW7)) | v | Self::LOW7);
        zero(w ^ self.patterns[0])
            | zero(w ^ self.patterns[1])
            | zero(w ^ self.patterns[2])
            | zero(w ^ self.patterns[3])
    }
}

/// Splits a region of bytes into records.
pub(crate) struct Tokenizer {
    dialect: Dialect,
    class: [Class; 256],
    special: Special,
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
        let mut class = [Class::Data; 256];
        class[usize::from(dialect.delimiter)] = Class::Delimiter;
        class[usize::from(b'\n')] = Class::Newline;
        class[usize::from(b'\r')] = Class::CarriageReturn;
        if let Some(q) = dialect.quote {
            class[usize::from(q)] = Class::Quote;
        }
        let quote = dialect.quote.unwrap_or(b'\n');
        let special = Special::new([dialect.delimiter, b'\n', b'\r', quote]);
        Tokenizer {
            dialect,
            class,
            special,
            core: dialect.core_reader(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            slow: 0,
        }
    }

    /// Reads the record at `*pos` of `region` into `rec` and moves `*pos`
    /// past it; `None` when only blank or comment lines remain.
    /// `at_eof`: the region ends at the end of its file.
    #[inline]
    pub(crate) fn next(&mut self, region: &[u8], pos: &mut usize, rec: &mut Record, at_eof: bool) -> Option<Span> {
        let start = self.skip_blank(region, *pos);
        *pos = start;
        if start >= region.len() {
            return None;
        }
        let rest = &region[start..];
        let used = match self.fast(rest, rec) {
            Fast::Done(used) => Some(used),
            Fast::QuotedAt(field) => {
                // Keep the fields cut so far: their bounds point into the
                // line's prefix.
                rec.copy_line(&rest[..field]);
                self.quoted(rest, field, rec)
            }
            Fast::Slow => None,
        };
        if let Some(used) = used {
            *pos = start + used;
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

    /// Reads the record at the start of `rest` if it is one line without
    /// quote bytes and without a `\r` other than a final CRLF: `Done` with
    /// the bytes used; `QuotedAt(i)` when a field starts with a quote at `i`
    /// (the fields before it are in `rec`, as bounds into `rest`); `Slow`
    /// for csv-core.
    ///
    /// Eight bytes at a time: a SWAR mask marks the delimiters, line breaks
    /// and quotes of each word, and only those bytes are looked at.
    #[inline]
    fn fast(&self, rest: &[u8], rec: &mut Record) -> Fast {
        rec.clear();
        let mut field = 0;
        let mut i = 0;
        while let Some(word) = rest.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            let mut mask = self.special.mask(w);
            while mask != 0 {
                let j = i + (mask.trailing_zeros() / 8) as usize;
                mask &= mask - 1;
                if let Some(done) = self.special_byte(rest, j, &mut field, rec) {
                    return done;
                }
            }
            i += 8;
        }
        while i < rest.len() {
            if self.class[usize::from(rest[i])] != Class::Data
                && let Some(done) = self.special_byte(rest, i, &mut field, rec)
            {
                return done;
            }
            i += 1;
        }
        Fast::Done(self.finish_line(rest, rest.len(), field, rest.len(), rec))
    }

    /// Reads the rest of a record with quoted fields, from the field that
    /// starts at `rest[i]` (`rec` holds the fields before it), in RFC 4180
    /// form: quotes open fields and are doubled inside them; no escape byte.
    /// Returns the bytes used, or `None` for anything else (a quote inside
    /// an unquoted field, text after a closing quote, a lone `\r`, an
    /// unterminated quote), which csv-core then reads.
    fn quoted(&self, rest: &[u8], mut i: usize, rec: &mut Record) -> Option<usize> {
        let quote = self.dialect.quote?;
        if self.dialect.escape.is_some() {
            return None;
        }
        loop {
            if rest.get(i) == Some(&quote) {
                let start = rec.mark();
                let mut j = i + 1;
                loop {
                    let k = j + memchr::memchr(quote, &rest[j..])?;
                    rec.extend(&rest[j..k]);
                    if rest.get(k + 1) == Some(&quote) {
                        rec.extend(&rest[k..k + 1]);
                        j = k + 2;
                    } else {
                        j = k + 1;
                        break;
                    }
                }
                rec.push_from(start);
                match rest.get(j) {
                    None => return Some(j),
                    Some(&b) if b == self.dialect.delimiter => i = j + 1,
                    Some(b'\n') => return Some(j + 1),
                    Some(b'\r') if rest.get(j + 1) == Some(&b'\n') => return Some(j + 2),
                    Some(_) => return None,
                }
                continue;
            }
            let mut j = i;
            loop {
                let Some(&b) = rest.get(j) else {
                    rec.push_field(&rest[i..j]);
                    return Some(j);
                };
                match self.class[usize::from(b)] {
                    Class::Data => j += 1,
                    Class::Delimiter => {
                        rec.push_field(&rest[i..j]);
                        i = j + 1;
                        break;
                    }
                    Class::Newline => {
                        rec.push_field(&rest[i..j]);
                        return Some(j + 1);
                    }
                    Class::CarriageReturn if rest.get(j + 1) == Some(&b'\n') => {
                        rec.push_field(&rest[i..j]);
                        return Some(j + 2);
                    }
                    Class::CarriageReturn | Class::Quote => return None,
                }
            }
        }
    }

    /// Handles the special byte `rest[j]` of the fast path: `Some(outcome)`
    /// when the record ends (or leaves the fast path) there.
    #[inline(always)]
    fn special_byte(&self, rest: &[u8], j: usize, field: &mut usize, rec: &mut Record) -> Option<Fast> {
        match self.class[usize::from(rest[j])] {
            Class::Data => None,
            Class::Delimiter => {
                rec.push_bound(*field..j);
                *field = j + 1;
                None
            }
            Class::Newline => Some(Fast::Done(self.finish_line(rest, j, *field, j + 1, rec))),
            Class::CarriageReturn if rest.get(j + 1) == Some(&b'\n') => {
                Some(Fast::Done(self.finish_line(rest, j, *field, j + 2, rec)))
            }
            Class::Quote if j == *field => Some(Fast::QuotedAt(j)),
            Class::CarriageReturn | Class::Quote => Some(Fast::Slow),
        }
    }

    /// Ends a fast-path record whose content is `rest[..end]`; returns `used`.
    #[inline(always)]
    fn finish_line(&self, rest: &[u8], end: usize, field: usize, used: usize, rec: &mut Record) -> usize {
        rec.push_bound(field..end);
        rec.copy_line(&rest[..end]);
        used
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
    fn read_core(&mut self, input: &[u8], rec: &mut Record) -> usize {
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
        let mut rec = Record::new();
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

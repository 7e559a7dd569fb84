//! Records of a region of CSV bytes, into a reused [`Record`].
//!
//! The region starts at a record start. A record in RFC 4180 form (quotes
//! only around whole fields, doubled inside them; no escape byte; no `\r`
//! outside quotes but in a final CRLF) takes the fast path: SSE2 compares
//! mark the delimiters, line breaks and quotes of 64 bytes at a time, the
//! fields are cut at the marked delimiters (inside quotes, the marked bytes
//! are taken one by one from the mask up to the closing quote, and the
//! delimiters there are never looked at), and the record's bytes are copied once,
//! its fields bounds into that copy; doubled quotes are then undoubled in
//! place. That is exactly what csv-core does with such a record. Any other
//! record goes through `csv_core::Reader`. Both paths skip blank lines and
//! (when configured) comment lines, like csv-core.

use super::blocks::{BLOCK, Classifier, Masks};
use super::dialect::Dialect;
use super::record::Record;
use super::scan::{Dfa, State};
use std::ops::Range;

/// The outcome of the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fast {
    /// The record was read; this many bytes were used.
    Done(usize),
    /// The record needs csv-core.
    Slow,
}

/// Splits a region of bytes into records.
pub(crate) struct Tokenizer {
    dialect: Dialect,
    classifier: Classifier,
    /// The quote byte if quoted fields can take the fast path (no escape
    /// byte), else a byte that never reaches the quote branch (`\n`).
    quote: u8,
    /// Whether records may take the fast path: the delimiter is none of
    /// the stops (`\n`, `\r`, the quote), as [`Dialect::validate`] checks
    /// (a tokenizer may be built for a dialect not validated yet).
    fast_path: bool,
    /// Built on the first record that needs it (building one costs about
    /// as much as reading thousands of records on the fast path).
    core: Option<Box<csv_core::Reader>>,
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
        let marked = dialect.quote.unwrap_or(b'\n');
        Tokenizer {
            dialect,
            classifier: Classifier::new([dialect.delimiter, b'\n', b'\r', marked]),
            quote: if dialect.escape.is_none() { marked } else { b'\n' },
            fast_path: ![b'\n', b'\r', marked].contains(&dialect.delimiter),
            core: None,
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
        if self.fast_path
            && let Fast::Done(used) = self.fast(rest, rec)
        {
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

    /// Reads the record at the start of `rest`, if it is in RFC 4180 form:
    /// quotes only open fields (and close them, before a delimiter or the
    /// record's end) and are doubled inside them, no escape byte, no `\r`
    /// other than in a final CRLF or inside quotes. `Done` with the bytes
    /// used, else `Slow` for csv-core (which is also what an unterminated
    /// quote gets).
    ///
    /// The record is read in 64-byte blocks: SSE2 compares mark the
    /// delimiters and the stops (line breaks and quotes) of each, and only
    /// those bytes are looked at, each once: the masks lose their bits as
    /// the record is read. Fields are bounds into one copy of the record's
    /// bytes; the doubled quotes of quoted fields are then undoubled in place.
    #[inline]
    fn fast(&self, rest: &[u8], rec: &mut Record) -> Fast {
        rec.clear();
        let quote = self.quote;
        let len = rest.len();
        // `delimiters` and `stops` (line breaks and quotes) mark the bytes
        // of the block at `base` not looked at yet; `field` is where the
        // current field starts.
        let (mut base, mut field) = (0, 0);
        let Masks { first: mut delimiters, others: mut stops } = self.classifier.at(rest, 0);
        // The first field with doubled quotes, if any: in this form, the
        // fields before it (and the fields without quotes after it) hold
        // no quote byte.
        let mut doubled = usize::MAX;
        loop {
            if stops == 0 {
                rec.push_ends(delimiters, base, &mut field);
                base += BLOCK;
                if base >= len {
                    rec.push_bound(field..len);
                    return Fast::Done(self.finish(rest, len, len, doubled, rec));
                }
                Masks { first: delimiters, others: stops } = self.classifier.at(rest, base);
                continue;
            }
            // The delimiters before the first line break or quote.
            let before = (stops & stops.wrapping_neg()).wrapping_sub(1);
            rec.push_ends(delimiters & before, base, &mut field);
            let j = base + stops.trailing_zeros() as usize;
            stops &= stops - 1;
            match rest.get(j) {
                Some(b'\n') => {
                    rec.push_bound(field..j);
                    return Fast::Done(self.finish(rest, j, j + 1, doubled, rec));
                }
                Some(b'\r') if rest.get(j + 1) == Some(&b'\n') => {
                    rec.push_bound(field..j);
                    return Fast::Done(self.finish(rest, j, j + 2, doubled, rec));
                }
                // A quote that opens the field.
                Some(&b) if b == quote && j == field => {}
                _ => return Fast::Slow,
            }
            // The closing quote: the next quote that is not doubled. The
            // stops after the opening quote are taken one by one: inside
            // quotes, a line break is data (one byte compare) and the
            // delimiters are not stops.
            let k = loop {
                if stops == 0 {
                    base += BLOCK;
                    if base >= len {
                        return Fast::Slow;
                    }
                    Masks { first: delimiters, others: stops } = self.classifier.at(rest, base);
                    continue;
                }
                let k = base + stops.trailing_zeros() as usize;
                stops &= stops - 1;
                if rest.get(k) != Some(&quote) {
                    continue;
                }
                if rest.get(k + 1) != Some(&quote) {
                    break k;
                }
                // A doubled quote: its second byte is the next stop, in
                // this block or first in the next one.
                doubled = doubled.min(rec.len());
                if k + 1 - base < BLOCK {
                    stops &= stops - 1;
                } else {
                    base += BLOCK;
                    Masks { first: delimiters, others: stops } = self.classifier.at(rest, base);
                    stops &= !1;
                }
            };
            rec.push_bound(j + 1..k);
            match rest.get(k + 1) {
                None => return Fast::Done(self.finish(rest, k + 1, k + 1, doubled, rec)),
                Some(&b) if b == self.dialect.delimiter => {
                    // The delimiters up to this one are used (those before
                    // it were inside the quotes).
                    field = k + 2;
                    if k + 1 - base < BLOCK {
                        delimiters &= u64::MAX << (k + 1 - base) << 1;
                    } else {
                        base += BLOCK;
                        Masks { first: delimiters, others: stops } = self.classifier.at(rest, base);
                        delimiters &= !1;
                    }
                }
                Some(b'\n') => return Fast::Done(self.finish(rest, k + 1, k + 2, doubled, rec)),
                Some(b'\r') if rest.get(k + 2) == Some(&b'\n') => {
                    return Fast::Done(self.finish(rest, k + 1, k + 3, doubled, rec));
                }
                Some(_) => return Fast::Slow,
            }
        }
    }

    /// Ends a fast-path record whose content is `rest[..end]`, its fields
    /// bounds into it; undoubles the quotes of the fields from field
    /// `doubled` on (none for `usize::MAX`; see [`Record::undouble`]).
    /// Returns `used`.
    #[inline(always)]
    fn finish(&self, rest: &[u8], end: usize, used: usize, doubled: usize, rec: &mut Record) -> usize {
        rec.copy_line(rest.get(..end).unwrap_or(rest));
        if doubled != usize::MAX {
            rec.undouble(self.quote, doubled);
        }
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
        let dialect = self.dialect;
        let core = self.core.get_or_insert_with(|| Box::new(dialect.core_reader()));
        core.reset();
        let (mut inpos, mut outlen, mut endlen) = (0, 0, 0);
        loop {
            let (res, nin, nout, nend) =
                core.read_record(&input[inpos..], &mut self.out[outlen..], &mut self.ends[endlen..]);
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

    /// Long random records, so that fields, quotes and terminators fall on
    /// both sides of block boundaries.
    #[test]
    fn long_records_agree_with_csv_reader() {
        let mut seed = 0x5EED_u64;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let d = Dialect::default();
        for dialect in
            [d, Dialect { delimiter: b'\0', ..d }, Dialect { escape: Some(b'\\'), ..d }, Dialect { quote: None, ..d }]
        {
            for _ in 0..300 {
                let mut text = Vec::new();
                for _ in 0..next(6) {
                    for f in 0..1 + next(5) {
                        if f > 0 {
                            text.push(dialect.delimiter);
                        }
                        let len = next(90);
                        let quoted = next(3) == 0;
                        if quoted {
                            text.push(b'"');
                        }
                        for _ in 0..len {
                            let b = match next(40) {
                                0 => b'"',
                                1 if quoted => b'\n',
                                2 => b'\r',
                                3 => dialect.delimiter,
                                4 => b'\\',
                                _ => b'a' + next(26) as u8,
                            };
                            text.push(b);
                            if b == b'"' && quoted && next(8) != 0 {
                                text.push(b'"');
                            }
                        }
                        if quoted && next(20) != 0 {
                            text.push(b'"');
                        }
                    }
                    text.extend_from_slice([&b"\n"[..], b"\r\n", b"\n\n", b""][next(4) as usize]);
                }
                let got: Vec<_> = records(dialect, &text).into_iter().map(|r| r.0).collect();
                assert_eq!(got, reference(dialect, &text), "{:?} {dialect:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    /// Quoted fields at every offset around the first block edge, so that
    /// an opening, closing or doubled quote, a line break inside quotes and
    /// the delimiter after a closing quote each fall on byte 63 and 64.
    /// Records in RFC 4180 form all take the fast path.
    #[test]
    fn quotes_at_block_edges_agree_with_csv_reader() {
        let d = Dialect::default();
        // (bytes, in RFC 4180 form)
        let fields = [
            (&b"\"ab\""[..], true),
            (b"\"a\"\"b\"", true),
            (b"\"\"\"\"", true),
            (b"\"\"\"\"\"\"", true),
            (b"\"a\nb\"", true),
            (b"\"a,b\"", true),
            (b"\"\"", true),
            (b"\"a\r\nb\"", true),
            (b"\"a\"b", false),
        ];
        let ends =
            [(&b",z\n"[..], true), (b"\n", true), (b"\r\n", true), (b",\"q\"\n", true), (b",\n", true), (b"\r", false)];
        for pad in 0..80 {
            for (field, good_field) in fields {
                for (end, good_end) in ends {
                    let mut text = vec![b'x'; pad];
                    text.push(b',');
                    text.extend_from_slice(field);
                    text.extend_from_slice(end);
                    text.extend_from_slice(b"1,2\n");
                    let mut t = Tokenizer::new(d);
                    let (mut rec, mut pos, mut got) = (Record::new(), 0, Vec::new());
                    while t.next(&text, &mut pos, &mut rec, true).is_some() {
                        got.push(rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
                    }
                    let text_lossy = String::from_utf8_lossy(&text);
                    assert_eq!(got, reference(d, &text), "{text_lossy:?}");
                    if good_field && good_end {
                        assert_eq!(t.slow, 0, "{text_lossy:?}");
                    }
                }
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

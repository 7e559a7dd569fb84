//! [`Record`]: one CSV record's fields, the item of [`Csv::records`](super::Csv::records).

use csv::ByteRecord;
use std::fmt;
use std::ops::Range;

/// One CSV record: its fields as byte slices, unescaped.
///
/// A split reuses one `Record` for all its records, so reading one costs
/// one copy of its line and no allocation. Filling a `csv::ByteRecord` field
/// by field instead costs a large share of the sales example's CPU time
/// (BENCHMARKS.md, "Figures behind design choices"), which is why `Record`
/// is the raw item; convert with [`to_byte_record`](Record::to_byte_record), or
/// use [`Csv::byte_records`](super::Csv::byte_records) for `&csv::ByteRecord`
/// items.
///
/// # Invariants
/// Between records, every range in `bounds` lies inside `bytes` (while the
/// tokenizer fills it, bounds may be pushed before the bytes are copied);
/// accessors use checked slicing either way and never panic.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Record {
    bytes: Vec<u8>,
    bounds: Vec<Range<usize>>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// The number of fields.
    #[inline]
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Whether the record has no fields.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.bounds.get(i).and_then(|r| self.bytes.get(r.clone()))
    }

    /// Field `i` as text, if there is one and it is UTF-8.
    pub fn get_str(&self, i: usize) -> Option<&str> {
        self.get(i).and_then(|f| std::str::from_utf8(f).ok())
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.bounds.iter().map(|r| self.bytes.get(r.clone()).unwrap_or_default())
    }

    /// The record as a `csv::ByteRecord`.
    pub fn to_byte_record(&self) -> ByteRecord {
        let mut rec = ByteRecord::with_capacity(self.bytes.len(), self.len());
        self.fill(&mut rec);
        rec
    }

    /// Replaces the contents of `rec` with this record's fields.
    pub(crate) fn fill(&self, rec: &mut ByteRecord) {
        rec.clear();
        for field in self.iter() {
            rec.push_field(field);
        }
    }

    /// Empties the record, keeping its buffers.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.bounds.clear();
    }

    /// Starts a record whose fields are slices of `line`, copied once.
    #[cfg(test)]
    pub(crate) fn set_line(&mut self, line: &[u8]) {
        self.bounds.clear();
        self.copy_line(line);
    }

    /// Sets the bytes that the bounds pushed with
    /// [`push_bound`](Record::push_bound) point into.
    #[inline]
    pub(crate) fn copy_line(&mut self, line: &[u8]) {
        self.bytes.clear();
        self.bytes.extend_from_slice(line);
    }

    /// Adds field `range` of the line given to [`copy_line`](Record::copy_line)
    /// (before or after this call).
    #[inline]
    pub(crate) fn push_bound(&mut self, range: Range<usize>) {
        self.bounds.push(range);
    }

    /// Adds the fields of the line given to [`copy_line`](Record::copy_line)
    /// that end at the set bits of `ends` (bit `i` for byte `base + i`):
    /// the first starts at `*field`, each next one after the previous end;
    /// `*field` is left after the last end.
    #[inline(always)]
    pub(crate) fn push_ends(&mut self, mut ends: u64, base: usize, field: &mut usize) {
        // At most 64 fields (one per bit): one capacity check for all.
        self.bounds.reserve(64);
        let len = self.bounds.len();
        let spare = self.bounds.spare_capacity_mut();
        let mut n = 0;
        // The bits run out first: at most 64 of them, 64 slots reserved.
        for slot in spare {
            if ends == 0 {
                break;
            }
            let j = base + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            slot.write(*field..j);
            *field = j + 1;
            n += 1;
        }
        // SAFETY: the first `n` slots of the spare capacity, which follow
        // the `len` elements, are initialized: the loop wrote one slot per
        // iteration that counted, in order. `len + n` is within the capacity.
        unsafe { self.bounds.set_len(len + n) };
    }

    /// Adds a field by copying it.
    #[inline]
    pub(crate) fn push_field(&mut self, field: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(field);
        self.bounds.push(start..self.bytes.len());
    }

    /// Undoubles the quotes of the fields from field `from` on: the fast
    /// path's quoted fields hold each quote byte doubled (and its other
    /// fields hold no quote byte).
    pub(crate) fn undouble(&mut self, quote: u8, from: usize) {
        for r in self.bounds.iter_mut().skip(from) {
            let Some(field) = self.bytes.get_mut(r.clone()) else { continue };
            let (mut read, mut write) = (0, 0);
            while let Some(at) = memchr::memchr(quote, field.get(read..).unwrap_or_default()) {
                // Keep the first quote of the pair, drop the second.
                field.copy_within(read..read + at + 1, write);
                write += at + 1;
                read += at + 2;
            }
            let rest = field.len().saturating_sub(read);
            field.copy_within(field.len() - rest.., write);
            r.end = r.start + write + rest;
        }
    }

    /// Trims ASCII whitespace from both ends of every field.
    pub(crate) fn trim(&mut self) {
        for r in &mut self.bounds {
            let field = &self.bytes[r.clone()];
            let lead = field.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let trail = field[lead..].iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
            *r = r.start + lead..r.end - trail;
        }
    }

    /// Keeps the fields at `order`, in that order (missing ones empty).
    pub(crate) fn reorder(&mut self, order: &[usize]) {
        let old = std::mem::take(&mut self.bounds);
        self.bounds.extend(order.iter().map(|&i| old.get(i).cloned().unwrap_or(0..0)));
    }
}

impl std::ops::Index<usize> for Record {
    type Output = [u8];

    /// Field `i`.
    ///
    /// # Panics
    /// If the record has no field `i`: use [`get`](Record::get) for input
    /// that may be short (or keep the source's strict field count).
    fn index(&self, i: usize) -> &[u8] {
        match self.get(i) {
            Some(f) => f,
            None => panic!("field {i} of a record with {} fields", self.len()),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_trim_and_reorder() {
        let mut r = Record::new();
        r.set_line(b" a ,b,\tc");
        r.push_bound(0..3);
        r.push_bound(4..5);
        r.push_bound(6..8);
        r.push_field(b"quoted\n");
        assert_eq!(r.iter().collect::<Vec<_>>(), [&b" a "[..], b"b", b"\tc", b"quoted\n"]);
        r.trim();
        assert_eq!(&r[0], b"a");
        assert_eq!(r.get_str(2), Some("c"));
        assert_eq!(r.to_byte_record(), ByteRecord::from(vec!["a", "b", "c", "quoted"]));
        r.reorder(&[3, 0, 9]);
        assert_eq!(r.iter().collect::<Vec<_>>(), [&b"quoted"[..], b"a", b""]);
        assert_eq!(format!("{r:?}"), "[\"quoted\", \"a\", \"\"]");
    }
}

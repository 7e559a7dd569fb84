//! Special bytes of 64-byte blocks as bit masks: four SSE2 compares per 16
//! bytes and movemasks (SSE2 is part of the x86-64 baseline; other targets
//! use a portable loop). Shared by the tokenizer and the quote scan; the
//! quote scan uses AVX2 and PCLMULQDQ instead where the CPU has them
//! ([`QuoteBlocks`]).

/// The length of a [`Block`].
pub(crate) const BLOCK: usize = 64;

/// The special bytes of a block: bit `i` of `any` is set when byte `i` is
/// one of the classifier's four bytes, and bit `i` of `first` when it is the
/// first of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block {
    pub(crate) any: u64,
    pub(crate) first: u64,
}

/// The special bytes of a block, split: bit `i` of `first` is set when byte
/// `i` is the classifier's first byte, and bit `i` of `others` when it is
/// one of the other three (both when the first byte repeats among them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    pub(crate) first: u64,
    pub(crate) others: u64,
}

/// Finds four byte values in 64-byte blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classifier {
    /// The four bytes, each repeated in all sixteen lanes.
    #[cfg(target_arch = "x86_64")]
    splats: [std::arch::x86_64::__m128i; 4],
    bytes: [u8; 4],
}

impl Classifier {
    /// A classifier for `bytes` (repeats are fine).
    pub(crate) fn new(bytes: [u8; 4]) -> Classifier {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::_mm_set1_epi8;
            // SAFETY: the intrinsic only requires SSE2, which every x86-64
            // CPU has (it is part of the target's baseline, enabled in every
            // build); it reads no memory.
            Classifier { splats: bytes.map(|b| unsafe { _mm_set1_epi8(b as i8) }), bytes }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Classifier { bytes }
    }

    /// The masks of `block`.
    #[inline(always)]
    pub(crate) fn block(&self, block: &[u8; BLOCK]) -> Block {
        let Masks { first, others } = self.masks(block);
        Block { any: first | others, first }
    }

    /// The split masks of `block`.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(crate) fn masks(&self, block: &[u8; BLOCK]) -> Masks {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x};
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[i..i + 8]);
            i64::from_le_bytes(w)
        };
        let [a, b, c, d] = self.splats;
        let (mut first, mut others) = (0u64, 0u64);
        for lane in 0..BLOCK / 16 {
            // SAFETY: these intrinsics only require SSE2, which every x86-64
            // CPU has (it is part of the target's baseline, enabled in every
            // build); they read no memory: the bytes arrive as integers.
            let (firsts, rest) = unsafe {
                let v = _mm_set_epi64x(word(lane * 16 + 8), word(lane * 16));
                let rest = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, b), _mm_cmpeq_epi8(v, c)), _mm_cmpeq_epi8(v, d));
                (_mm_movemask_epi8(_mm_cmpeq_epi8(v, a)), _mm_movemask_epi8(rest))
            };
            first |= u64::from(firsts as u16) << (lane * 16);
            others |= u64::from(rest as u16) << (lane * 16);
        }
        Masks { first, others }
    }

    /// The split masks of `block`.
    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    pub(crate) fn masks(&self, block: &[u8; BLOCK]) -> Masks {
        self.portable(block)
    }

    /// The split masks of `block`, byte by byte (the fallback for targets
    /// without SSE2; on x86-64, the reference of the tests).
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn portable(&self, block: &[u8; BLOCK]) -> Masks {
        let (mut first, mut others) = (0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            first |= u64::from(b == self.bytes[0]) << i;
            others |= u64::from(self.bytes[1..].contains(&b)) << i;
        }
        Masks { first, others }
    }

    /// The split masks of the block of `bytes` at `base`; bytes past the
    /// end of `bytes` are never marked.
    #[inline(always)]
    pub(crate) fn at(&self, bytes: &[u8], base: usize) -> Masks {
        if let Some(block) = bytes.get(base..base + BLOCK).and_then(|b| <&[u8; BLOCK]>::try_from(b).ok()) {
            return self.masks(block);
        }
        let tail = bytes.get(base..).unwrap_or_default();
        let mut padded = [0u8; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        let Masks { first, others } = self.masks(&padded);
        let keep = low_bits(tail.len());
        Masks { first: first & keep, others: others & keep }
    }
}

/// The quote scan's masks with AVX2, for x86-64 CPUs that have AVX2, BMI1
/// and PCLMULQDQ (checked at run time by [`QuoteBlocks::detect`]; the scan
/// uses the other two for its mask arithmetic and [`prefix_xor_clmul`]).
///
/// The methods are compiled with those features; the scan calls them from
/// a function compiled with them too, so that they inline.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuoteBlocks {
    /// The quote, in all 32 lanes.
    quote: std::arch::x86_64::__m256i,
    /// Whether the edge bytes are found with `table` (else with `others`).
    lookup: bool,
    /// When the four edge bytes are ASCII with distinct low nibbles: in both
    /// 16-byte halves, entry `n` is the edge byte whose low nibble is `n`, or
    /// a byte whose low nibble is not `n` (equal to no byte that looks it up).
    table: std::arch::x86_64::__m256i,
    /// The delimiter, `\n` and `\r`, each in all 32 lanes.
    others: [std::arch::x86_64::__m256i; 3],
}

#[cfg(target_arch = "x86_64")]
impl QuoteBlocks {
    /// Masks for `quote` and the edge bytes (the quote, `delimiter`, `\n`
    /// and `\r`), if this CPU has AVX2, BMI1 (`andn`, for the scan's mask
    /// arithmetic) and PCLMULQDQ.
    pub(crate) fn detect(quote: u8, delimiter: u8) -> Option<QuoteBlocks> {
        if !(is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("bmi1")
            && is_x86_feature_detected!("pclmulqdq"))
        {
            return None;
        }
        // SAFETY: the three features were just detected.
        Some(unsafe { QuoteBlocks::new(quote, delimiter) })
    }

    #[target_feature(enable = "avx2,bmi1,pclmulqdq")]
    fn new(quote: u8, delimiter: u8) -> QuoteBlocks {
        use std::arch::x86_64::{_mm256_loadu_si256, _mm256_set1_epi8};
        let mut table = [0u8; 32];
        for (n, entry) in table.iter_mut().enumerate() {
            // Low nibble `n ^ 1`: never equal to a byte whose low nibble is `n`.
            *entry = (n % 16) as u8 ^ 1;
        }
        let mut lookup = true;
        for b in [quote, delimiter, b'\n', b'\r'] {
            let n = usize::from(b & 15);
            // A byte of 0x80 or more looks up 0; two bytes with one low nibble would share an entry.
            lookup &= b < 0x80 && (table[n] & 15 != b & 15 || table[n] == b);
            table[n] = b;
            table[n + 16] = b;
        }
        QuoteBlocks {
            quote: _mm256_set1_epi8(quote as i8),
            lookup,
            // SAFETY: `table` is 32 readable bytes; the load has no alignment requirement.
            table: unsafe { _mm256_loadu_si256(table.as_ptr().cast()) },
            others: [delimiter, b'\n', b'\r'].map(|b| _mm256_set1_epi8(b as i8)),
        }
    }

    /// Whether [`block`](QuoteBlocks::block) may look the edge bytes up
    /// (`LOOKUP = true`); it must compare them otherwise.
    pub(crate) fn lookup(&self) -> bool {
        self.lookup
    }

    /// `(quotes, edges)` of `block`: bit `i` of `quotes` is set when
    /// `block[i]` is the quote, of `edges` when it is an edge byte.
    /// `LOOKUP` must be false unless [`lookup`](QuoteBlocks::lookup) is true.
    #[target_feature(enable = "avx2,bmi1,pclmulqdq")]
    #[inline]
    pub(crate) fn block<const LOOKUP: bool>(&self, block: &[u8; BLOCK]) -> (u64, u64) {
        use std::arch::x86_64::{
            _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256, _mm256_shuffle_epi8,
        };
        let [d, n, r] = self.others;
        let (mut quotes, mut edges) = (0u64, 0u64);
        for half in 0..2 {
            // SAFETY: bytes `32 * half..32 * half + 32` of a 64-byte array are
            // readable; the load has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * half).cast()) };
            let q = _mm256_cmpeq_epi8(v, self.quote);
            let e = if LOOKUP {
                _mm256_cmpeq_epi8(_mm256_shuffle_epi8(self.table, v), v)
            } else {
                _mm256_or_si256(
                    _mm256_or_si256(q, _mm256_cmpeq_epi8(v, d)),
                    _mm256_or_si256(_mm256_cmpeq_epi8(v, n), _mm256_cmpeq_epi8(v, r)),
                )
            };
            quotes |= u64::from(_mm256_movemask_epi8(q) as u32) << (32 * half);
            edges |= u64::from(_mm256_movemask_epi8(e) as u32) << (32 * half);
        }
        (quotes, edges)
    }
}

/// Bit `i` of the result is the xor of bits `0..=i` of `x`: a carry-less
/// multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,pclmulqdq")]
#[inline]
pub(crate) fn prefix_xor_clmul(x: u64) -> u64 {
    use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi64_si128, _mm_cvtsi128_si64, _mm_set1_epi8};
    _mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_cvtsi64_si128(x as i64), _mm_set1_epi8(-1), 0)) as u64
}

/// [`prefix_xor_clmul`] with shifts (any target).
#[inline(always)]
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// The `n` low bits set (all of them from 64 on).
#[inline(always)]
pub(crate) fn low_bits(n: usize) -> u64 {
    u32::try_from(n).ok().and_then(|n| 1u64.checked_shl(n)).map_or(u64::MAX, |bit| bit - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SSE2 masks equal the portable ones, block by block and at the
    /// end of the bytes.
    #[test]
    fn masks_agree_with_the_portable_loop() {
        let mut seed = 0xB10C_u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u8
        };
        let classifier = Classifier::new([b',', b'\n', b'\r', b'"']);
        let pick = [b',', b'\n', b'\r', b'"', b'a', 0, 0x80, 0xff];
        for _ in 0..500 {
            let bytes: Vec<u8> = (0..150).map(|_| pick[usize::from(next() % 8)]).collect();
            for base in [0, 1, 63, 64, 90, 149, 150, 200] {
                let got = classifier.at(&bytes, base);
                let tail = bytes.get(base..).unwrap_or_default();
                let mut padded = [0u8; BLOCK];
                let n = tail.len().min(BLOCK);
                padded[..n].copy_from_slice(&tail[..n]);
                let want = classifier.portable(&padded);
                assert_eq!(got, Masks { first: want.first & low_bits(n), others: want.others & low_bits(n) });
                let block = classifier.block(&padded);
                assert_eq!((block.any, block.first), (want.first | want.others, want.first));
            }
        }
    }

    /// The AVX2 masks equal the portable ones, with the lookup and with
    /// compares; the carry-less prefix xor equals the shifted one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_masks_agree_with_the_portable_loop() {
        let mut seed = 0xA5C2_u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 11
        };
        // (quote, delimiter, looked up): `:` and `\n` share a low nibble, 0xFE is not ASCII.
        for (quote, delimiter, lookup) in
            [(b'"', b',', true), (b'\'', b';', true), (b'"', b':', false), (b'"', 0xFE, false), (0, b'\t', true)]
        {
            let Some(quotes) = QuoteBlocks::detect(quote, delimiter) else {
                eprintln!("no AVX2 and PCLMULQDQ here: skipped");
                return;
            };
            assert_eq!(quotes.lookup(), lookup, "{quote:#x} {delimiter:#x}");
            let classifier = Classifier::new([quote, delimiter, b'\n', b'\r']);
            let pick =
                [quote, delimiter, b'\n', b'\r', b'a', 0, 0x80, 0xff, b'\n' + 0x30, delimiter ^ 0x80, quote ^ 0x10];
            for _ in 0..2000 {
                let block: [u8; BLOCK] = std::array::from_fn(|_| pick[next() as usize % pick.len()]);
                let want = classifier.portable(&block);
                // SAFETY: `detect` found AVX2, BMI1 and PCLMULQDQ.
                let got = unsafe { if lookup { quotes.block::<true>(&block) } else { quotes.block::<false>(&block) } };
                assert_eq!(got, (want.first, want.first | want.others), "{block:?}");
                let x = next() ^ next() << 40;
                // SAFETY: as above.
                assert_eq!(unsafe { prefix_xor_clmul(x) }, prefix_xor(x));
            }
        }
    }
}

//! Special bytes of 64-byte blocks as bit masks: four SSE2 compares per 16
//! bytes and movemasks (SSE2 is part of the x86-64 baseline; other targets
//! use a portable loop). Shared by the tokenizer and the quote scan.

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

impl Block {
    /// The bytes that are one of the other three.
    #[inline(always)]
    pub(crate) fn others(self) -> u64 {
        self.any & !self.first
    }
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
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(crate) fn block(&self, block: &[u8; BLOCK]) -> Block {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x};
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[i..i + 8]);
            i64::from_le_bytes(w)
        };
        let [a, b, c, d] = self.splats;
        let (mut any, mut first) = (0u64, 0u64);
        for lane in 0..BLOCK / 16 {
            // SAFETY: these intrinsics only require SSE2, which every x86-64
            // CPU has (it is part of the target's baseline, enabled in every
            // build); they read no memory: the bytes arrive as integers.
            let (special, firsts) = unsafe {
                let v = _mm_set_epi64x(word(lane * 16 + 8), word(lane * 16));
                let firsts = _mm_cmpeq_epi8(v, a);
                let special = _mm_or_si128(
                    _mm_or_si128(firsts, _mm_cmpeq_epi8(v, b)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, c), _mm_cmpeq_epi8(v, d)),
                );
                (_mm_movemask_epi8(special), _mm_movemask_epi8(firsts))
            };
            any |= u64::from(special as u16) << (lane * 16);
            first |= u64::from(firsts as u16) << (lane * 16);
        }
        Block { any, first }
    }

    /// The masks of `block`.
    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    pub(crate) fn block(&self, block: &[u8; BLOCK]) -> Block {
        self.portable(block)
    }

    /// The masks of `block`, byte by byte (the fallback for targets
    /// without SSE2; on x86-64, the reference of the tests).
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn portable(&self, block: &[u8; BLOCK]) -> Block {
        let (mut any, mut first) = (0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            any |= u64::from(self.bytes.contains(&b)) << i;
            first |= u64::from(b == self.bytes[0]) << i;
        }
        Block { any, first }
    }

    /// The masks of the block of `bytes` at `base`; bytes past the end of
    /// `bytes` are never marked.
    #[inline(always)]
    pub(crate) fn at(&self, bytes: &[u8], base: usize) -> Block {
        if let Some(block) = bytes.get(base..base + BLOCK).and_then(|b| <&[u8; BLOCK]>::try_from(b).ok()) {
            return self.block(block);
        }
        let tail = bytes.get(base..).unwrap_or_default();
        let mut padded = [0u8; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        let Block { any, first } = self.block(&padded);
        let keep = low_bits(tail.len());
        Block { any: any & keep, first: first & keep }
    }
}

/// Finds one byte value in 64-byte blocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finder {
    /// The byte, repeated in all sixteen lanes.
    #[cfg(target_arch = "x86_64")]
    splat: std::arch::x86_64::__m128i,
    byte: u8,
}

impl Finder {
    pub(crate) fn new(byte: u8) -> Finder {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::_mm_set1_epi8;
            // SAFETY: the intrinsic only requires SSE2, which every x86-64
            // CPU has (it is part of the target's baseline, enabled in every
            // build); it reads no memory.
            Finder { splat: unsafe { _mm_set1_epi8(byte as i8) }, byte }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Finder { byte }
    }

    /// Bit `i` is set when `block[i]` is the byte.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn block(&self, block: &[u8; BLOCK]) -> u64 {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x};
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[i..i + 8]);
            i64::from_le_bytes(w)
        };
        let mut mask = 0u64;
        for lane in 0..BLOCK / 16 {
            // SAFETY: these intrinsics only require SSE2, which every x86-64
            // CPU has (it is part of the target's baseline, enabled in every
            // build); they read no memory: the bytes arrive as integers.
            let found = unsafe {
                let v = _mm_set_epi64x(word(lane * 16 + 8), word(lane * 16));
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, self.splat))
            };
            mask |= u64::from(found as u16) << (lane * 16);
        }
        mask
    }

    /// Bit `i` is set when `block[i]` is the byte.
    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn block(&self, block: &[u8; BLOCK]) -> u64 {
        self.portable(block)
    }

    /// [`block`](Finder::block) byte by byte (the fallback for targets
    /// without SSE2; on x86-64, the reference of the tests).
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn portable(&self, block: &[u8; BLOCK]) -> u64 {
        let mut mask = 0u64;
        for (i, &b) in block.iter().enumerate() {
            mask |= u64::from(b == self.byte) << i;
        }
        mask
    }

    /// The mask of the block of `bytes` at `base`; bytes past the end of
    /// `bytes` are never marked.
    #[inline(always)]
    pub(crate) fn at(&self, bytes: &[u8], base: usize) -> u64 {
        if let Some(block) = bytes.get(base..base + BLOCK).and_then(|b| <&[u8; BLOCK]>::try_from(b).ok()) {
            return self.block(block);
        }
        let tail = bytes.get(base..).unwrap_or_default();
        let mut padded = [0u8; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        self.block(&padded) & low_bits(tail.len())
    }
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
        let finder = Finder::new(b'"');
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
                assert_eq!((got.any, got.first), (want.any & low_bits(n), want.first & low_bits(n)));
                assert_eq!(finder.at(&bytes, base), finder.portable(&padded) & low_bits(n));
            }
        }
    }
}

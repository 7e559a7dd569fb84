//! The hash function of keyed results ([`KeyState`]) and the word form of
//! short byte strings it shares with key comparison ([`short_words`]).
//!
//! Grouping keys are mostly short strings of varying length: station names,
//! regions, products, words. General-purpose hashers (foldhash, ahash, FxHash)
//! pick a code path by length class (`len >= 8`, `len >= 4`, ...). With keys
//! drawn at random from a few hundred names that branch is a coin flip, and
//! a mispredicted branch per record costs more than the rest of the hash.
//! Here every string of 4 to 16 bytes, the usual length of a grouping key,
//! takes one path: four 4-byte loads at offsets clamped to the string, with
//! no branch on the length (the mispredictions this saves are measured in
//! BENCHMARKS.md, "Figures behind design choices").
//!
//! Seeds are random per process and per map, so inputs chosen to collide
//! (hash flooding) cannot be prepared in advance. The one exception is the
//! state of keyed partials ([`groups_state`]): in a job with worker
//! processes it is seeded from the job's random secret (`crate::seed`),
//! so every process of the job puts a key in the same radix partition and
//! a leader appends its workers' partitions without rehashing a pair. It
//! is still unknown outside the job. Hashes themselves are never shipped.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Odd constants (the fractional digits of pi) that spread bits in multiplies.
const PI: [u64; 4] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89];

/// The 128-bit product of `a` and `b`, its halves xor-ed: every output bit
/// depends on every input bit.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The little-endian `u32` at `bytes[at..at + 4]`; 0 if out of range (never,
/// for the offsets [`short_words`] computes).
#[inline(always)]
fn u32_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u64::from(u32::from_le_bytes([a, b, c, d])),
        _ => 0,
    }
}

/// Two words that hold every byte of `bytes`, for `4 <= bytes.len() <= 16`:
/// the `u32`s at offsets `0`, `min(4, len - 4)`, `min(8, len - 4)` and
/// `len - 4` cover the string whatever its length, so two strings *of the
/// same length* are equal exactly when their words are. No branch depends
/// on the length.
#[inline(always)]
pub(crate) fn short_words(bytes: &[u8]) -> (u64, u64) {
    let last = bytes.len().saturating_sub(4);
    let lo = u32_at(bytes, 0) | u32_at(bytes, last.min(4)) << 32;
    let hi = u32_at(bytes, last.min(8)) | u32_at(bytes, last) << 32;
    (lo, hi)
}

/// Whether `len` takes the [`short_words`] path.
#[inline(always)]
pub(crate) fn is_short(len: usize) -> bool {
    len.wrapping_sub(4) <= 12
}

/// The hash map of keyed results: hashbrown with Shoal's [`KeyState`] hasher,
/// fast for the short keys of grouping. Its iteration order is arbitrary:
/// sort for output.
pub type HashMap<K, V> = hashbrown::HashMap<K, V, KeyState>;

/// An exact fixed-size form of a short byte-string key: its length and the
/// two words that cover its bytes (four 4-byte loads at offsets clamped to
/// the string). Two byte strings with short forms are equal
/// exactly when their short forms are.
///
/// The length is never zero, so `Option<ShortKey>` takes no more room than
/// `ShortKey` (24 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortKey {
    pub(crate) len: std::num::NonZeroU64,
    pub(crate) lo: u64,
    pub(crate) hi: u64,
}

impl ShortKey {
    /// The short form of `bytes`, for 4 to 16 bytes.
    #[inline(always)]
    pub fn of(bytes: &[u8]) -> Option<ShortKey> {
        let len = std::num::NonZeroU64::new(bytes.len() as u64).filter(|_| is_short(bytes.len()))?;
        let (lo, hi) = short_words(bytes);
        Some(ShortKey { len, lo, hi })
    }
}

/// The state of every keyed partial ([`Groups`](super::Groups)) of this
/// process: seeded by `crate::seed::set_job_seed` in a job with worker processes,
/// else at random.
pub(crate) fn groups_state() -> &'static KeyState {
    static STATE: OnceLock<KeyState> = OnceLock::new();
    STATE.get_or_init(|| crate::seed::job_seed().map_or_else(KeyState::default, KeyState::with_seed))
}

/// Builds [`KeyHasher`]s: the hasher of [`HashMap`](crate::HashMap).
///
/// Each map gets its own seed, derived from a random per-process seed.
#[derive(Clone, Copy, Debug)]
pub struct KeyState {
    seeds: [u64; 2],
}

impl Default for KeyState {
    fn default() -> KeyState {
        static PROCESS: OnceLock<u64> = OnceLock::new();
        static MAPS: AtomicU64 = AtomicU64::new(0);
        let process = *PROCESS.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5140_u64));
        let map = MAPS.fetch_add(1, Ordering::Relaxed);
        let a = fold(process ^ PI[0], map.wrapping_mul(PI[1]) ^ PI[2]);
        KeyState { seeds: [a, fold(a, PI[3])] }
    }
}

impl KeyState {
    /// A state with fixed seeds: the same hashes in every run (tests,
    /// benchmarks). Keys from untrusted input want [`KeyState::default`].
    pub fn with_seed(seed: u64) -> KeyState {
        let a = fold(seed ^ PI[0], PI[2]);
        KeyState { seeds: [a, fold(a, PI[3])] }
    }
}

impl BuildHasher for KeyState {
    type Hasher = KeyHasher;

    #[inline]
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher { acc: self.seeds[0], seed: self.seeds[1], pending: None }
    }
}

/// A fast, seeded, non-cryptographic hasher for grouping keys (see the
/// module docs). Built by [`KeyState`].
///
/// Integers are mixed in pairs: a written integer waits (`pending`) and
/// joins the next integer in one seeded product. Before a byte string it is
/// mixed on its own, except when it is that string's length prefix (which
/// `Hash` for `[u8]` writes first): the string's own length term covers it,
/// so a byte-string key costs one 128-bit product, not two.
#[derive(Clone, Debug)]
pub struct KeyHasher {
    acc: u64,
    seed: u64,
    pending: Option<u64>,
}

impl KeyHasher {
    #[inline(always)]
    fn mix(&mut self, lo: u64, hi: u64) {
        self.acc = fold(self.acc ^ lo, self.seed ^ hi);
    }

    /// Mixes a pending integer on its own.
    #[inline(always)]
    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.mix(p, PI[1]);
        }
    }
}

/// The hash state after writing `bytes`, a string outside 4..=16 bytes: up
/// to 3 bytes, or 16-byte blocks and the (overlapping) last 16 bytes. Takes
/// and returns the state by value, out of line, so that a hasher on the
/// short path stays in registers.
#[inline(never)]
fn write_other(acc: u64, seed: u64, bytes: &[u8]) -> u64 {
    let mut h = KeyHasher { acc, seed, pending: None };
    let len = bytes.len();
    if len < 4 {
        let lo = match bytes {
            [] => 0,
            [a, ..] => {
                let mid = bytes.get(len / 2).copied().unwrap_or(0);
                let end = bytes.last().copied().unwrap_or(0);
                u64::from(*a) | u64::from(mid) << 8 | u64::from(end) << 16
            }
        };
        h.mix(lo ^ (len as u64).wrapping_mul(PI[2]), PI[1]);
        return h.acc;
    }
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        let (lo, hi) = short_words(block);
        h.mix(lo, hi);
    }
    let tail = bytes.get(len - 16..).unwrap_or(bytes);
    let (lo, hi) = short_words(tail);
    h.mix(lo ^ (len as u64).wrapping_mul(PI[2]), hi);
    h.acc
}

impl Hasher for KeyHasher {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        // A pending integer goes through the seeded mix, unless it is this
        // write's own length prefix (as `Hash` for `[u8]` writes it), which
        // the length term below already covers: one product per byte
        // string. Mixing it any cheaper (xoring a fixed function of it into
        // `acc`, next to the attacker's own bytes) would let inputs be
        // chosen that collide whatever the seed.
        if self.pending == Some(bytes.len() as u64) {
            self.pending = None;
        } else {
            self.flush();
        }
        if is_short(bytes.len()) {
            let (lo, hi) = short_words(bytes);
            self.mix(lo ^ (bytes.len() as u64).wrapping_mul(PI[2]), hi);
        } else {
            self.acc = write_other(self.acc, self.seed, bytes);
        }
    }

    #[inline(always)]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    #[inline(always)]
    fn write_u16(&mut self, x: u16) {
        self.write_u64(u64::from(x));
    }

    #[inline(always)]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    #[inline(always)]
    fn write_u64(&mut self, x: u64) {
        match self.pending.take() {
            Some(p) => self.mix(p, x),
            None => self.pending = Some(x),
        }
    }

    #[inline(always)]
    fn write_u128(&mut self, x: u128) {
        self.flush();
        self.mix(x as u64, (x >> 64) as u64);
    }

    #[inline(always)]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and the tag from the
        // top seven: both come from the product's well-mixed middle.
        let mut last = self.clone();
        last.flush();
        last.acc.rotate_left(23)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::Hash;

    fn hash<T: Hash + ?Sized>(state: &KeyState, x: &T) -> u64 {
        state.hash_one(x)
    }

    #[test]
    fn short_words_cover_every_byte() {
        // Equal length and equal words means equal strings: flipping any one
        // byte changes the words.
        for len in 4..=16 {
            let base: Vec<u8> = (0..len as u8).map(|i| b'a' + i).collect();
            let words = short_words(&base);
            for i in 0..len {
                let mut other = base.clone();
                other[i] ^= 0x20;
                assert_ne!(short_words(&other), words, "len {len}, byte {i}");
            }
        }
    }

    /// Repetitive strings of every length are where overlapping loads could
    /// alias ("abcd" and "abcdabcd" read the same words): as byte-slice
    /// keys (length prefix, then bytes), as `&str` keys (bytes, then
    /// `0xff`), and as raw writes, each kind hashes apart.
    #[test]
    fn lengths_and_contents_hash_apart() {
        let state = KeyState::with_seed(7);
        let mut strings = HashSet::new();
        for len in 0..=40 {
            for fill in [b"abcd".as_slice(), b"a", b"ab", b"\0"] {
                strings.insert(fill.iter().copied().cycle().take(len).collect::<Vec<u8>>());
            }
        }
        let (mut slices, mut strs, mut raw) = (HashSet::new(), HashSet::new(), HashSet::new());
        for s in &strings {
            assert!(slices.insert(hash(&state, s.as_slice())), "slice collision at {s:?}");
            let text = std::str::from_utf8(s).expect("ASCII");
            assert!(strs.insert(hash(&state, text)), "str collision at {s:?}");
            let mut h = state.build_hasher();
            h.write(s);
            assert!(raw.insert(h.finish()), "raw write collision at {s:?}");
        }
    }

    /// `(c(n), 0)` is what a pending integer `n` would add to the first
    /// word if it were mixed without the seed: strings whose first word
    /// cancels it.
    fn crafted(n: u64) -> Vec<u8> {
        let c = |n: u64| (n ^ PI[3]).wrapping_mul(PI[1]);
        let lo = 0x6867_6665_6463_6261_u64 ^ c(n) ^ c(0);
        let mut s = lo.to_le_bytes().to_vec();
        s.extend_from_slice(b"tail");
        s
    }

    /// Keys shaped `(integer, string)`: an integer waiting to be mixed goes
    /// through the seed, so strings crafted to cancel a seedless mix of it
    /// still hash apart (they all collided when it did not).
    #[test]
    fn an_integer_before_a_string_is_seeded() {
        let state = KeyState::with_seed(11);
        let mut seen = HashSet::new();
        for n in 0..2000u64 {
            let mut h = state.build_hasher();
            h.write_u64(n);
            h.write(&crafted(n));
            h.write_u8(0xff);
            assert!(seen.insert(h.finish()), "collision at {n}");
        }
    }

    /// Integer keys, pairs and a `u128` after a pending integer: no
    /// collisions on grids, and `(a, b)` is not `(b, a)`.
    #[test]
    fn integers_hash_apart() {
        let state = KeyState::with_seed(5);
        let mut seen = HashSet::new();
        for a in 0..300u64 {
            assert!(seen.insert(hash(&state, &a)), "{a}");
            for b in 0..300u64 {
                assert!(seen.insert(hash(&state, &(a, b << 40))), "({a}, {b})");
            }
            assert!(seen.insert(hash(&state, &(a, 7u128))), "({a}, 7u128)");
            assert!(seen.insert(hash(&state, &(7u128, a))), "(7u128, {a})");
        }
    }

    #[test]
    fn borrowed_and_owned_forms_hash_alike() {
        let state = KeyState::default();
        assert_eq!(hash(&state, "Hamburg"), hash(&state, &String::from("Hamburg")));
        assert_eq!(hash(&state, b"Abha".as_slice()), hash(&state, &b"Abha".to_vec()));
        assert_eq!(hash(&state, &("x", 3u16)), hash(&state, &(String::from("x"), 3u16)));
    }

    #[test]
    fn maps_get_their_own_seeds() {
        let (a, b) = (KeyState::default(), KeyState::default());
        assert_ne!(hash(&a, "key"), hash(&b, "key"));
        assert_eq!(hash(&KeyState::with_seed(1), "key"), hash(&KeyState::with_seed(1), "key"));
    }

    #[test]
    fn buckets_spread() {
        // 400 station-like names over 1024 buckets by the low bits and over
        // the 128 tags of the top bits: no bucket or tag crowded.
        let state = KeyState::with_seed(3);
        let mut buckets = vec![0u32; 1024];
        let mut tags = vec![0u32; 128];
        for i in 0..400 {
            let name = format!("Station {i}");
            let h = hash(&state, name.as_str());
            buckets[(h & 1023) as usize] += 1;
            tags[(h >> 57) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n <= 5), "{:?}", buckets.iter().max());
        assert!(tags.iter().all(|&n| n <= 12), "{:?}", tags.iter().max());
    }
}

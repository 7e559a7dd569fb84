//! Line framing and the Hadoop split rule.
//!
//! A line is the bytes up to and including `\n`, or up to the end of the file
//! for a last line without one. The terminator is not part of the record, and
//! a `\r` right before `\n` is dropped too (CRLF), exactly like
//! [`str::lines`]. Empty lines are records (`""`); an empty file has none.
//!
//! **Which split owns a line:** the one whose nominal range holds the line's
//! first byte. A split starting at `start > 0` skips the partial line it starts
//! in (unless byte `start - 1` is `\n`), and reads on past its `end` to finish
//! its last line. [`owned_lines`] computes that region.

use std::ops::Range;

/// How far past a part's end to map at first, to finish its last line.
pub const LOOKAHEAD: u64 = 64 << 10;

/// The outcome of [`owned_lines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// These bytes (relative to the window) are exactly the split's lines.
    Lines(Range<usize>),
    /// No line starts inside the split.
    Empty,
    /// The window ends inside the split's last line: map more and ask again.
    NeedMore,
}

/// Finds the lines owned by the nominal range `[start, end)`.
///
/// `window` holds the file bytes `[window_start, window_start + window.len())`,
/// where `window_start` is `start - 1` (or `0` when `start == 0`) and the
/// window reaches at least to `end`. `at_eof` says the window ends at the end
/// of the file.
pub fn owned_lines(window: &[u8], window_start: u64, start: u64, end: u64, at_eof: bool) -> Owned {
    debug_assert!(window_start == start.saturating_sub(1));
    debug_assert!(window_start + window.len() as u64 >= end);
    if start >= end {
        return Owned::Empty;
    }
    let rel_start = (start - window_start) as usize;
    let rel_end = (end - window_start) as usize;
    let first = if start == 0 || window[rel_start - 1] == b'\n' {
        rel_start
    } else {
        match memchr::memchr(b'\n', &window[rel_start..rel_end]) {
            Some(i) => rel_start + i + 1,
            None => return Owned::Empty,
        }
    };
    if first >= rel_end {
        return Owned::Empty;
    }
    let last = if window[rel_end - 1] == b'\n' {
        rel_end
    } else {
        match memchr::memchr(b'\n', &window[rel_end..]) {
            Some(i) => rel_end + i + 1,
            None if at_eof => window.len(),
            None => return Owned::NeedMore,
        }
    };
    Owned::Lines(first..last)
}

/// Calls `f(line_end, maybe_cr)` for the position of every `\n` in
/// `bytes`, in order; `maybe_cr` is false only when the byte before
/// `line_end` is known not to be `\r`.
///
/// **Invariant** (the unchecked slicing in [`for_each_line`] relies on it):
/// every `line_end` passed to `f` is `< bytes.len()`, `bytes[line_end] ==
/// b'\n'`, and each is greater than the one before.
///
/// Sixty-four bytes at a time: a bitmask of the `\n` bytes of a block (SSE2
/// compares and movemasks on x86-64, a plain loop elsewhere), then one step
/// per set bit. For short lines this beats a SIMD search that restarts after
/// every match. The step loop's exit is a branch the CPU cannot predict
/// (how many lines end in a block varies), so blocks are as large as one
/// mask word allows: 64-byte blocks mispredict half as often as 32-byte
/// ones (BENCHMARKS.md, "Figures behind design choices").
///
/// Each block is also tested once for a `\r` ([`cr_in`]), and so is the
/// last byte of the block before it: in a block without one (every block of
/// an LF file) no line needs the byte before its `\n` read, which would
/// otherwise be a load on the way from each line's end to its consumer
/// (BENCHMARKS.md, issue 15.7).
#[inline]
fn for_each_newline<E>(bytes: &[u8], mut f: impl FnMut(usize, bool) -> Result<(), E>) -> Result<(), E> {
    const BLOCK: usize = 64;
    let (blocks, rest) = bytes.as_chunks::<BLOCK>();
    let mut base = 0;
    // Whether the byte before the current block is `\r`.
    let mut cr_before = false;
    for block in blocks {
        let mut mask = newline_mask(block);
        let maybe_cr = cr_before || cr_in(block);
        while mask != 0 {
            f(base + mask.trailing_zeros() as usize, maybe_cr)?;
            mask &= mask - 1;
        }
        cr_before = block[BLOCK - 1] == b'\r';
        base += BLOCK;
    }
    for (i, &b) in rest.iter().enumerate() {
        if b == b'\n' {
            f(base + i, true)?;
        }
    }
    Ok(())
}

/// Whether `block` holds a `\r`: four SSE2 compares, or-ed, and one
/// movemask.
#[cfg(target_arch = "x86_64")]
#[inline]
fn cr_in(block: &[u8; 64]) -> bool {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let at = block.as_ptr();
    // SAFETY: SSE2 only, part of every x86-64 target's baseline. Each load
    // reads the 16 bytes at `at + i` for `i` in {0, 16, 32, 48}: inside the
    // 64-byte array `block` borrows; `loadu` needs no alignment.
    unsafe {
        let cr = _mm_set1_epi8(b'\r' as i8);
        let lane = |i: usize| _mm_cmpeq_epi8(_mm_loadu_si128(at.add(i).cast::<__m128i>()), cr);
        let any = _mm_or_si128(_mm_or_si128(lane(0), lane(16)), _mm_or_si128(lane(32), lane(48)));
        _mm_movemask_epi8(any) != 0
    }
}

/// Whether `block` holds a `\r` (portable fallback).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn cr_in(block: &[u8; 64]) -> bool {
    block.contains(&b'\r')
}

/// Bit `i` is set iff `block[i]` is `\n`: four SSE2 compares and movemasks
/// (LLVM does not find this for the portable loop below, which costs about
/// ten times the instructions).
#[cfg(target_arch = "x86_64")]
#[inline]
fn newline_mask(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let at = block.as_ptr();
    // SAFETY: these intrinsics only require SSE2, which every x86-64 CPU has
    // (it is part of the target's baseline, enabled in every build). Each
    // load reads the 16 bytes at `at + i` for `i` in {0, 16, 32, 48}: inside
    // the 64-byte array `block` borrows, and `loadu` has no alignment
    // requirement.
    unsafe {
        let nl = _mm_set1_epi8(b'\n' as i8);
        let lane = |i: usize| {
            let eq = _mm_cmpeq_epi8(_mm_loadu_si128(at.add(i).cast::<__m128i>()), nl);
            u64::from(_mm_movemask_epi8(eq) as u32 & 0xffff)
        };
        lane(0) | lane(16) << 16 | lane(32) << 32 | lane(48) << 48
    }
}

/// Bit `i` is set iff `block[i]` is `\n` (portable fallback).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn newline_mask(block: &[u8; 64]) -> u64 {
    let mut mask = 0u64;
    for (i, &b) in block.iter().enumerate() {
        mask |= u64::from(b == b'\n') << i;
    }
    mask
}

/// The end of the line whose terminator is the `\n` at `nl`, a `\r` right
/// before it dropped, for a line starting at `start`: always in
/// `start..=nl`.
///
/// # Safety
/// `start <= nl < bytes.len()` (the invariant of [`for_each_newline`], with
/// `start` one past the previous terminator, or 0).
#[inline(always)]
unsafe fn line_end(bytes: &[u8], start: usize, nl: usize) -> usize {
    // SAFETY: when `nl > start`, `nl - 1` is in `start..nl`, inside `bytes`
    // by the caller's contract; `&&` reads it only then.
    let cr = nl > start && unsafe { *bytes.get_unchecked(nl - 1) } == b'\r';
    nl - usize::from(cr)
}

/// Calls `f(offset, line)` for each line of `region`, where `offset` is the
/// line's first byte relative to `region`. Stops at the first error.
///
/// `region` must start at a line start; it may end without `\n` (the last
/// line of a file).
#[inline]
pub fn for_each_line<E>(region: &[u8], mut f: impl FnMut(usize, &[u8]) -> Result<(), E>) -> Result<(), E> {
    let mut pos = 0;
    for_each_newline(
        region,
        #[inline(always)]
        |nl, maybe_cr| {
            let start = pos;
            pos = nl + 1;
            // SAFETY: `start` is 0 or one past the previous `\n`, and `nl` is the
            // next `\n`, so `start <= nl < region.len()` (the invariant of
            // `for_each_newline`); `line_end` returns a value in `start..=nl`,
            // and so does `nl`.
            let line = unsafe {
                let end = if maybe_cr { line_end(region, start, nl) } else { nl };
                region.get_unchecked(start..end)
            };
            f(start, line)
        },
    )?;
    if pos < region.len() {
        f(pos, &region[pos..])?;
    }
    Ok(())
}

/// Like [`for_each_line`] over text already known to be UTF-8.
#[inline]
pub fn for_each_str_line<E>(region: &str, mut f: impl FnMut(usize, &str) -> Result<(), E>) -> Result<(), E> {
    for_each_line(region.as_bytes(), |pos, line| {
        // SAFETY: `for_each_line` cuts `region` only next to ASCII bytes
        // (`\n`, `\r`) or at its ends, which are char boundaries, so every
        // line of valid UTF-8 is valid UTF-8.
        f(pos, unsafe { std::str::from_utf8_unchecked(line) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` at every set of cut points and checks that the lines of
    /// all splits, in order, are `str::lines` of the whole.
    fn check_all_cuts(text: &str, cuts: &[u64]) {
        let bytes = text.as_bytes();
        let len = bytes.len() as u64;
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < len));
        bounds.push(len);
        let mut got = Vec::new();
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let ws = start.saturating_sub(1);
            let window = &bytes[ws as usize..];
            match owned_lines(window, ws, start, end, true) {
                Owned::Lines(r) => {
                    for_each_line::<()>(&window[r], |_, l| {
                        got.push(String::from_utf8(l.to_vec()).unwrap());
                        Ok(())
                    })
                    .unwrap();
                }
                Owned::Empty => {}
                Owned::NeedMore => unreachable!("window reaches EOF"),
            }
        }
        let want: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(got, want, "text {text:?} cuts {bounds:?}");
    }

    const CORPUS: &[&str] = &[
        "",
        "\n",
        "\n\n",
        "a",
        "a\n",
        "a\nb",
        "a\r\nb\r\n",
        "a\r\n\r\nb",
        "ab\n\ncd\nefg\n",
        "Zürich;1.0\nSão Paulo;-2.5\n",
        "x\r",
        "\r\n",
        "\r\r\n\r",
        "a\r\r\nb\n\r\n",
        "日本語\n한국어\r\nemoji 🦀\n",
    ];

    #[test]
    fn every_single_cut_point() {
        for text in CORPUS {
            for c in 0..=text.len() as u64 {
                check_all_cuts(text, &[c]);
            }
        }
    }

    #[test]
    fn every_pair_of_cut_points() {
        for text in CORPUS {
            let n = text.len() as u64;
            for a in 0..=n {
                for b in a..=n {
                    check_all_cuts(text, &[a, b]);
                }
            }
        }
    }

    #[test]
    fn every_uniform_split_size() {
        for text in CORPUS {
            for size in 1..=text.len().max(1) as u64 {
                let cuts: Vec<u64> = (1..).map(|i| i * size).take_while(|&c| c < text.len() as u64).collect();
                check_all_cuts(text, &cuts);
            }
        }
    }

    #[test]
    fn asks_for_more_when_the_last_line_is_unfinished() {
        let text = b"aaaa\nbbbbbbbb\n";
        assert_eq!(owned_lines(&text[..7], 0, 0, 6, false), Owned::NeedMore);
        assert_eq!(owned_lines(text, 0, 0, 6, true), Owned::Lines(0..14));
        // A split inside one long line owns nothing.
        assert_eq!(owned_lines(&text[5..], 5, 6, 9, true), Owned::Empty);
    }

    #[test]
    fn newline_positions_match_a_byte_scan() {
        let mut text = Vec::new();
        for i in 0..300u32 {
            text.push(if i % 7 == 0 || i % 11 == 3 { b'\n' } else { (i % 250) as u8 + 1 });
            text.push(0x8a); // high bytes must not look like `\n`
            text.push(0x0b);
        }
        check_newlines(&text);
    }

    /// Every prefix of `text`: `for_each_newline` reports each `\n`, as a
    /// byte scan does, and never says "no `\r`" for one that has a `\r`
    /// right before it.
    fn check_newlines(text: &[u8]) {
        for len in 0..text.len() {
            let bytes = &text[..len];
            let want: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect();
            let mut got = Vec::new();
            for_each_newline::<()>(bytes, |i, maybe_cr| {
                got.push(i);
                assert!(maybe_cr || i == 0 || bytes[i - 1] != b'\r', "len {len}: the \\r before byte {i} missed");
                Ok(())
            })
            .unwrap();
            assert_eq!(got, want, "len {len}");
        }
    }

    /// `\r` before `\n`, alone, doubled and at every place relative to the
    /// 64-byte blocks (bytes 62 to 65 and 126 to 129 among them), and in
    /// text where only some blocks have one.
    #[test]
    fn carriage_returns_before_newlines_are_seen() {
        let mut text = Vec::new();
        for i in 0..400u32 {
            text.push(match i % 13 {
                0 | 5 if i < 200 => b'\r',
                1 | 6 | 9 => b'\n',
                _ if i % 31 == 0 => b'\r',
                _ => b'a',
            });
        }
        check_newlines(&text);
        for at in 60..70 {
            let mut t = vec![b'x'; 140];
            t[at] = b'\r';
            t[at + 1] = b'\n';
            t[at + 64] = b'\r';
            t[at + 65] = b'\n';
            t[at + 10] = b'\n';
            check_newlines(&t);
            let text = String::from_utf8(t.clone()).unwrap();
            let mut lines = Vec::new();
            for_each_line::<()>(&t, |_, l| {
                lines.push(String::from_utf8(l.to_vec()).unwrap());
                Ok(())
            })
            .unwrap();
            assert_eq!(lines, text.lines().collect::<Vec<_>>(), "\\r at {at}");
        }
    }

    /// Lines across the 64-byte block edges: terminators at bytes 63, 64
    /// and 127, a `\r` at byte 63 before a `\n` at byte 64, a multi-byte
    /// character across byte 64, lengths of exactly 128 and around it.
    #[test]
    fn lines_across_block_edges_match_str_lines() {
        let mut texts = Vec::new();
        for len in [63, 64, 65, 127, 128, 129, 130] {
            for nl_at in [[63, 64, 127], [62, 64, 127], [0, 63, 128]] {
                let mut t = vec![b'a'; len];
                for at in nl_at {
                    if at < len {
                        t[at] = b'\n';
                    }
                }
                texts.push(t.clone());
                if len > 64 {
                    t[63] = b'\r';
                    t[64] = b'\n';
                    texts.push(t.clone());
                }
            }
            let mut t = "é".repeat(len / 2).into_bytes();
            t.truncate(len - len % 2);
            t.push(b'\n');
            texts.push(t);
        }
        for t in &texts {
            let text = std::str::from_utf8(t).unwrap();
            let want: Vec<&str> = text.lines().collect();
            let mut bytes = Vec::new();
            for_each_line::<()>(t, |_, l| {
                bytes.push(std::str::from_utf8(l).unwrap().to_owned());
                Ok(())
            })
            .unwrap();
            let mut strs = Vec::new();
            for_each_str_line::<()>(text, |_, l| {
                strs.push(l.to_owned());
                Ok(())
            })
            .unwrap();
            assert_eq!(bytes, want, "{text:?}");
            assert_eq!(strs, want, "{text:?}");
        }
    }

    #[test]
    fn str_and_byte_framing_agree() {
        for text in CORPUS {
            let mut a = Vec::new();
            let mut b = Vec::new();
            for_each_line::<()>(text.as_bytes(), |o, l| {
                a.push((o, l.to_vec()));
                Ok(())
            })
            .unwrap();
            for_each_str_line::<()>(text, |o, l| {
                b.push((o, l.as_bytes().to_vec()));
                Ok(())
            })
            .unwrap();
            assert_eq!(a, b);
        }
    }
}

//! Seeded, weather-like input for the benches: `Station name;-12.3\n` lines.
//!
//! Shared by `benches/splitter.rs` and `benches/record_path.rs` (as a plain
//! `mod weather_data;`). It mimics the shape of `shoal-datasets weather` (a
//! few hundred stations, about one in sixteen with a multi-byte UTF-8 name,
//! one decimal, lines of about 14 bytes) with a tiny inline xorshift, so the
//! benches need no generator crate and no files checked in. The same seed
//! always gives the same bytes.

use std::io::Write;
use std::path::Path;

/// xorshift64*: small, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Any non-zero state works; mix the seed so nearby seeds diverge.
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (with negligible bias for small `n`).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

/// How many distinct stations the generator draws from.
pub(crate) const STATIONS: usize = 400;

/// Syllables for station names.
const SYLLABLES: &[&str] = &[
    "ka", "ro", "san", "del", "ber", "lin", "to", "ma", "ri", "os", "vik", "ham", "burg", "ton", "ville", "ki", "no",
    "pe", "lu", "ga", "te", "ya", "qu", "sk",
];

/// Multi-byte syllables: one of them in about one name in sixteen, close to
/// the share of non-ASCII names in the real station list (25 of 417).
const UTF8_SYLLABLES: &[&str] = &["mü", "ná", "zü", "ço", "ør", "ås", "ő", "ş"];

/// A weather-like line generator.
pub(crate) struct Generator {
    rng: Rng,
    /// `Name;` for each station.
    names: Vec<Vec<u8>>,
    /// Mean temperature of each station, in tenths.
    means: Vec<i32>,
    seen: Vec<bool>,
    lines: u64,
}

/// What a generator has produced so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Lines written.
    pub(crate) lines: u64,
    /// Distinct stations among them.
    pub(crate) stations: usize,
}

impl Generator {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut names: Vec<Vec<u8>> = Vec::with_capacity(STATIONS);
        while names.len() < STATIONS {
            let syllables = 2 + rng.below(3);
            let mut name = String::new();
            for _ in 0..syllables {
                name.push_str(SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize]);
            }
            if rng.below(16) == 0 {
                name.push_str(UTF8_SYLLABLES[rng.below(UTF8_SYLLABLES.len() as u64) as usize]);
            }
            if rng.below(8) == 0 {
                name.push_str(" City");
            }
            let mut name = name.into_bytes();
            name[0] = name[0].to_ascii_uppercase();
            name.push(b';');
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let means = (0..STATIONS).map(|_| rng.below(400) as i32 - 100).collect();
        Generator { rng, names, means, seen: vec![false; STATIONS], lines: 0 }
    }

    /// Replaces the contents of `buf` with whole lines, stopping at the first
    /// line that reaches `len` bytes.
    pub(crate) fn fill(&mut self, buf: &mut Vec<u8>, len: usize) {
        buf.clear();
        buf.reserve(len + 64);
        while buf.len() < len {
            let station = self.rng.below(STATIONS as u64) as usize;
            self.seen[station] = true;
            // Roughly Gaussian (sum of four uniforms), standard deviation about 10 degrees.
            let noise: i32 = (0..4).map(|_| self.rng.below(175) as i32).sum::<i32>() - 348;
            let tenths = (self.means[station] + noise).clamp(-999, 999);
            buf.extend_from_slice(&self.names[station]);
            if tenths < 0 {
                buf.push(b'-');
            }
            let abs = tenths.unsigned_abs();
            // `write!` to a Vec cannot fail.
            let _ = writeln!(buf, "{}.{}", abs / 10, abs % 10);
            self.lines += 1;
        }
    }

    pub(crate) fn summary(&self) -> Summary {
        Summary { lines: self.lines, stations: self.seen.iter().filter(|&&s| s).count() }
    }
}

/// Writes about `len` bytes of lines (whole lines) to a new file at `path`.
pub(crate) fn write_file(path: &Path, seed: u64, len: u64) -> std::io::Result<Summary> {
    const BLOCK: u64 = 16 << 20;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut generator = Generator::new(seed);
    let mut buf = Vec::new();
    let mut written = 0u64;
    while written < len {
        generator.fill(&mut buf, BLOCK.min(len - written) as usize);
        out.write_all(&buf)?;
        written += buf.len() as u64;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(generator.summary())
}

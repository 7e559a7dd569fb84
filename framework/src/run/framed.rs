//! Framed files: a small file whole behind a header that tells a truncated
//! or corrupt copy from a good one. `--state` files and shard files
//! (`run/shard.rs`) are written this way.
//!
//! # Layout
//! An 8-byte magic naming the kind of file, a CRC-32 of the payload
//! (little-endian `u32`), the payload's length (little-endian `u64`), then
//! the payload. A file is written whole to a temporary name and renamed
//! ([`crate::commit::write_file_whole`]), so readers see the old file or
//! the new one, never half of one.

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;

/// The bytes before the payload: magic, CRC-32, length.
const HEADER: usize = 20;

/// One kind of framed file: its magic and what messages call it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    /// The first eight bytes of every file of this kind.
    pub(crate) magic: &'static [u8; 8],
    /// `state file`, `shard file`: what messages call it.
    pub(crate) noun: &'static str,
    /// The permission bits of a new file.
    pub(crate) mode: u32,
}

impl Framing {
    /// Writes `payload` behind the header, to a temporary name, then renames.
    ///
    /// # Errors
    /// I/O errors naming `path`.
    pub(crate) fn write(&self, path: &Path, payload: &[u8]) -> Result<()> {
        let mut crc = flate2::Crc::new();
        crc.update(payload);
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(self.magic);
        header.extend_from_slice(&crc.sum().to_le_bytes());
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        crate::commit::write_file_whole(
            path,
            &[&header, payload],
            self.mode,
            &format!("cannot write the {}", self.noun),
        )
    }

    /// The payload of a framed file: `None` when it does not exist.
    ///
    /// # Errors
    /// A file that is truncated, of another kind, or fails its checksum
    /// ([`ErrorKind::InvalidInput`] naming it); I/O errors.
    pub(crate) fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e).context(format!("cannot read the {}", self.noun))),
        };
        let corrupt =
            |why: &str| Error::new(ErrorKind::InvalidInput, format!("the {} is {why}", self.noun)).with_path(path);
        if bytes.len() < HEADER || &bytes[..8] != self.magic {
            return Err(corrupt(&format!("not a {} or truncated", self.noun)));
        }
        let want = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
        let payload = &bytes[HEADER..];
        if payload.len() as u64 != len {
            return Err(corrupt("truncated"));
        }
        let mut crc = flate2::Crc::new();
        crc.update(payload);
        if crc.sum() != want {
            return Err(corrupt("corrupt (checksum)"));
        }
        Ok(Some(payload.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Framing = Framing { magic: b"SHOALTS1", noun: "test file", mode: 0o600 };

    #[test]
    fn framed_files_detect_truncation_corruption_and_another_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        TEST.write(&path, b"hello state").unwrap();
        assert_eq!(TEST.read(&path).unwrap().unwrap(), b"hello state");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[22] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(TEST.read(&path).unwrap_err().to_string().contains("checksum"));
        std::fs::write(&path, &bytes[..25]).unwrap();
        assert!(TEST.read(&path).unwrap_err().to_string().contains("truncated"));
        assert!(TEST.read(&dir.path().join("missing")).unwrap().is_none());
        let other = Framing { magic: b"SHOALXX1", ..TEST };
        other.write(&path, b"x").unwrap();
        assert!(TEST.read(&path).unwrap_err().to_string().contains("not a test file"));
    }
}

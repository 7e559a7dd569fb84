//! The bytes that shape a CSV file: delimiter, quote, escape, comment.

use shoal::{Error, ErrorKind, Result};

/// The special bytes of a CSV dialect.
///
/// # Invariants
/// `delimiter`, `quote`, `escape` and `comment` are pairwise distinct and none
/// of them is `\r` or `\n` (checked by [`Dialect::validate`]). Records end at
/// `\n`, `\r` or `\r\n`, as `csv::Reader` does by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The field delimiter (default `,`).
    pub delimiter: u8,
    /// The quote byte, or `None` to read quotes as plain data (default `"`).
    pub quote: Option<u8>,
    /// A byte that escapes the next byte inside quoted fields (default none;
    /// quotes inside quoted fields are written doubled: `""`).
    pub escape: Option<u8>,
    /// A byte that makes a line a comment when it starts a record (default none).
    pub comment: Option<u8>,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect { delimiter: b',', quote: Some(b'"'), escape: None, comment: None }
    }
}

impl Dialect {
    /// Checks the invariants.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the clashing bytes.
    pub fn validate(&self) -> Result<()> {
        let named = [
            ("delimiter", Some(self.delimiter)),
            ("quote", self.quote),
            ("escape", self.escape),
            ("comment", self.comment),
        ];
        for (i, (name, byte)) in named.iter().enumerate() {
            let Some(b) = byte else { continue };
            if matches!(b, b'\r' | b'\n') {
                return Err(Error::new(ErrorKind::Config, format!("csv {name} cannot be a line break")));
            }
            for (other, byte2) in &named[i + 1..] {
                if *byte2 == Some(*b) {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("csv {name} and {other} are both {:?}", char::from(*b)),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A `csv_core` reader for this dialect.
    pub(crate) fn core_reader(&self) -> csv_core::Reader {
        let mut b = csv_core::ReaderBuilder::new();
        b.delimiter(self.delimiter).quoting(self.quote.is_some()).escape(self.escape).comment(self.comment);
        if let Some(q) = self.quote {
            b.quote(q);
        }
        b.build()
    }

    /// A `csv::ReaderBuilder` for this dialect (no headers, flexible): the
    /// sequential reference the parallel reader must agree with.
    pub fn reference_builder(&self) -> csv::ReaderBuilder {
        let mut b = csv::ReaderBuilder::new();
        b.has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .quoting(self.quote.is_some())
            .escape(self.escape)
            .comment(self.comment);
        if let Some(q) = self.quote {
            b.quote(q);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashing_bytes_are_config_errors() {
        assert!(Dialect::default().validate().is_ok());
        let same = Dialect { delimiter: b'"', ..Dialect::default() };
        assert_eq!(same.validate().unwrap_err().kind(), ErrorKind::Config);
        let newline = Dialect { comment: Some(b'\n'), ..Dialect::default() };
        assert!(newline.validate().unwrap_err().to_string().contains("line break"));
        let no_quote = Dialect { delimiter: b'"', quote: None, ..Dialect::default() };
        assert!(no_quote.validate().is_ok());
    }
}

//! [`LogsExt`]: log sources as methods of [`Job`].

use super::{
    AccessFormat, AccessLogParser, LineParser, LogSource, LogfmtParser, RegexParser, SyslogFormat, SyslogParser,
};
use shoal::Job;
use shoal::plumbing::IntoInputs;

/// Log sources on a [`Job`]: `job.access_log(paths)`, `job.syslog(..)`, ...
///
/// Inputs are paths, directories (walked recursively), globs, or `-` for
/// standard input; `.gz` and `.zst` files are decompressed.
pub trait LogsExt {
    /// nginx/Apache combined-format lines as [`AccessRecord`](super::AccessRecord)s.
    fn access_log(&self, inputs: impl IntoInputs) -> LogSource<'_, AccessLogParser>;

    /// Access-log lines in the given format.
    fn access_log_as(&self, format: AccessFormat, inputs: impl IntoInputs) -> LogSource<'_, AccessLogParser>;

    /// Syslog lines (RFC 5424, or RFC 3164 with or without `<PRI>`) as
    /// [`SyslogRecord`](super::SyslogRecord)s. RFC 3164 times have no year
    /// and no zone: set them with [`syslog_with`](LogsExt::syslog_with).
    fn syslog(&self, inputs: impl IntoInputs) -> LogSource<'_, SyslogParser>;

    /// Syslog lines read by a configured parser.
    fn syslog_with(&self, parser: SyslogParser, inputs: impl IntoInputs) -> LogSource<'_, SyslogParser>;

    /// logfmt lines (`level=info msg="hi there"`) as [`LogfmtRecord`](super::LogfmtRecord)s.
    fn logfmt(&self, inputs: impl IntoInputs) -> LogSource<'_, LogfmtParser>;

    /// Lines matched by a regular expression with named groups, as
    /// [`RegexRecord`](super::RegexRecord)s; a line that does not match is
    /// malformed.
    ///
    /// # Errors
    /// An invalid pattern, as a [`shoal::ErrorKind::Config`] error.
    fn regex_log(&self, pattern: &str, inputs: impl IntoInputs) -> shoal::Result<LogSource<'_, RegexParser>>;

    /// Lines of any format, parsed by `parser`.
    fn parsed_lines<P: LineParser>(&self, parser: P, inputs: impl IntoInputs) -> LogSource<'_, P>;
}

impl LogsExt for Job {
    fn access_log(&self, inputs: impl IntoInputs) -> LogSource<'_, AccessLogParser> {
        self.access_log_as(AccessFormat::Combined, inputs)
    }

    fn access_log_as(&self, format: AccessFormat, inputs: impl IntoInputs) -> LogSource<'_, AccessLogParser> {
        LogSource::new(self, inputs.into_inputs(), AccessLogParser::new(format))
    }

    fn syslog(&self, inputs: impl IntoInputs) -> LogSource<'_, SyslogParser> {
        self.syslog_with(SyslogParser::new(SyslogFormat::Auto), inputs)
    }

    fn syslog_with(&self, parser: SyslogParser, inputs: impl IntoInputs) -> LogSource<'_, SyslogParser> {
        LogSource::new(self, inputs.into_inputs(), parser)
    }

    fn logfmt(&self, inputs: impl IntoInputs) -> LogSource<'_, LogfmtParser> {
        LogSource::new(self, inputs.into_inputs(), LogfmtParser::default())
    }

    fn regex_log(&self, pattern: &str, inputs: impl IntoInputs) -> shoal::Result<LogSource<'_, RegexParser>> {
        Ok(LogSource::new(self, inputs.into_inputs(), RegexParser::new(pattern)?))
    }

    fn parsed_lines<P: LineParser>(&self, parser: P, inputs: impl IntoInputs) -> LogSource<'_, P> {
        LogSource::new(self, inputs.into_inputs(), parser)
    }
}

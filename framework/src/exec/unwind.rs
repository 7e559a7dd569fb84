//! Panics in user code, caught as errors.

use crate::error::{Error, ErrorKind, Result};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`, turning a panic into an [`ErrorKind::Panic`] error carrying the
/// panic's message. The one place where the executors catch panics: a
/// panicking split fails (naming the split) instead of ending the process.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    // Unwind safety: whatever `f` left half-updated is its caller's partial,
    // which the caller drops with the error (the job fails).
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::new(ErrorKind::Panic, format!("user code panicked: {}", panic_message(&*payload))))
    })
}

/// The message of a panic payload (`&str` or `String`), or a placeholder.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_with_their_message() {
        let err = catch_panic(|| -> Result<()> { panic!("at {}", 3) }).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panic);
        assert!(err.to_string().contains("user code panicked: at 3"), "{err}");
        let err = catch_panic(|| -> Result<()> { std::panic::panic_any(7u8) }).unwrap_err();
        assert!(err.to_string().contains("non-string"), "{err}");
        assert_eq!(catch_panic(|| Ok(5)).unwrap(), 5);
    }
}

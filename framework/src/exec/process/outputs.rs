//! The leader's store of finished actions' outputs, for the workers.
//!
//! A worker gets an action's output when the leader starts the next action
//! (`Scheduler::hold`), and a replacement worker catching up gets every
//! output again, so the leader keeps them for the job. An output is kept
//! either encoded or as an encoder to run on first use ([`Deferred`]): a
//! result that holds its groups on disk (a spilled sorted result) is then
//! never read back into the leader's memory unless a worker needs it, and
//! after the program's last action it is never encoded at all.

use crate::error::Result;
use crate::report::Report;

/// Encodes an action's output when a worker first needs it (see
/// `Action::defer_output`).
pub type Deferred = Box<dyn FnOnce() -> Result<Vec<u8>> + Send>;

/// An action's output as the leader publishes it for its workers.
pub(crate) enum Published {
    /// Encoded (postcard) already.
    Encoded(Vec<u8>),
    /// To be encoded when a worker first needs it.
    Deferred(Deferred),
}

/// Every finished action's output and report, by action number.
#[derive(Default)]
pub(crate) struct Outputs {
    done: Vec<(Published, Report)>,
}

impl Outputs {
    /// How many actions finished.
    pub(crate) fn len(&self) -> usize {
        self.done.len()
    }

    /// Stores the next action's output.
    pub(crate) fn push(&mut self, output: Published, report: Report) {
        self.done.push((output, report));
    }

    /// Action `action`'s encoded output and report (encoding it now if it
    /// was deferred); empty for an action that never finished.
    ///
    /// # Errors
    /// A deferred encoder failed (a spilled group that cannot be read back).
    pub(crate) fn get(&mut self, action: u64) -> Result<(Vec<u8>, Report)> {
        let Some((stored, report)) = self.done.get_mut(action as usize) else { return Ok(Default::default()) };
        if let Published::Deferred(_) = stored {
            let Published::Deferred(encode) = std::mem::replace(stored, Published::Encoded(Vec::new())) else {
                unreachable!("checked just above")
            };
            *stored = Published::Encoded(encode()?);
        }
        match stored {
            Published::Encoded(bytes) => Ok((bytes.clone(), report.clone())),
            Published::Deferred(_) => Ok(Default::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deferred output is encoded once, on first use, and then served
    /// like an encoded one; an unknown action is empty.
    #[test]
    fn deferred_outputs_encode_once_on_first_use() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut outputs = Outputs::default();
        outputs.push(Published::Encoded(vec![1, 2]), Report::default());
        let counted = calls.clone();
        outputs.push(
            Published::Deferred(Box::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(vec![3])
            })),
            Report::default(),
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(outputs.get(1).unwrap().0, [3]);
        assert_eq!(outputs.get(1).unwrap().0, [3]);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(outputs.get(0).unwrap().0, [1, 2]);
        assert!(outputs.get(7).unwrap().0.is_empty());
        assert_eq!(outputs.len(), 2);
    }
}

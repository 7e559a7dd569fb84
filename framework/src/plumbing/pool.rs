//! [`map_indices`]: the job's work-stealing pool for work that is not a
//! pipeline, such as a connector's planning scan, so every thread a job
//! starts comes from one executor.

use crate::error::Result;
use crate::exec::threads;
use crate::plan::Plan;

/// Runs `f(i)` for every `i` in `0..n` on the work-stealing pool (at most
/// `threads` threads) and returns the results in index order.
///
/// # Errors
/// A panic in `f`, as an error naming the index that panicked (the other
/// indices stop at their next step).
pub fn map_indices<T, F>(threads: usize, n: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    let plan = Plan::items(n as u64, 1, threads);
    let parts = threads::run_splits(threads, &plan, Vec::new, |acc: &mut Vec<(usize, T)>, split| {
        for part in &split.parts {
            for i in part.start..part.end {
                acc.push((i as usize, f(i as usize)));
            }
        }
        Ok(())
    })?;
    let mut all: Vec<(usize, T)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by_key(|&(i, _)| i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_index_once_in_order_for_every_thread_count() {
        for threads in 1..=4 {
            let got = super::map_indices(threads, 37, |i| i * i).unwrap();
            assert_eq!(got, (0..37).map(|i| i * i).collect::<Vec<_>>(), "threads={threads}");
        }
        assert!(super::map_indices(2, 0, |i| i).unwrap().is_empty());
        let err = super::map_indices(2, 5, |i| if i == 3 { panic!("boom {i}") } else { i }).unwrap_err();
        assert!(err.to_string().contains("boom 3"), "{err}");
    }
}

//! Shared test helpers.

use shoal::Job;
use std::path::Path;

/// Jobs of 1 and 3 threads with tiny splits, so rows come from many splits.
pub(crate) fn jobs() -> Vec<(String, Job)> {
    [1, 3]
        .into_iter()
        .map(|t| (format!("threads={t}"), Job::builder().threads(t).split_size(3).build().unwrap()))
        .collect()
}

/// Every file below `dir`, relative, sorted, with its contents.
pub(crate) fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The names in `dir` (not recursive), sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A row with a key that needs escaping.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) key: String,
    pub(crate) note: String,
}

/// Keys that try to escape the output folder or collide.
pub(crate) const HOSTILE: [&str; 8] = ["../x", "/", "\0", "", ".", "..", "__HIVE_DEFAULT_PARTITION__", "a=b/c"];

pub(crate) fn rows() -> Vec<Row> {
    (0..40u64)
        .map(|id| Row {
            id,
            key: HOSTILE[id as usize % HOSTILE.len()].to_string(),
            note: if id % 5 == 0 { "comma, \"quote\"\nnewline".into() } else { format!("n{id}") },
        })
        .collect()
}

//! The memory this process may use: the default of `--memory-limit`.
//!
//! Under Slurm, Kubernetes, systemd or a container the limit that kills a
//! process is its control group's, not the machine's: the smallest
//! `memory.max` (cgroup v2) or `memory.limit_in_bytes` (v1) of the
//! process's group and its ancestors. Outside any limit it is the
//! machine's memory (`MemTotal`).

use std::path::{Path, PathBuf};

/// The share of the memory this process may use that keyed actions take
/// by default: the rest is for the input's pages, the program's own data
/// and the result.
const DEFAULT_SHARE: u64 = 2;

/// The default memory limit of a job's keyed tables on this machine: half
/// of what the process may use ([`available`]).
pub(crate) fn default_limit() -> u64 {
    available() / DEFAULT_SHARE
}

/// The memory this process may use: the smallest of the machine's and its
/// control groups' limits.
pub(crate) fn available() -> u64 {
    let machine = machine_memory().unwrap_or(u64::MAX);
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok();
    let group = groups.as_deref().and_then(|text| cgroup_limit(text, Path::new("/sys/fs/cgroup")));
    machine.min(group.unwrap_or(u64::MAX))
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The smallest memory limit on the way from the control group of
/// `/proc/self/cgroup` (its text, `groups`) up to the root, read from the
/// hierarchy mounted at `root`; `None` when no limit is set.
fn cgroup_limit(groups: &str, root: &Path) -> Option<u64> {
    let mut least: Option<u64> = None;
    for line in groups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (dir, file) = if id == "0" && controllers.is_empty() {
            (root.to_path_buf(), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (root.join("memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        for group in ancestors(&dir, path) {
            if let Some(limit) = read_limit(&group.join(file)) {
                least = Some(least.map_or(limit, |l| l.min(limit)));
            }
        }
    }
    least
}

/// `dir/path`, then each of its parents up to `dir`.
fn ancestors(dir: &Path, path: &str) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut at = dir.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push(part);
        out.push(at.clone());
    }
    out
}

/// A limit file's value; `None` for `max`, for a v1 "no limit" (a huge
/// number), and for a missing or unreadable file.
fn read_limit(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: u64 = text.trim().parse().ok()?;
    // cgroup v1 writes "unlimited" as the largest page-aligned i64.
    (value < (1 << 62)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// v2 and v1 hierarchies: the smallest limit on the way up counts,
    /// `max` and v1's "unlimited" do not, and no limit is `None`.
    #[test]
    fn the_smallest_limit_up_the_group_counts() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(&r.join("memory.max"), "max\n");
        write(&r.join("job/memory.max"), "4294967296\n");
        write(&r.join("job/step/memory.max"), "max\n");
        assert_eq!(cgroup_limit("0::/job/step\n", r), Some(4 << 30));
        assert_eq!(cgroup_limit("0::/\n", r), None);

        write(&r.join("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        write(&r.join("memory/slurm/uid_0/job_7/memory.limit_in_bytes"), "1073741824\n");
        let v1 = "5:memory:/slurm/uid_0/job_7\n4:cpu,cpuacct:/slurm\n";
        assert_eq!(cgroup_limit(v1, r), Some(1 << 30));
        assert_eq!(cgroup_limit("4:cpu:/x\n", r), None);
    }

    #[test]
    fn this_machine_has_some_memory() {
        assert!(available() > 0);
        assert!(default_limit() <= available());
    }
}

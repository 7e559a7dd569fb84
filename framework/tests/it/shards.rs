//! Shard mode (issue 17, point 4): `--shard I/N --shard-dir DIR` runs, and
//! their merge step `--merge DIR`, through the probe program.

use crate::util::Dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The probe program, built by `cargo test` next to this test binary.
fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

/// The launchers' variables, which a test must not inherit.
const LAUNCHER_VARS: [&str; 7] = [
    "SHOAL_SHARD",
    "SHOAL_SHARD_COUNT",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_ARRAY_TASK_COUNT",
    "JOB_COMPLETION_INDEX",
];

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(probe());
    cmd.args(args).stdin(Stdio::null());
    for var in LAUNCHER_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder of line files, several splits each at 1 KiB.
fn data(dir: &Dir) -> PathBuf {
    for (name, lines) in [("a.txt", 300), ("b.txt", 700), ("c.txt", 40), ("d.txt", 0), ("e.txt", 450)] {
        let text: String =
            (0..lines).map(|i| format!("{}{name} {}\n", (b'a' + (i % 26) as u8) as char, i % 37)).collect();
        dir.write(&format!("data/{name}"), text);
    }
    dir.path().join("data")
}

/// The probe's arguments: a keyed aggregation, every keyed action, an
/// ordered collect and a second count.
fn probe_args<'a>(data: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--collect", "--distinct", "--twice", "--split-size", "1K"];
    args.extend_from_slice(extra);
    args.push(data.to_str().unwrap());
    args
}

/// Runs shard `i` of `n` into `shards`.
fn shard(data: &Path, shards: &Path, i: u32, n: u32, extra: &[&str]) -> Output {
    let id = format!("{i}/{n}");
    let mut args = vec!["--shard", &id, "--shard-dir", shards.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&probe_args(data, &args));
    assert!(out.status.success(), "shard {id}: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "a shard prints nothing: {}", text(&out.stdout));
    out
}

fn merge(data: &Path, shards: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--merge", shards.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&probe_args(data, &args))
}

#[test]
fn three_shards_merge_into_exactly_what_one_process_prints_in_every_shape() {
    let dir = Dir::new();
    let data = data(&dir);
    let single = run(&probe_args(&data, &["-t", "2"]));
    assert!(single.status.success(), "{}", text(&single.stderr));
    let expected = text(&single.stdout);
    assert!(expected.contains("collect,1490,"), "{expected}");
    let shapes: [&[&str]; 3] = [&["-t", "1"], &["-t", "2"], &["-p", "2", "-t", "1"]];
    for (k, shape) in shapes.iter().enumerate() {
        let shards = dir.path().join(format!("shards-{k}"));
        for i in 0..3 {
            let err = text(&shard(&data, &shards, i, 3, shape).stderr);
            assert!(err.contains(&format!("shoal: shard {i} of 3 done: ")), "{err}");
        }
        let names: Vec<String> = {
            let mut n: Vec<String> =
                std::fs::read_dir(&shards).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
            n.sort();
            n
        };
        assert_eq!(names, ["shard-0-of-3.shoal", "shard-1-of-3.shoal", "shard-2-of-3.shoal"], "{shape:?}");
        let merged = merge(&data, &shards, &["-t", "1"]);
        assert!(merged.status.success(), "{shape:?}: {}", text(&merged.stderr));
        assert_eq!(text(&merged.stdout), expected, "{shape:?}: the merge prints what one process prints");
    }
    // Shards of different shapes merge too, and so does a merge with processes.
    let mixed = dir.path().join("mixed");
    for (i, shape) in shapes.iter().enumerate() {
        shard(&data, &mixed, i as u32, 3, shape);
    }
    let merged = merge(&data, &mixed, &["-p", "2"]);
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    assert_eq!(text(&merged.stdout), expected);
}

#[test]
fn more_shards_than_splits_and_a_single_shard_still_merge_exactly() {
    let dir = Dir::new();
    dir.write("data/one.txt", "x 1\ny 2\nx 3\n");
    let data = dir.path().join("data");
    let single = run(&probe_args(&data, &[]));
    for n in [1, 4] {
        let shards = dir.path().join(format!("shards-{n}"));
        for i in 0..n {
            shard(&data, &shards, i, n, &[]);
        }
        let merged = merge(&data, &shards, &[]);
        assert!(merged.status.success(), "{}", text(&merged.stderr));
        assert_eq!(merged.stdout, single.stdout, "{n} shards");
    }
}

#[test]
fn the_merge_refuses_missing_duplicated_mismatched_and_corrupt_shards_and_a_rerun_mends() {
    let dir = Dir::new();
    let data = data(&dir);
    let shards = dir.path().join("shards");
    for i in 0..3 {
        shard(&data, &shards, i, 3, &["-t", "2"]);
    }
    let good = merge(&data, &shards, &[]);
    assert!(good.status.success());
    let refused = |want: &str| {
        let out = merge(&data, &shards, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(want), "wanted {want:?}: {err}");
        assert!(out.stdout.is_empty(), "nothing was printed: {}", text(&out.stdout));
    };
    let file = |i: u32| shards.join(format!("shard-{i}-of-3.shoal"));

    // Missing: rerunning the one shard is enough.
    std::fs::remove_file(file(1)).unwrap();
    refused("shard 1 of 3 is missing from");
    refused("run it again with --shard 1/3");
    shard(&data, &shards, 1, 3, &["-t", "1"]);
    assert_eq!(merge(&data, &shards, &[]).stdout, good.stdout, "the rerun shard merges");

    // Duplicated: a copy under another name.
    std::fs::copy(file(2), shards.join("copy-of-2.shoal")).unwrap();
    refused("two files claim shard 2 of 3");
    std::fs::remove_file(shards.join("copy-of-2.shoal")).unwrap();

    // Mismatched: a shard run with other arguments.
    let mut args = probe_args(&data, &["--shard", "0/3", "--shard-dir", shards.to_str().unwrap()]);
    args.extend(["--fail-on", "no such line"]);
    assert!(run(&args).status.success());
    refused("shard 0 was made by a different program or arguments than this merge step");
    refused("results) is `--fail-on` where this merge step's is nothing)");
    refused("(its argument 7 (not counting");
    shard(&data, &shards, 0, 3, &[]);
    // And a merge with other arguments than the shards'.
    let other = run(&probe_args(&data, &["--merge", shards.to_str().unwrap(), "--fail-on", "x"]));
    assert_eq!(other.status.code(), Some(1));
    assert!(text(&other.stderr).contains("was made by a different program or arguments"));

    // Corrupt: one flipped byte.
    let mut bytes = std::fs::read(file(2)).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(file(2), &bytes).unwrap();
    refused("the shard file is corrupt (checksum)");
    refused("shard-2-of-3.shoal");

    // Another count among them.
    shard(&data, &shards, 2, 3, &[]);
    assert_eq!(merge(&data, &shards, &[]).stdout, good.stdout);
    // A shard refuses to run into a directory of another count ...
    let other = run(&probe_args(&data, &["--shard", "0/2", "--shard-dir", shards.to_str().unwrap()]));
    assert_eq!(other.status.code(), Some(2), "{}", text(&other.stderr));
    assert!(text(&other.stderr).contains("holds shards of 3"), "{}", text(&other.stderr));
    // ... and the merge step refuses a file of another count put there.
    let apart = dir.path().join("apart");
    shard(&data, &apart, 0, 2, &[]);
    std::fs::copy(apart.join("shard-0-of-2.shoal"), shards.join("shard-0-of-2.shoal")).unwrap();
    refused("the shard files are of different runs");
    std::fs::remove_file(shards.join("shard-0-of-2.shoal")).unwrap();

    // Input that changed between the shards' runs.
    shard(&data, &shards, 1, 3, &[]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    dir.write("data/c.txt", "changed\n".repeat(40));
    shard(&data, &shards, 1, 3, &[]);
    refused("planned action 0 differently from shard 0");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = merge(&data, &empty, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no shard files (shard-I-of-N.shoal) in"), "{}", text(&out.stderr));
}

#[test]
fn a_failed_shard_writes_nothing_and_leaves_the_older_file() {
    let dir = Dir::new();
    let data = data(&dir);
    let shards = dir.path().join("shards");
    shard(&data, &shards, 0, 2, &[]);
    let file = shards.join("shard-0-of-2.shoal");
    let before = std::fs::read(&file).unwrap();
    let args = ["--shard", "0/2", "--shard-dir", shards.to_str().unwrap(), "--fail-on", "aa.txt 0"];
    let failing = run(&probe_args(&data, &args));
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing.stderr));
    assert!(text(&failing.stderr).contains("probe rejects"));
    assert_eq!(std::fs::read(&file).unwrap(), before, "a failed shard writes no file");
    assert_eq!(std::fs::read_dir(&shards).unwrap().count(), 1, "nor a temporary one");
}

#[test]
fn shard_flags_are_checked_as_usage_errors() {
    let dir = Dir::new();
    let data = data(&dir);
    let d = dir.path().join("shards");
    let d = d.to_str().unwrap();
    let usage = |args: &[&str], env: &[(&str, &str)], want: &str| {
        let out = run_env(&probe_args(&data, args), env);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: wanted {want:?}: {err}");
        assert!(out.stdout.is_empty());
    };
    usage(&["--shard", "3/3", "--shard-dir", d], &[], "shard index 3 is out of range for 3 shards (0 to 2)");
    usage(&["--shard", "0/0", "--shard-dir", d], &[], "the shard count must be at least 1");
    usage(&["--shard", "1of3", "--shard-dir", d], &[], "is not a shard like 0/4");
    usage(&["--shard", "0/3"], &[], "--shard-dir");
    usage(&["--shard-dir", d], &[], "--shard-dir needs this shard's index");
    usage(&["--shard-dir", d], &[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")], "out of range");
    usage(&["--shard-dir", d], &[("JOB_COMPLETION_INDEX", "1")], "SHOAL_SHARD_COUNT is not");
    usage(&["--merge", d, "--shard-dir", d, "--shard", "0/1"], &[], "cannot be used with");
    usage(&["--merge", d, "--state", d], &[], "cannot be used with");
    usage(&["--shard-dir", d, "--shard", "0/1", "--state", d], &[], "cannot be used with");
    // The launcher's variables alone do not make a program a shard.
    let plain = run_env(&probe_args(&data, &[]), &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "3")]);
    assert!(plain.status.success());
    assert!(text(&plain.stdout).contains("collect,1490,"));
    assert!(!Path::new(d).exists());
}

#[test]
fn the_shard_is_found_in_slurm_kubernetes_and_shoal_variables() {
    let dir = Dir::new();
    let data = data(&dir);
    let single = run(&probe_args(&data, &[]));
    let shards = dir.path().join("shards");
    let d = shards.to_str().unwrap();
    let launchers: [&[(&str, &str)]; 3] = [
        &[("SLURM_ARRAY_TASK_ID", "11"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "3")],
        &[("JOB_COMPLETION_INDEX", "2"), ("SHOAL_SHARD_COUNT", "3")],
        // SHOAL_SHARD wins over a launcher's.
        &[("SHOAL_SHARD", "0/3"), ("JOB_COMPLETION_INDEX", "2"), ("SHOAL_SHARD_COUNT", "3")],
    ];
    for (env, want) in launchers.iter().zip([
        "shard 1 of 3 (from the Slurm job array)",
        "shard 2 of 3 (from the Kubernetes Indexed Job)",
        "shard 0 of 3 (from SHOAL_SHARD)",
    ]) {
        let out = run_env(&probe_args(&data, &["--shard-dir", d, "--explain"]), env);
        assert!(out.status.success(), "{env:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(want), "{env:?}: {}", text(&out.stderr));
    }
    // --shard wins over the environment.
    let out = run_env(&probe_args(&data, &["--shard-dir", d, "--shard", "1/3"]), &[("SHOAL_SHARD", "0/3")]);
    assert!(text(&out.stderr).contains("shard 1 of 3 done"), "{}", text(&out.stderr));
    let merged = merge(&data, &shards, &["--explain"]);
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    assert_eq!(merged.stdout, single.stdout);
    let err = text(&merged.stderr);
    assert!(err.contains("merge: 3 shards from") && err.contains("shard-2-of-3.shoal (6 actions)"), "{err}");
    assert!(err.contains("merge: action 0: AggregateByKey"), "{err}");
    // `sbatch --array=2` to rerun shard 2 alone is an array of one task:
    // refused before any work, since the directory holds shards of 3 ...
    std::fs::remove_file(shards.join("shard-2-of-3.shoal")).unwrap();
    let resubmitted = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "2"), ("SLURM_ARRAY_TASK_COUNT", "1")];
    let out = run_env(&probe_args(&data, &["--shard-dir", d]), &resubmitted);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("this is shard 0/1 (from the Slurm job array)"), "{err}");
    assert!(err.contains("give --shard I/3 (or set SHOAL_SHARD_COUNT=3"), "{err}");
    assert!(!shards.join("shard-0-of-1.shoal").exists());
    // ... and with SHOAL_SHARD_COUNT the task's id is the shard's index.
    let counted = [resubmitted.as_slice(), &[("SHOAL_SHARD_COUNT", "3")]].concat();
    let out = run_env(&probe_args(&data, &["--shard-dir", d]), &counted);
    assert!(text(&out.stderr).contains("shard 2 of 3 done"), "{}", text(&out.stderr));
    let merged = merge(&data, &shards, &[]);
    assert_eq!(merged.stdout, single.stdout, "{}", text(&merged.stderr));
}

#[test]
fn the_merge_steps_report_shows_every_action_and_split_and_the_shards_counters() {
    let dir = Dir::new();
    let data = data(&dir);
    let single_report = dir.path().join("single.json");
    let single = run(&probe_args(&data, &["--report", single_report.to_str().unwrap()]));
    assert!(single.status.success());
    let shards = dir.path().join("shards");
    for i in 0..3 {
        let err = text(&shard(&data, &shards, i, 3, &["--explain"]).stderr);
        assert!(err.contains(&format!("shard {i} of 3 (from --shard): action 0: splits ")), "{err}");
    }
    let report = dir.path().join("merge.json");
    let merged = merge(&data, &shards, &["--report", report.to_str().unwrap()]);
    assert!(merged.status.success(), "{}", text(&merged.stderr));
    let json = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let (m, s) = (json(&report), json(&single_report));
    assert_eq!(m["outcome"], "success");
    let (ma, sa) = (m["actions"].as_array().unwrap(), s["actions"].as_array().unwrap());
    assert_eq!(ma.len(), sa.len(), "every action");
    for (a, b) in ma.iter().zip(sa) {
        for field in ["number", "action", "pipeline", "files", "splits", "bytes", "records_out", "rejected"] {
            assert_eq!(a[field], b[field], "{field} of action {}", a["number"]);
        }
    }
    assert_eq!(m["counters"], s["counters"], "the shards' counters, summed");
    assert_eq!(m["user_counters"], s["user_counters"]);
    let splits = ma[0]["splits"].as_u64().unwrap();
    let mut seen: Vec<u64> = m["splits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == 0)
        .map(|s| s["split"].as_u64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, (0..splits).collect::<Vec<_>>(), "one attempt per split, by its index in the plan");
}

#[test]
fn standard_input_is_refused_in_shard_mode() {
    let dir = Dir::new();
    let shards = dir.path().join("shards");
    let out = command(&["--shard", "0/2", "--shard-dir", shards.to_str().unwrap(), "-"], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            drop(child.stdin.take());
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("standard input cannot be read in shard mode"), "{}", text(&out.stderr));
}

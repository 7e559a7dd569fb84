//! Sinks in shard mode (issue 17.4): shards write no output, and the merge
//! step writes exactly the files one process writes.

use crate::util::tree;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `sink_probe` example, built on first use (`cargo test --test sink`
/// alone does not build examples).
fn sink_probe() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    // .../<target>/<profile>/deps/sink-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--example", "sink_probe", "--manifest-path"]);
        build.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        build.arg("--target-dir").arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let out = build.output().expect("cargo runs");
        assert!(out.status.success(), "cargo build --example failed: {}", String::from_utf8_lossy(&out.stderr));
    });
    profile_dir.join("examples").join("sink_probe")
}

fn run(out: &Path, data: &Path, extra: &[&str]) -> Output {
    let output = Command::new(sink_probe())
        .args(["--split-size", "1K", "--csv"])
        .arg(out.join("flat.csv"))
        .arg("--partitioned")
        .arg(out.join("parts"))
        .args(extra)
        .arg(data)
        .env_remove("SHOAL_SHARD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn three_shards_and_their_merge_write_what_one_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for (name, lines) in [("a.txt", 400), ("b.txt", 90), ("c.txt", 700)] {
        let text: String =
            (0..lines).map(|i| format!("{}{name} \"{i}\",x\n", (b'a' + (i % 5) as u8) as char)).collect();
        std::fs::write(data.join(name), text).unwrap();
    }
    let single = dir.path().join("single");
    let whole = run(&single, &data, &["-t", "2"]);
    let sharded = dir.path().join("sharded");
    let shards = dir.path().join("shards");
    for (i, shape) in [["-t", "1"], ["-t", "2"], ["-p", "2"]].iter().enumerate() {
        let id = format!("{i}/3");
        let mut args = vec!["--shard", &id, "--shard-dir", shards.to_str().unwrap()];
        args.extend_from_slice(shape);
        let out = run(&sharded, &data, &args);
        assert!(out.stdout.is_empty());
        assert!(!sharded.exists(), "a shard writes no output");
    }
    let merged = run(&sharded, &data, &["--merge", shards.to_str().unwrap()]);
    assert_eq!(merged.stdout, whole.stdout);
    assert_eq!(String::from_utf8_lossy(&merged.stdout), "rows,1190,1190\nfiles,5\n");
    assert_eq!(tree(&sharded), tree(&single), "byte for byte");
}

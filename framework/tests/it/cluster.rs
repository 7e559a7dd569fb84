//! Cluster ranks with real processes: the `probe` program started N times
//! with Shoal's own rank variables (what `srun` or `mpirun` would set), on
//! one machine. Rank 0 leads over TCP on 127.0.0.1; ranks are killed, the
//! leader is killed, secrets are wrong, on purpose.

use crate::processes::{alive, command, reference, stderr, stdout, text_file, wait_for, wait_with_output};
use crate::util::Dir;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

/// A launch of `size` ranks of the probe with `args`, meeting through a
/// rendezvous folder in `dir`.
struct Launch<'a> {
    dir: &'a Dir,
    size: usize,
    job: String,
    extra: Vec<(String, String)>,
}

impl<'a> Launch<'a> {
    fn new(dir: &'a Dir, size: usize, job: &str) -> Launch<'a> {
        Launch { dir, size, job: format!("{job}-{}", std::process::id()), extra: Vec::new() }
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    fn rank(&self, rank: usize, args: &[&str]) -> Child {
        let mut cmd = command(args);
        cmd.env("SHOAL_RANK", rank.to_string())
            .env("SHOAL_WORLD_SIZE", self.size.to_string())
            .env("SHOAL_JOB", &self.job)
            .env("SHOAL_RENDEZVOUS_DIR", self.dir.path().join("rendezvous"))
            .env("SHOAL_PROGRESS", "never");
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// Starts every rank with the same arguments; the leader last, so the
    /// others have to wait for it.
    fn all(&self, args: &[&str]) -> Vec<Child> {
        let mut ranks: Vec<Child> = (1..self.size).map(|r| self.rank(r, args)).collect();
        std::thread::sleep(Duration::from_millis(200));
        ranks.insert(0, self.rank(0, args));
        ranks
    }
}

fn outputs(ranks: Vec<Child>) -> Vec<Output> {
    ranks.into_iter().map(wait_with_output).collect()
}

#[test]
fn ranks_give_the_single_process_result_and_only_rank_0_prints() {
    let dir = Dir::new();
    let path = text_file(&dir, "a.txt", 60_000);
    let want = reference(&path);
    let p = path.to_str().unwrap();
    for (i, args) in [
        &["-t", "1", "--chunk-size", "16K", "--twice", "--collect", p][..],
        &["-t", "2", "--chunk-size", "16K", "--distinct", p],
        &["-t", "1", "-p", "2", "--chunk-size", "16K", p],
    ]
    .iter()
    .enumerate()
    {
        let launch = Launch::new(&dir, 3, &format!("same{i}"));
        let outs = outputs(launch.all(args));
        for (rank, out) in outs.iter().enumerate() {
            assert!(out.status.success(), "{args:?} rank {rank}: {}", stderr(out));
        }
        let single = reference_with(&path, args);
        assert_eq!(stdout(&outs[0]), single, "{args:?}");
        assert!(stdout(&outs[0]).starts_with(want.lines().next().unwrap()), "{args:?}");
        assert_eq!(stdout(&outs[1]), "", "{args:?}");
        assert_eq!(stdout(&outs[2]), "", "{args:?}");
        // The rendezvous file is gone with rank 0.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("rendezvous")).unwrap().flatten().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// The single-process output of the probe with `args`.
fn reference_with(path: &Path, args: &[&str]) -> String {
    let _ = path;
    let out = command(args).env("SHOAL_CLUSTER", "off").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn explain_names_the_ranks_and_what_each_was_given() {
    let dir = Dir::new();
    let path = text_file(&dir, "e.txt", 40_000);
    let launch = Launch::new(&dir, 2, "explain");
    let outs = outputs(launch.all(&["-t", "1", "--chunk-size", "8K", "--explain", path.to_str().unwrap()]));
    let err = stderr(&outs[0]);
    assert!(outs.iter().all(|o| o.status.success()), "{err}");
    assert!(err.contains("action 0 ran on:"), "{err}");
    assert!(err.contains("(rank 1 on "), "{err}");
    let given: u64 = err
        .lines()
        .filter(|l| l.trim_start().starts_with("worker "))
        .filter_map(|l| l.split(": ").nth(1)?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(given > 1, "{err}");
    // With -p 2, rank 1 and its second process are named as rank 1's, rank
    // 0's two as the leader's.
    let launch = Launch::new(&dir, 2, "explain-p2");
    // Splits slow enough (about 2 s in all) that every process takes some.
    let slow = ["--split-size", "16K", "--sleep-ms", "20", "--sleep-every", "100"];
    let outs =
        outputs(launch.all(&[&["-t", "1", "-p", "2", "--explain"], &slow[..], &[path.to_str().unwrap()]].concat()));
    let err = stderr(&outs[0]);
    assert!(outs.iter().all(|o| o.status.success()), "{err}");
    let ran_on: Vec<&str> = err.lines().filter(|l| l.trim_start().starts_with("worker ")).collect();
    assert_eq!(ran_on.iter().filter(|l| l.contains("(rank 1 on ")).count(), 1, "{err}");
    assert_eq!(ran_on.iter().filter(|l| l.contains("(a worker process of rank 1 on ")).count(), 1, "{err}");
    assert_eq!(ran_on.iter().filter(|l| l.contains("(a worker process of the leader on ")).count(), 2, "{err}");
}

#[test]
fn ranks_of_a_job_with_nothing_to_read_end_with_its_success() {
    let dir = Dir::new();
    let path = text_file(&dir, "empty.txt", 0);
    let launch = Launch::new(&dir, 3, "empty");
    let outs = outputs(launch.all(&["-t", "1", path.to_str().unwrap()]));
    for (rank, out) in outs.iter().enumerate() {
        assert!(out.status.success(), "rank {rank}: {}", stderr(out));
        assert!(!stderr(out).contains("lost its leader"), "rank {rank}: {}", stderr(out));
    }
}

#[test]
fn a_killed_rank_s_splits_are_rerun_and_the_result_is_the_same() {
    let dir = Dir::new();
    let path = text_file(&dir, "k.txt", 40_000);
    let want = reference(&path);
    let launch = Launch::new(&dir, 3, "killed");
    // About 2.7 s of sleeps per rank: rank 1 is killed well before the end.
    let args = ["-t", "1", "--chunk-size", "8K", "--sleep-ms", "40", "--sleep-every", "200", path.to_str().unwrap()];
    let mut ranks = launch.all(&args);
    std::thread::sleep(Duration::from_millis(1000));
    let victim = ranks.remove(1);
    kill(Pid::from_raw(victim.id() as i32), Signal::SIGKILL).unwrap();
    let victim = wait_with_output(victim);
    assert!(!victim.status.success());
    let outs = outputs(ranks);
    assert!(outs[0].status.success(), "{}", stderr(&outs[0]));
    assert_eq!(stdout(&outs[0]), want);
    assert!(stderr(&outs[0]).contains("rerun"), "{}", stderr(&outs[0]));
}

#[test]
fn the_leader_s_death_ends_every_rank_within_seconds() {
    let dir = Dir::new();
    let path = text_file(&dir, "d.txt", 40_000);
    let launch = Launch::new(&dir, 3, "leaderdies");
    let args = ["-t", "1", "--chunk-size", "8K", "--sleep-ms", "50", "--sleep-every", "100", path.to_str().unwrap()];
    let mut ranks = launch.all(&args);
    std::thread::sleep(Duration::from_millis(1500));
    let leader = ranks.remove(0);
    kill(Pid::from_raw(leader.id() as i32), Signal::SIGKILL).unwrap();
    let _ = wait_with_output(leader);
    let killed = Instant::now();
    let pids: Vec<u32> = ranks.iter().map(Child::id).collect();
    assert!(wait_for(|| pids.iter().all(|p| !alive(*p)), Duration::from_secs(10)), "ranks outlived their leader");
    assert!(killed.elapsed() < Duration::from_secs(5), "{:?}", killed.elapsed());
    // They fail, saying why: the job did not end.
    for out in outputs(ranks) {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("lost its leader (tcp:"), "{}", stderr(&out));
    }
}

#[test]
fn a_rank_that_cannot_reach_the_leader_names_the_address() {
    let dir = Dir::new();
    let path = text_file(&dir, "u.txt", 100);
    let launch = Launch::new(&dir, 2, "unreachable")
        .env("SHOAL_LEADER_ADDR", "127.0.0.1:9")
        .env("SHOAL_SECRET", "0123456789abcdef0123456789abcdef");
    let started = Instant::now();
    let out = wait_with_output(launch.rank(1, &["-t", "1", "--connect-timeout", "1", path.to_str().unwrap()]));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rank 1 of 2") && err.contains("127.0.0.1:9") && err.contains("within 1 s"), "{err}");
}

#[test]
fn a_rank_with_a_wrong_secret_is_refused_and_the_leader_logs_it() {
    let dir = Dir::new();
    let path = text_file(&dir, "s.txt", 2_000);
    let want = reference(&path);
    let port = free_port();
    let at = format!("127.0.0.1:{port}");
    let leader =
        Launch::new(&dir, 2, "secret").env("SHOAL_LEADER_ADDR", &at).env("SHOAL_SECRET", "right-secret-right-secret");
    let intruder =
        Launch::new(&dir, 2, "secret").env("SHOAL_LEADER_ADDR", &at).env("SHOAL_SECRET", "wrong-secret-wrong-secret");
    let args = ["-t", "1", "--connect-timeout", "30", path.to_str().unwrap()];
    let started = Instant::now();
    let rank0 = leader.rank(0, &args);
    let refused = wait_with_output(intruder.rank(1, &args));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("refused this rank: wrong job secret"), "{}", stderr(&refused));
    // Rank 0 does not wait its connect timeout for the refused rank: it
    // finishes alone at once.
    let out = wait_with_output(rank0);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), want);
    let err = stderr(&out);
    assert!(err.contains("refused a peer from 127.0.0.1:") && err.contains("wrong job secret"), "{err}");
    assert!(err.contains("rank 1 was refused; going on without it"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn a_secret_file_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let path = text_file(&dir, "f.txt", 100);
    let secret = dir.write("secret", "0123456789abcdef0123456789abcdef\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let launch = Launch::new(&dir, 2, "file").env("SHOAL_SECRET_FILE", secret.to_str().unwrap());
    let out = wait_with_output(launch.rank(0, &["-t", "1", path.to_str().unwrap()]));
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("others may read"), "{}", stderr(&out));
}

#[test]
fn a_rank_that_sees_another_version_of_an_input_refuses_it() {
    let dir = Dir::new();
    let other = Dir::new();
    // The same relative path names different files for the two ranks.
    text_file(&dir, "v.txt", 5_000);
    text_file(&other, "v.txt", 5_001);
    let launch = Launch::new(&dir, 2, "version");
    // Rank 0 hands out nothing before rank 1 joined, and rank 1 asks for
    // splits at once: it gets some.
    let args = ["-t", "1", "--chunk-size", "8K", "--sleep-ms", "20", "--sleep-every", "200", "v.txt"];
    let mut rank1 = command(&args);
    rank1
        .current_dir(other.path())
        .env("SHOAL_RANK", "1")
        .env("SHOAL_WORLD_SIZE", "2")
        .env("SHOAL_JOB", &launch.job)
        .env("SHOAL_RENDEZVOUS_DIR", dir.path().join("rendezvous"));
    let rank1 = rank1.spawn().unwrap();
    let mut rank0 = command(&args);
    rank0
        .current_dir(dir.path())
        .env("SHOAL_RANK", "0")
        .env("SHOAL_WORLD_SIZE", "2")
        .env("SHOAL_JOB", &launch.job)
        .env("SHOAL_RENDEZVOUS_DIR", dir.path().join("rendezvous"));
    let out = wait_with_output(rank0.spawn().unwrap());
    let rank1 = wait_with_output(rank1);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("v.txt") && err.contains("another version of this input"), "{err}");
    assert!(err.contains(" bytes modified at 20") && !err.contains("   "), "times as dates: {err}");
    // The job failed: so does the other rank, with the job's status.
    assert_eq!(rank1.status.code(), Some(1), "{}", stderr(&rank1));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

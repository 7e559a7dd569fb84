//! Cluster ranks: the same program started N times by a launcher (`srun`,
//! `mpirun`, or by hand with Shoal's own variables) runs as one job.
//!
//! Shoal does not place processes; the launcher does. Each process finds
//! its rank and the world size in the launcher's environment
//! ([`discover`], in the order Shoal, Slurm, Open MPI, PMI). Rank 0 leads:
//! it listens on TCP ([`lead`]), spawns its own worker processes as on one
//! machine, and waits for the other ranks before its first split; every
//! other rank is a worker that connects to it ([`join`]) and runs splits on
//! its own threads. The process protocol is the one of
//! [`crate::exec::process`], over TCP, and a rank is scheduled like a
//! worker process: a rank that dies has its splits rerun by the others.
//!
//! Where rank 0 listens: `SHOAL_LEADER_ADDR` (`HOST:PORT`) if given; under
//! Slurm the first host of the step's node list (`node[01-03]` expanded,
//! [`nodelist`]) and a port derived from the job and step ids (or
//! `SHOAL_LEADER_PORT`); otherwise this host, on a port the rendezvous
//! file tells the others ([`rendezvous`]). Never on every interface.
//!
//! The job's secret: `SHOAL_SECRET` from the launcher's environment, or a
//! file given with `--secret-file` (readable by its owner only), or one
//! rank 0 makes and writes, with its address, to the rendezvous file in a
//! folder all ranks see (`SHOAL_RENDEZVOUS_DIR`, default
//! `~/.shoal/rendezvous`), readable by the job's user alone.

pub(crate) mod nodelist;
pub(crate) mod rendezvous;

use crate::error::{Error, ErrorKind, Result};
pub(crate) use crate::exec::process::ClusterMode;
use crate::exec::process::ProcessOptions;
use crate::exec::process::leader::Leader;
use crate::exec::process::worker::{Greeting, Joining, WorkerLink, host_name};
use crate::transport::{self, Address};
use rendezvous::Rendezvous;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Which launcher's variables named the rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Launcher {
    Shoal,
    Slurm,
    OpenMpi,
    Pmi,
}

impl std::fmt::Display for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Launcher::Shoal => "SHOAL_RANK",
            Launcher::Slurm => "Slurm",
            Launcher::OpenMpi => "Open MPI",
            Launcher::Pmi => "PMI",
        })
    }
}

/// This process's place in a cluster launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rank {
    pub(crate) rank: usize,
    pub(crate) size: usize,
    pub(crate) launcher: Launcher,
    /// `HOST:PORT` rank 0 listens on, when every rank can tell it from the
    /// environment alone.
    pub(crate) leader: Option<String>,
    /// A name of this launch, the same in every rank and different for the
    /// next launch: names the rendezvous file.
    pub(crate) key: Option<String>,
}

impl Rank {
    /// `rank 2 of 4 (Slurm)`.
    pub(crate) fn describe(&self) -> String {
        format!("rank {} of {} ({})", self.rank, self.size, self.launcher)
    }
}

/// The rank this process has, from the launcher's variables (`env`), or
/// `None` outside a launch of more than one task.
///
/// # Errors
/// Variables that do not parse, or a rank not below the world size.
pub(crate) fn discover(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Rank>> {
    let number = |name: &str| -> Result<Option<usize>> {
        match env(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::new(ErrorKind::Config, format!("{name}=`{v}` is not a whole number"))),
        }
    };
    let given = env("SHOAL_LEADER_ADDR").filter(|v| !v.is_empty());
    let found = if let (Some(rank), Some(size)) = (number("SHOAL_RANK")?, number("SHOAL_WORLD_SIZE")?) {
        Some((rank, size, Launcher::Shoal, given, env("SHOAL_JOB").filter(|v| !v.is_empty())))
    } else if let (Some(rank), Some(size)) = (number("SLURM_PROCID")?, number("SLURM_STEP_NUM_TASKS")?) {
        // A step of `srun`: a batch script itself has no step task count.
        let job = env("SLURM_JOB_ID").unwrap_or_default();
        let step = env("SLURM_STEP_ID").unwrap_or_default();
        let leader = match given {
            Some(given) => Some(given),
            None => slurm_leader(env, &job, &step)?,
        };
        Some((rank, size, Launcher::Slurm, leader, Some(format!("slurm-{job}.{step}"))))
    } else if let (Some(rank), Some(size)) = (number("OMPI_COMM_WORLD_RANK")?, number("OMPI_COMM_WORLD_SIZE")?) {
        let key = ["PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_ess_jobid"]
            .iter()
            .find_map(|name| env(name).filter(|v| !v.is_empty()))
            .map(|id| format!("ompi-{id}"));
        Some((rank, size, Launcher::OpenMpi, given, key))
    } else if let (Some(rank), Some(size)) = (number("PMI_RANK")?, number("PMI_SIZE")?) {
        let key = ["PMIX_NAMESPACE", "PMI_KVSNAME", "PMI_JOBID"]
            .iter()
            .find_map(|name| env(name).filter(|v| !v.is_empty()))
            .map(|id| format!("pmi-{id}"));
        Some((rank, size, Launcher::Pmi, given, key))
    } else {
        None
    };
    let Some((rank, size, launcher, leader, key)) = found else { return Ok(None) };
    if rank >= size {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{launcher}: rank {rank} is not below the world size {size}"),
        ));
    }
    if size < 2 {
        return Ok(None);
    }
    let key = key.or_else(|| leader.as_ref().map(|l| format!("at-{l}"))).map(|k| sanitize(&k));
    Ok(Some(Rank { rank, size, launcher, leader, key }))
}

/// Rank 0's address under Slurm: the first host of the step's nodes, on
/// `SHOAL_LEADER_PORT`, the step's first reserved port, or a port derived
/// from the job and step ids.
fn slurm_leader(env: &dyn Fn(&str) -> Option<String>, job: &str, step: &str) -> Result<Option<String>> {
    let Some(nodes) = ["SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"]
        .iter()
        .find_map(|name| env(name).filter(|v| !v.is_empty()))
    else {
        return Ok(None);
    };
    let host = nodelist::first(&nodes).map_err(|e| Error::new(ErrorKind::Config, format!("Slurm node list {e}")))?;
    let reserved = env("SLURM_STEP_RESV_PORTS").and_then(|p| p.split(['-', ',']).next()?.trim().parse::<u16>().ok());
    let port = match env("SHOAL_LEADER_PORT").filter(|p| !p.is_empty()) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| Error::new(ErrorKind::Config, format!("SHOAL_LEADER_PORT=`{p}` is not a port")))?,
        None => reserved.unwrap_or_else(|| derived_port(job, step)),
    };
    Ok(Some(format!("{host}:{port}")))
}

/// A port in 10000..30000, below Linux's ephemeral range, from the job and
/// step ids: the same in every rank of a step, different for the next step.
pub(crate) fn derived_port(job: &str, step: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in job.bytes().chain([b'.']).chain(step.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    10_000 + (h % 20_000) as u16
}

fn sanitize(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// The job's secret, when the launcher or a file gives it.
fn given_secret(options: &ProcessOptions) -> Result<Option<String>> {
    if let Some(secret) = std::env::var(crate::exec::process::ENV_SECRET).ok().filter(|s| !s.is_empty()) {
        return Ok(Some(secret));
    }
    let file = options.secret_file.clone().or_else(|| std::env::var_os("SHOAL_SECRET_FILE").map(Into::into));
    file.map(|path| rendezvous::read_private(&path).map(|text| text.trim().to_string())).transpose()
}

/// Resolves `HOST:PORT` to the address to listen on or connect to.
fn resolve(leader: &str) -> Result<SocketAddr> {
    let bad =
        |why: String| Error::new(ErrorKind::Config, format!("cannot resolve the leader's address `{leader}`: {why}"));
    let addrs: Vec<SocketAddr> = leader.to_socket_addrs().map_err(|e| bad(e.to_string()))?.collect();
    addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied().ok_or_else(|| bad("no address".into()))
}

/// Rank 0: listens where the others will look, publishes the rendezvous
/// (when there is a launch key) and leads; the returned guard removes the
/// rendezvous file when dropped.
///
/// # Errors
/// The address does not resolve or cannot be listened on; the secret file
/// is unsafe; the rendezvous cannot be written.
pub(crate) fn lead(rank: &Rank, options: &ProcessOptions) -> Result<(Leader, Option<Rendezvous>)> {
    let given = given_secret(options)?;
    let secret = match &given {
        Some(s) => s.clone(),
        None => crate::exec::process::protocol::new_secret()
            .map_err(|e| Error::new(ErrorKind::Io, "cannot make a job secret").with_source(e))?,
    };
    let wanted = match &rank.leader {
        Some(leader) => leader.clone(),
        None => format!("{}:0", host_name()),
    };
    let at = resolve(&wanted)?;
    let acceptor = transport::listen(&Address::Tcp(at)).map_err(|e| {
        Error::new(
            ErrorKind::Transport,
            format!(
                "{} cannot listen on {wanted} ({at}); set SHOAL_LEADER_ADDR=HOST:PORT to an address of this host",
                rank.describe()
            ),
        )
        .with_source(e)
    })?;
    let address = acceptor.address();
    let published = match &rank.key {
        Some(key) => Some(Rendezvous::publish(key, &address, given.is_none().then_some(secret.as_str()))?),
        None if given.is_none() || rank.leader.is_none() => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{}: the other ranks cannot find this leader: set SHOAL_LEADER_ADDR=HOST:PORT and SHOAL_SECRET \
                     (or SHOAL_JOB to a name of this launch, for a rendezvous file)",
                    rank.describe()
                ),
            ));
        }
        None => None,
    };
    let mut options = options.clone();
    options.processes = options.processes.max(1);
    let within = options.connect_timeout;
    let leader = Leader::with(options, secret, Some(acceptor), Some((rank.size - 1, within)))?;
    Ok((leader, published))
}

/// Any other rank: finds rank 0 (its address and the secret, from the
/// environment or the rendezvous file) and joins it as a worker, retrying
/// until the connect timeout.
///
/// # Errors
/// Rank 0 cannot be reached within `--connect-timeout` (the error names the
/// address tried), or refuses this rank for a reason other than a stale
/// secret.
pub(crate) fn join(rank: &Rank, options: &ProcessOptions, threads: usize) -> Result<(WorkerLink, Helpers)> {
    let given = given_secret(options)?;
    let deadline = Instant::now() + options.connect_timeout;
    let mut last;
    let mut tried = rank.leader.clone().unwrap_or_else(|| "the address in the rendezvous file".into());
    // Ranks start together: rank 0 is usually a few milliseconds away, so
    // look again soon, then less and less often.
    let mut pause = Duration::from_millis(2);
    loop {
        let found = rendezvous_or_env(rank, given.as_deref());
        match found {
            Ok(Some((address, secret, from_file))) => {
                tried = address.to_string();
                let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
                match transport::connect(&address, left.min(Duration::from_secs(5))) {
                    Ok(conn) => {
                        let who = Joining { worker: None, rank: Some(rank.rank), helper: false, threads };
                        match WorkerLink::join(conn, &secret, who, &tried) {
                            Ok(Greeting::Welcome(link)) => {
                                let helpers =
                                    Helpers::start(options.processes.saturating_sub(1), rank.rank, &address, &secret)?;
                                return Ok((link, helpers));
                            }
                            Ok(Greeting::Refused(reason)) if from_file && reason.contains("secret") => {
                                last = format!("refused: {reason} (a rendezvous file of an earlier launch?)");
                            }
                            Ok(Greeting::Refused(reason)) => {
                                return Err(Error::new(
                                    ErrorKind::Transport,
                                    format!("{}: the leader at {tried} refused this rank: {reason}", rank.describe()),
                                ));
                            }
                            Err(e) => last = e.to_string(),
                        }
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            Ok(None) => last = "no rendezvous file yet".into(),
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "{} could not reach the leader (rank 0) at {tried} within {} s: {last}",
                    rank.describe(),
                    options.connect_timeout.as_secs_f64()
                ),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Worker processes a rank other than 0 starts beside itself with
/// `--processes P` (P - 1 of them: the rank is the first), each joining
/// rank 0 over TCP like the rank; they die with the rank.
#[derive(Debug, Default)]
pub(crate) struct Helpers {
    children: Vec<std::process::Child>,
}

impl Helpers {
    fn start(count: usize, rank: usize, address: &Address, secret: &str) -> Result<Helpers> {
        use crate::exec::process::{ENV_LEADER, ENV_LEADER_PID, ENV_RANK_HELPER, ENV_SECRET};
        let mut helpers = Helpers::default();
        if count == 0 {
            return Ok(helpers);
        }
        let exe = std::env::current_exe()
            .map_err(|e| Error::new(ErrorKind::Io, "cannot find this program").with_source(e))?;
        for _ in 0..count {
            let child = std::process::Command::new(&exe)
                .args(std::env::args_os().skip(1))
                .env(ENV_LEADER, address.to_string())
                .env(ENV_SECRET, secret)
                .env(ENV_LEADER_PID, std::process::id().to_string())
                .env(ENV_RANK_HELPER, rank.to_string())
                .stdin(std::process::Stdio::null())
                .spawn()
                .map_err(|e| Error::new(ErrorKind::Io, "cannot start a worker process").with_source(e))?;
            helpers.children.push(child);
        }
        Ok(helpers)
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        // They exit when rank 0 closes their connections; give them a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// The leader's address and the secret: from the environment when it has
/// both, else from the rendezvous file (`None` until rank 0 wrote it).
/// The flag says whether the secret came from the file.
fn rendezvous_or_env(rank: &Rank, given: Option<&str>) -> Result<Option<(Address, String, bool)>> {
    if let (Some(leader), Some(secret)) = (&rank.leader, given) {
        return Ok(Some((Address::Tcp(resolve(leader)?), secret.to_string(), false)));
    }
    let Some(key) = &rank.key else {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{}: cannot find the leader: set SHOAL_LEADER_ADDR=HOST:PORT and SHOAL_SECRET (or SHOAL_JOB, for a \
                 rendezvous file)",
                rank.describe()
            ),
        ));
    };
    let Some(found) = Rendezvous::read(key)? else { return Ok(None) };
    let address = match &rank.leader {
        Some(leader) => Address::Tcp(resolve(leader)?),
        None => found.address,
    };
    match (given, found.secret) {
        (Some(secret), _) => Ok(Some((address, secret.to_string(), false))),
        (None, Some(secret)) => Ok(Some((address, secret, true))),
        (None, None) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "{}: rank 0 was given the secret, this rank was not: set SHOAL_SECRET or --secret-file",
                rank.describe()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn slurm_steps_name_the_rank_and_the_first_node_leads() {
        let vars = env(&[
            ("SLURM_PROCID", "2"),
            ("SLURM_STEP_NUM_TASKS", "4"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_STEP_NODELIST", "node[07-09]"),
            ("SLURM_JOB_ID", "123"),
            ("SLURM_STEP_ID", "0"),
        ]);
        let rank = discover(&vars).unwrap().unwrap();
        assert_eq!((rank.rank, rank.size, rank.launcher), (2, 4, Launcher::Slurm));
        let port = derived_port("123", "0");
        assert!((10_000..30_000).contains(&port));
        assert_eq!(rank.leader.as_deref(), Some(format!("node07:{port}").as_str()));
        assert_eq!(rank.key.as_deref(), Some("slurm-123.0"));
        assert_ne!(port, derived_port("123", "1"));
    }

    #[test]
    fn the_order_is_shoal_slurm_open_mpi_pmi() {
        let all = [
            ("SHOAL_RANK", "1"),
            ("SHOAL_WORLD_SIZE", "3"),
            ("SLURM_PROCID", "0"),
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("OMPI_COMM_WORLD_RANK", "0"),
            ("OMPI_COMM_WORLD_SIZE", "5"),
            ("PMI_RANK", "0"),
            ("PMI_SIZE", "6"),
        ];
        let sizes: Vec<usize> = (0..4).map(|skip| discover(&env(&all[skip * 2..])).unwrap().unwrap().size).collect();
        assert_eq!(sizes, [3, 2, 5, 6]);
        let ompi = discover(&env(&[
            ("OMPI_COMM_WORLD_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "2"),
            ("PMIX_NAMESPACE", "prterun-vm-41@1"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ompi.key.as_deref(), Some("ompi-prterun-vm-41_1"));
    }

    #[test]
    fn one_task_a_batch_script_or_nothing_is_not_a_launch() {
        assert_eq!(discover(&env(&[])).unwrap(), None);
        assert_eq!(discover(&env(&[("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "1")])).unwrap(), None);
        // `sbatch -n 4` runs its script once, with SLURM_NTASKS but no step.
        assert_eq!(discover(&env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "4")])).unwrap(), None);
    }

    #[test]
    fn bad_variables_are_errors() {
        assert!(discover(&env(&[("SHOAL_RANK", "x"), ("SHOAL_WORLD_SIZE", "2")])).is_err());
        assert!(discover(&env(&[("SHOAL_RANK", "2"), ("SHOAL_WORLD_SIZE", "2")])).is_err());
        let vars = env(&[("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "2"), ("SLURM_STEP_NODELIST", "n[1-")]);
        assert!(discover(&vars).is_err());
    }
}

//! Moving bytes between the processes of a job.
//!
//! A [`Transport`] is a byte stream to one peer (Unix socket or TCP) and an
//! [`Acceptor`] waits for peers; [`frame`] cuts the stream into
//! length-prefixed messages. The executor speaks its protocol over these
//! traits only, so workers started by a cluster launcher on other machines
//! join a leader over TCP exactly as local workers do over a Unix socket.

pub(crate) mod bytes;
pub(crate) mod frame;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where a leader listens: `unix:/path/to/socket` or `tcp:host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Address {
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
            Address::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

impl FromStr for Address {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            Ok(Address::Unix(PathBuf::from(path)))
        } else if let Some(addr) = s.strip_prefix("tcp:") {
            addr.parse().map(Address::Tcp).map_err(|e| format!("bad TCP address `{addr}`: {e}"))
        } else {
            Err(format!("`{s}`: expected unix:PATH or tcp:HOST:PORT"))
        }
    }
}

/// A byte stream to one peer.
pub(crate) trait Transport: Read + Write + Send + 'static {
    /// A second handle to the same stream (one reads, one writes).
    fn try_clone_box(&self) -> io::Result<Box<dyn Transport>>;
    /// Closes both directions; the peer reads end of file.
    fn shutdown(&self) -> io::Result<()>;
    /// Bounds how long a read may block (`None`: forever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Who is at the other end, for messages (`a local process` for a
    /// Unix socket).
    fn peer(&self) -> String;
}

impl Transport for UnixStream {
    fn try_clone_box(&self) -> io::Result<Box<dyn Transport>> {
        Ok(Box::new(self.try_clone()?))
    }

    fn shutdown(&self) -> io::Result<()> {
        UnixStream::shutdown(self, std::net::Shutdown::Both)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }

    fn peer(&self) -> String {
        "a local process".into()
    }
}

impl Transport for TcpStream {
    fn try_clone_box(&self) -> io::Result<Box<dyn Transport>> {
        Ok(Box::new(self.try_clone()?))
    }

    fn shutdown(&self) -> io::Result<()> {
        TcpStream::shutdown(self, std::net::Shutdown::Both)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn peer(&self) -> String {
        self.peer_addr().map_or_else(|_| "an unknown address".into(), |a| a.to_string())
    }
}

/// Waits for peers to connect.
pub(crate) trait Acceptor: Send + 'static {
    /// The next peer.
    fn accept(&self) -> io::Result<Box<dyn Transport>>;
    /// Where peers should connect.
    fn address(&self) -> Address;
}

struct UnixAcceptor {
    listener: UnixListener,
    path: PathBuf,
}

impl Acceptor for UnixAcceptor {
    fn accept(&self) -> io::Result<Box<dyn Transport>> {
        let (stream, _) = self.listener.accept()?;
        Ok(Box::new(stream))
    }

    fn address(&self) -> Address {
        Address::Unix(self.path.clone())
    }
}

struct TcpAcceptor {
    listener: TcpListener,
}

impl Acceptor for TcpAcceptor {
    fn accept(&self) -> io::Result<Box<dyn Transport>> {
        let (stream, _) = self.listener.accept()?;
        tune_tcp(&stream)?;
        Ok(Box::new(stream))
    }

    fn address(&self) -> Address {
        self.listener.local_addr().map_or_else(|_| Address::Tcp(([0, 0, 0, 0], 0).into()), Address::Tcp)
    }
}

/// Listens at `address` (a TCP port 0 picks a free port).
pub(crate) fn listen(address: &Address) -> io::Result<Box<dyn Acceptor>> {
    Ok(match address {
        Address::Unix(path) => Box::new(UnixAcceptor { listener: UnixListener::bind(path)?, path: path.clone() }),
        Address::Tcp(addr) => Box::new(TcpAcceptor { listener: TcpListener::bind(addr)? }),
    })
}

/// Connects to a leader at `address`, giving up on a TCP connection after
/// `timeout`.
pub(crate) fn connect(address: &Address, timeout: Duration) -> io::Result<Box<dyn Transport>> {
    Ok(match address {
        Address::Unix(path) => Box::new(UnixStream::connect(path)?),
        Address::Tcp(addr) => {
            let stream = TcpStream::connect_timeout(addr, timeout)?;
            tune_tcp(&stream)?;
            Box::new(stream)
        }
    })
}

/// Small messages go out at once (no Nagle delay), and a peer whose machine
/// vanished (no FIN ever comes) is noticed by the kernel within about
/// [`KEEPALIVE_IDLE`] plus [`KEEPALIVE_PROBES`] probes a second apart, so
/// neither a leader nor a rank waits forever on a dead host.
fn tune_tcp(stream: &TcpStream) -> io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    stream.set_nodelay(true)?;
    let tune = || -> nix::Result<()> {
        setsockopt(stream, sockopt::KeepAlive, &true)?;
        setsockopt(stream, sockopt::TcpKeepIdle, &KEEPALIVE_IDLE)?;
        setsockopt(stream, sockopt::TcpKeepInterval, &1)?;
        setsockopt(stream, sockopt::TcpKeepCount, &KEEPALIVE_PROBES)?;
        Ok(())
    };
    tune().map_err(io::Error::from)
}

/// Seconds of silence before the kernel probes a TCP peer.
const KEEPALIVE_IDLE: u32 = 3;
/// Unanswered probes before the connection counts as broken.
const KEEPALIVE_PROBES: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in ["unix:/tmp/x.sock", "tcp:127.0.0.1:4000"] {
            assert_eq!(s.parse::<Address>().unwrap().to_string(), s);
        }
        assert!("udp:1".parse::<Address>().is_err());
    }

    #[test]
    fn frames_cross_unix_and_tcp() {
        let dir = tempfile::tempdir().unwrap();
        for addr in [Address::Unix(dir.path().join("s")), Address::Tcp(([127, 0, 0, 1], 0).into())] {
            let acceptor = listen(&addr).unwrap();
            let target = acceptor.address();
            let t = std::thread::spawn(move || {
                let mut peer = acceptor.accept().unwrap();
                let got = frame::read_frame(&mut peer, frame::MAX_FRAME).unwrap();
                frame::write_frame(&mut peer, b"pong").unwrap();
                got
            });
            let mut conn = connect(&target, Duration::from_secs(5)).unwrap();
            frame::write_frame(&mut conn, b"ping").unwrap();
            assert_eq!(frame::read_frame(&mut conn, frame::MAX_FRAME).unwrap().as_deref(), Some(&b"pong"[..]));
            assert_eq!(t.join().unwrap().as_deref(), Some(&b"ping"[..]));
        }
    }
}

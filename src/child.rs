//! The requested node as a child process (`evx serve`), for the demo and the benchmark: a node
//! of its own, as in a deployment, whose memory can be measured apart.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The requested node, run as a child process. Dropping it closes the node's standard input,
/// which stops it after the exchanges in flight; if it has not exited in 10 s it is killed.
pub(crate) struct ChildNode {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Where it listens.
    pub(crate) address: std::net::SocketAddr,
}

impl ChildNode {
    /// Starts `evx serve` on `config` on a free loopback port; its errors go to `log`.
    pub(crate) fn start(config: &Path, log: &Path) -> Result<Self, Error> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--until-stdin-closes"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log)?))
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or("the node's output is not readable")?;
        let mut node = Self {
            child,
            stdin,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        let address = first
            .split(" listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                format!(
                    "the requested node did not start (see {}): {}",
                    log.display(),
                    first.trim()
                )
            })?;
        node.address = address;
        // Drain the rest of its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.lines() {});
        Ok(node)
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it after the exchanges in flight (killed after 10 s).
    pub(crate) fn stop(mut self) -> Result<std::process::ExitStatus, Error> {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                return Ok(self.child.wait()?);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        self.stdin = None;
        if matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(200));
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

//! Containers of the built image in a test daemon, removed (with their
//! state volumes) when the test ends, also on failure.

use std::time::{Duration, Instant};

use super::harness::{Daemon, try_run};

/// One container of the image, as RouterOS runs it: the image's own
/// ENTRYPOINT and CMD, kernel TUN, state on a volume.
pub struct Node<'d> {
    daemon: &'d Daemon,
    /// The container's name: `mtts-e2e-<hostname>`.
    pub name: String,
    /// Its host name, and so its tailnet node name.
    pub hostname: String,
    volume: String,
}

/// How to start a node.
#[derive(Default)]
pub struct NodeOptions<'a> {
    /// Writable /proc/sys (the entrypoint can turn forwarding on).
    pub privileged: bool,
    pub env: Vec<(&'a str, &'a str)>,
}

impl<'d> Node<'d> {
    /// Starts `image` as host `hostname` (any leftover container of that
    /// name is removed first).
    pub fn start(daemon: &'d Daemon, hostname: &str, image: &str, opts: &NodeOptions) -> Node<'d> {
        let name = format!("mtts-e2e-{hostname}");
        let node = Node {
            daemon,
            volume: format!("{name}-state"),
            name: name.clone(),
            hostname: hostname.to_string(),
        };
        node.remove();
        let mut cmd = daemon.docker();
        cmd.args(["run", "-d", "--name", &name, "--hostname", hostname])
            .args(["--device", "/dev/net/tun", "--cap-add", "NET_ADMIN"])
            .args(["-v", &format!("{}:/var/lib/tailscale", node.volume)]);
        if opts.privileged {
            cmd.arg("--privileged");
        }
        for (k, v) in &opts.env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        cmd.arg(image);
        let (ok, out) = try_run(&mut cmd);
        assert!(ok, "starting {name}: {out}");
        node.wait_for(
            "tailscaled answering on its socket",
            Duration::from_secs(60),
            |n| {
                let (_, out) = n.exec(&["tailscale", "status"]);
                out.contains("Logged out") || out.contains("NeedsLogin") || out.contains("100.")
            },
        );
        node
    }

    /// Runs a command in the node: (success, stdout + stderr).
    pub fn exec(&self, argv: &[&str]) -> (bool, String) {
        let mut cmd = self.daemon.docker();
        cmd.args(["exec", &self.name]).args(argv);
        try_run(&mut cmd)
    }

    /// Runs a command that must succeed; its output.
    pub fn must(&self, what: &str, argv: &[&str]) -> String {
        let (ok, out) = self.exec(argv);
        assert!(
            ok,
            "{}: {what}: `{}` failed:\n{out}\n-- its log:\n{}",
            self.name,
            argv.join(" "),
            self.log_tail()
        );
        out
    }

    /// The container's whole log (tailscaled's stderr).
    pub fn log(&self) -> String {
        let mut cmd = self.daemon.docker();
        cmd.args(["logs", &self.name]);
        try_run(&mut cmd).1
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn running(&self) -> bool {
        let mut cmd = self.daemon.docker();
        cmd.args(["inspect", "-f", "{{.State.Running}}", &self.name]);
        try_run(&mut cmd).1.trim() == "true"
    }

    pub fn restart(&self) {
        let mut cmd = self.daemon.docker();
        cmd.args(["restart", &self.name]);
        let (ok, out) = try_run(&mut cmd);
        assert!(ok, "restarting {}: {out}", self.name);
    }

    /// Waits until `check` holds; fails naming `what` with the log tail.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&Node) -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "{}: gave up waiting for {what} after {} s\n-- its log:\n{}",
            self.name,
            limit.as_secs(),
            self.log_tail()
        );
    }

    fn remove(&self) {
        let _ = self.daemon.docker().args(["rm", "-f", &self.name]).output();
        let _ = self
            .daemon
            .docker()
            .args(["volume", "rm", "-f", &self.volume])
            .output();
    }
}

impl Drop for Node<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}

//! The built amd64 image joins a real tailnet, for the pinned Tailscale and
//! for the next one (`tests/e2e/fixtures/next-tailscale.toml`): headscale (with its embedded
//! DERP relay and MagicDNS) on the test bridge, and containers of the image
//! as RouterOS runs them. Each assertion names the feature it proves; the
//! negative control shows the MagicDNS canary failing without `netstack`,
//! for the reason the original project found on a device.
//!
//! Its own test target (it needs headscale, which `scripts/test` builds in
//! the background): `scripts/test` runs it after the other end-to-end tests,
//! `scripts/test --tailnet` alone.

#[allow(dead_code)]
mod containers;
#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod progress;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use containers::{Node, NodeOptions};
use harness::{Daemon, env, root, stub};

fn headscale_script() -> PathBuf {
    root().join("tests/e2e/fixtures/headscale.sh")
}

/// A fresh headscale on the bridge, stopped when dropped (also on failure).
struct Headscale {
    url: String,
    key: String,
    domain: String,
    tailscaled_env: String,
}

impl Headscale {
    fn start(addr: &str) -> Headscale {
        let started = Command::new(headscale_script())
            .args(["start", addr])
            .output()
            .unwrap_or_else(|e| panic!("headscale.sh: {e}"));
        if !started.status.success() {
            let _ = Command::new(headscale_script()).arg("stop").output();
            panic!(
                "starting headscale on {addr}:\n{}{}",
                String::from_utf8_lossy(&started.stdout),
                String::from_utf8_lossy(&started.stderr)
            );
        }
        let vars: Vec<(String, String)> = headscale(&["env"])
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Headscale {
            url: get("MTTS_E2E_HEADSCALE_URL"),
            key: get("MTTS_E2E_HEADSCALE_AUTHKEY"),
            domain: get("MTTS_E2E_TAILNET_DOMAIN"),
            tailscaled_env: get("MTTS_E2E_TAILSCALED_ENV"),
        }
    }

    /// The tailnet's nodes, as headscale lists them.
    fn nodes(&self) -> Vec<serde_json::Value> {
        let text = headscale(&["nodes"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("headscale nodes: {e}: {text}"))
    }

    /// The node with that hostname (or given name).
    fn node(&self, name: &str) -> serde_json::Value {
        let nodes = self.nodes();
        nodes
            .iter()
            .find(|n| n["name"] == name || n["given_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("headscale has no node {name}: {nodes:?}"))
    }

    /// A node's tailnet IPv4 address.
    fn ip(&self, name: &str) -> String {
        let node = self.node(name);
        node["ip_addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .find(|a| !a.contains(':'))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{name} has no IPv4 address: {node}"))
    }

    /// Waits (60 s at most) until headscale sees every named node online.
    /// A peer's own netmap can lag behind by a second or two: retry the
    /// first `tailscale ping`.
    fn wait_online(&self, names: &[&str]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let nodes = self.nodes();
            let online = |name: &&str| {
                nodes
                    .iter()
                    .any(|n| n["given_name"] == **name && n["online"] == true)
            };
            if names.iter().all(online) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not online after 60 s: {names:?}: {nodes:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Approves the routes (`ROUTE[,ROUTE...]`; an exit node's are
    /// 0.0.0.0/0,::/0) a node advertises; none revokes them all.
    fn approve_routes(&self, name: &str, routes: &str) {
        let id = match &self.node(name)["id"] {
            serde_json::Value::String(id) => id.clone(),
            id => id.to_string(),
        };
        headscale(&[
            "exec",
            "nodes",
            "approve-routes",
            "--identifier",
            &id,
            "--routes",
            routes,
        ]);
    }
}

impl Drop for Headscale {
    fn drop(&mut self) {
        let _ = Command::new(headscale_script()).arg("stop").output();
    }
}

fn headscale(args: &[&str]) -> String {
    let out = Command::new(headscale_script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("headscale.sh: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "headscale.sh {}: {text}",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

impl Node<'_> {
    fn up(&self, control: &Headscale) {
        self.must(
            "tailscale up with a pre-auth key",
            &[
                "tailscale",
                "up",
                "--login-server",
                &control.url,
                "--auth-key",
                &control.key,
                "--hostname",
                &self.hostname,
                "--timeout",
                "60s",
            ],
        );
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn amd64_image_joins_a_real_tailnet() {
    joins_a_real_tailnet(&Daemon::today(), "amd64");
}

/// The next Tailscale bump (tests/e2e/fixtures/next-tailscale.toml), before
/// it lands: everything the pinned version does, and the same negative
/// control (MagicDNS is still served only through netstack).
#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn next_tailscale_joins_a_real_tailnet() {
    joins_a_real_tailnet(&Daemon::next_tailscale(), "next");
}

/// The amd64 image of `daemon`'s recipe, tagged `mtts-e2e-image:{tag}`,
/// on a tailnet of its own.
fn joins_a_real_tailnet(daemon: &Daemon, tag: &str) {
    let image = format!("mtts-e2e-image:{tag}");
    let image = image.as_str();
    daemon.load(&daemon.real_stub("Dockerfile"), image);
    let control = Headscale::start(&env("MTTS_E2E_BRIDGE_ADDR"));
    let derp_env: Vec<(&str, &str)> = control
        .tailscaled_env
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();

    // a: /proc/sys writable, as on RouterOS; b: read-only, as in a plain
    // docker run.
    let a = Node::start(
        daemon,
        "a",
        image,
        &NodeOptions {
            privileged: true,
            env: derp_env.clone(),
        },
    );
    let b = Node::start(
        daemon,
        "b",
        image,
        &NodeOptions {
            privileged: false,
            env: derp_env.clone(),
        },
    );
    assert_eq!(
        a.must(
            "reading ip_forward",
            &["cat", "/proc/sys/net/ipv4/ip_forward"]
        )
        .trim(),
        "1",
        "entrypoint: IPv4 forwarding on where /proc/sys is writable"
    );
    assert!(
        b.log().contains("entrypoint: cannot enable forwarding") && b.running(),
        "entrypoint: warns without failing where /proc/sys is read-only:\n{}",
        b.log_tail()
    );

    a.up(&control);
    b.up(&control);
    control.wait_online(&["a", "b"]);
    let (a_ip, b_ip) = (control.ip("a"), control.ip("b"));
    assert!(
        a.must("status", &["tailscale", "status"]).contains(&b_ip),
        "a's tailscale status lists b (health, ipnbus)"
    );
    assert!(
        b.must("status", &["tailscale", "status"]).contains(&a_ip),
        "b's tailscale status lists a"
    );
    a.wait_for(
        "a pong from b (tailscale ping)",
        Duration::from_secs(30),
        |n| {
            n.exec(&["tailscale", "ping", "-c", "1", "--timeout", "3s", "b"])
                .1
                .contains("pong")
        },
    );
    a.must(
        "busybox ping to b's tailnet address over the kernel TUN (osrouter)",
        &["ping", "-c", "2", "-W", "3", &b_ip],
    );

    // The MagicDNS canary: only netstack answers on 100.100.100.100.
    let fqdn = format!("b.{}", control.domain);
    let answer = a.must(
        "nslookup through MagicDNS (netstack, dns)",
        &["nslookup", &fqdn, "100.100.100.100"],
    );
    assert!(
        answer.contains(&b_ip),
        "MagicDNS canary (netstack, dns): {fqdn} should resolve to {b_ip}:\n{answer}"
    );

    // The verbosity filter: quiet by default, [v1] lines with the knob.
    let verbose = |log: &str| {
        log.lines()
            .any(|l| l.contains("[v1]") || l.contains("[v2]"))
    };
    assert!(
        !verbose(&a.log()),
        "verbosity filter: no [v1]/[v2] lines by default:\n{}",
        a.log_tail()
    );
    let mut c_env = derp_env.clone();
    c_env.push(("TS_LOG_VERBOSITY", "1"));
    let c = Node::start(
        daemon,
        "c",
        image,
        &NodeOptions {
            privileged: false,
            env: c_env,
        },
    );

    // tailscale up without a key prints the login URL (ipnbus) and joins
    // once the node is registered.
    c.must(
        "starting tailscale up without a key",
        &[
            "sh",
            "-c",
            &format!(
                "mkdir -p /tmp && tailscale up --login-server {} --hostname c >/tmp/up.log 2>&1 &",
                control.url
            ),
        ],
    );
    c.wait_for(
        "the login URL from tailscale up (ipnbus)",
        Duration::from_secs(30),
        |n| n.exec(&["cat", "/tmp/up.log"]).1.contains("/register/"),
    );
    let up_log = c.must("reading the up log", &["cat", "/tmp/up.log"]);
    let url = up_log
        .split_whitespace()
        .find(|w| w.contains("/register/"))
        .unwrap_or_default()
        .to_string();
    headscale(&["register", &url]);
    control.wait_online(&["c"]);
    c.wait_for(
        "c joined after registration",
        Duration::from_secs(30),
        |n| n.exec(&["tailscale", "status"]).1.contains(&a_ip),
    );
    assert!(
        verbose(&c.log()),
        "verbosity filter: TS_LOG_VERBOSITY=1 brings [v1] lines back:\n{}",
        c.log_tail()
    );
    drop(c);

    // A subnet route advertised by a, approved, reaches b.
    let subnet = "192.0.2.0/24"; // TEST-NET-1: a route, never contacted
    a.must(
        "advertising a subnet route (advertiseroutes)",
        &["tailscale", "set", &format!("--advertise-routes={subnet}")],
    );
    control.approve_routes("a", subnet);
    b.must(
        "accepting routes (useroutes)",
        &["tailscale", "set", "--accept-routes"],
    );
    b.wait_for(
        "a's subnet route offered to b (advertiseroutes, useroutes)",
        Duration::from_secs(30),
        |n| {
            n.exec(&["tailscale", "status", "--json"])
                .1
                .contains("\"192.0.2.0/24\"")
        },
    );

    // a is an exit node and b uses it; both keep running.
    a.must(
        "advertising an exit node (advertiseexitnode)",
        &[
            "tailscale",
            "set",
            "--advertise-exit-node",
            &format!("--advertise-routes={subnet}"),
        ],
    );
    control.approve_routes("a", &format!("{subnet},0.0.0.0/0,::/0"));
    b.wait_for("a offered as an exit node", Duration::from_secs(30), |n| {
        n.exec(&["tailscale", "exit-node", "list"])
            .1
            .contains(&a_ip)
    });
    b.must(
        "using a as exit node (useexitnode)",
        &[
            "tailscale",
            "set",
            &format!("--exit-node={a_ip}"),
            "--exit-node-allow-lan-access",
        ],
    );
    b.wait_for(
        "b using a as its exit node (useexitnode)",
        Duration::from_secs(30),
        |n| {
            n.exec(&["tailscale", "status", "--json"])
                .1
                .contains("\"ExitNodeStatus\"")
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    for n in [&a, &b] {
        assert!(
            n.running() && !n.log().contains("panic"),
            "{}: tailscaled keeps running with an exit node (netstack): no panic:\n{}",
            n.name,
            n.log_tail()
        );
    }

    // Restarting keeps the identity, from the state volume alone.
    b.must(
        "leaving the exit node",
        &["tailscale", "set", "--exit-node="],
    );
    b.restart();
    b.wait_for(
        "b back on the tailnet with its old address, no new login",
        Duration::from_secs(60),
        |n| n.exec(&["tailscale", "ip", "-4"]).1.trim() == b_ip,
    );
    let state = b.must(
        "listing the state directory",
        &["ls", "-a", "/var/lib/tailscale"],
    );
    assert!(
        state.lines().any(|l| l == "tailscaled.state"),
        "state: tailscaled.state on the volume:\n{state}"
    );
    let (_, cache) = b.exec(&["find", "/var/lib/tailscale", "-path", "*netmap*"]);
    assert!(
        cache.trim().is_empty(),
        "no netmap cache on flash (cachenetmap omitted):\n{cache}"
    );

    // The negative control: without netstack, everything still joins but
    // the canary fails.
    // gro depends on netstack: featuretags would pull netstack back in.
    let mut features = daemon.recipe().tailscale.features;
    features.retain(|f| f != "netstack" && f != "gro");
    let without = daemon.real_recipe_with(&[(
        "tailscale",
        &format!("features = {}", crate::harness::toml_list(&features)),
    )]);
    let without_stub = stub(&format!("Dockerfile.no-netstack-{tag}"), &without);
    let without_image = format!("mtts-e2e-image:{tag}-no-netstack");
    let (build, tags) = daemon.tags(&without_stub, &format!("tags-no-netstack-{tag}"));
    build.assert_ok("resolving the negative control's tags");
    assert!(
        tags.trim().split(',').any(|t| t == "ts_omit_netstack"),
        "the negative control must really omit netstack: {tags}"
    );
    daemon.load(&without_stub, &without_image);
    let d = Node::start(
        daemon,
        "d",
        &without_image,
        &NodeOptions {
            privileged: false,
            env: derp_env,
        },
    );
    d.up(&control);
    control.wait_online(&["d"]);
    d.wait_for(
        "d lists a (it joins without netstack)",
        Duration::from_secs(30),
        |n| n.exec(&["tailscale", "status"]).1.contains(&a_ip),
    );
    let (_, answer) = d.exec(&[
        "nslookup",
        &format!("a.{}", control.domain),
        "100.100.100.100",
    ]);
    eprintln!("e2e: negative control, nslookup without netstack:\n{answer}");
    assert!(
        !answer.contains(&a_ip),
        "without netstack the MagicDNS canary must fail, as the original project found; it answered:\n{answer}"
    );
}

//! A private fork of Tailscale (`tailscale.repository`), fetched the way the
//! Dockerfile frontend's git sources fetch one: over https with the
//! `GIT_AUTH_TOKEN` secret, over ssh through the client's agent
//! (`--ssh default`) with the recipe's `tailscale.known_hosts`. The fork is
//! the served Tailscale repository behind git's own git-http-backend with a
//! token demanded by busybox httpd, and behind Debian's sshd taking only a
//! key this test's ssh agent holds (`tests/e2e/fixtures/sources.sh`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{Build, Daemon, env, out_dir, run, stub};
use mtts_frontend::recipe::step;

/// The recipe over the served sources, with `repository` as the fork (and
/// `extra` lines in `[tailscale]`).
fn fork_stub(daemon: &Daemon, name: &str, repository: &str, extra: &[&str]) -> PathBuf {
    let repository = format!("repository = \"{repository}\"");
    let mut lines = vec![("tailscale", repository.as_str())];
    lines.extend(extra.iter().map(|l| ("tailscale", *l)));
    stub(name, &daemon.real_recipe_with(&lines))
}

/// The tags target of `dockerfile` (the source, its modules and the tags:
/// everything the fork feeds), with `extra` flags.
fn build_tags(daemon: &Daemon, dockerfile: &Path, extra: &[&str]) -> Build {
    let mut args = vec!["--target", "tags"];
    args.extend(extra);
    daemon.buildx(dockerfile, &args)
}

/// What the server log `var` gained while `build` ran.
fn served_during(var: &str, build: impl FnOnce()) -> String {
    let log = PathBuf::from(env(var));
    let before = std::fs::read(&log).map(|b| b.len()).unwrap_or(0);
    build();
    let after = std::fs::read(&log).unwrap_or_default();
    String::from_utf8_lossy(after.get(before..).unwrap_or_default()).into_owned()
}

/// An ssh agent of the test's own, holding the fork's key; stopped when
/// dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start() -> Agent {
        let dir = out_dir("private/agent");
        let socket = dir.join("agent.sock");
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("ssh-agent: {e}"));
        for _ in 0..50 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        run(Command::new("ssh-add")
            .env("SSH_AUTH_SOCK", &socket)
            .arg(env("MTTS_E2E_PRIVATE_SSH_KEY")));
        Agent { child, socket }
    }

    /// buildx's flag forwarding this agent.
    fn flag(&self) -> String {
        format!("default={}", self.socket.display())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file of the OCI archive `tar` (gzip layers unpacked) as text, to
/// look for a string anywhere in what was exported.
fn archive_text(tar: &Path) -> String {
    use std::io::Read;
    let file = std::fs::File::open(tar).unwrap_or_else(|e| panic!("{}: {e}", tar.display()));
    let mut archive = tar::Archive::new(file);
    let mut text = String::new();
    for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        text.push_str(&String::from_utf8_lossy(&bytes));
        let mut unpacked = Vec::new();
        if flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut unpacked)
            .is_ok()
        {
            text.push_str(&String::from_utf8_lossy(&unpacked));
        }
    }
    text
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_private_fork_over_https_is_fetched_with_the_token_secret_and_never_shows_it() {
    let daemon = Daemon::today();
    let url = env("MTTS_E2E_PRIVATE_HTTP_URL");
    let token_file = env("MTTS_E2E_PRIVATE_TOKEN_FILE");
    let token = std::fs::read_to_string(&token_file).unwrap_or_else(|e| panic!("{e}"));
    let token = token.trim();
    assert!(token.len() >= 32, "the fixture's token");
    let dockerfile = fork_stub(&daemon, "Dockerfile.private-https", &url, &[]);

    // Without the secret: the clone is refused, and the step says which
    // key and which flag.
    let refused = build_tags(&daemon, &dockerfile, &[]);
    refused
        .expect_failure(&["tailscale.repository; a private one needs --secret id=GIT_AUTH_TOKEN"]);

    // With it: the build goes through, with provenance (mode=max: the
    // whole graph and the recipe as its source) exported beside the result.
    let archive = out_dir("private").join("https.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let secret = format!("id=GIT_AUTH_TOKEN,src={token_file}");
    let output = format!("type=oci,dest={}", archive.display());
    let mut log = String::new();
    let served = served_during("MTTS_E2E_PRIVATE_HTTP_LOG", || {
        let built = build_tags(
            &daemon,
            &dockerfile,
            &[
                "--secret",
                &secret,
                "--provenance=mode=max",
                "--output",
                &output,
            ],
        );
        built.assert_ok("the private fork over https with GIT_AUTH_TOKEN");
        log = built.log();
    });
    // Past the token check: git's smart HTTP answered the clone.
    assert!(
        served.contains("/tailscale.git/git-upload-pack"),
        "the fork's server was asked:\n{served}"
    );
    assert!(
        log.contains(step::FEATURETAGS_STEP),
        "the fork fed the tags step:\n{log}"
    );

    // The token is nowhere: not in the log, the result, the provenance
    // (whose graph names the secret, never its value).
    let exported = archive_text(&archive);
    for (what, text) in [("the build log", log.as_str()), ("the export", &exported)] {
        assert!(!text.contains(token), "the token is in {what}");
    }
    assert!(
        exported.contains("GIT_AUTH_TOKEN") && exported.contains("https://slsa.dev/provenance"),
        "the provenance names the secret it used"
    );
    // The recipe is the build's source in the provenance (its source map:
    // the stub, and the built-in recipe for the keys the stub leaves).
    assert!(
        exported.contains(mtts_frontend::recipe::BUILTIN_FILE_NAME),
        "the provenance shows the recipe files"
    );
    eprintln!(
        "e2e: private fork over https: refused without the secret, fetched with it, token in no output"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_private_fork_over_ssh_is_fetched_through_the_agent_and_checks_known_hosts() {
    let daemon = Daemon::today();
    let url = env("MTTS_E2E_PRIVATE_SSH_URL");
    let known = env("MTTS_E2E_PRIVATE_KNOWN_HOSTS");
    let agent = Agent::start();
    let ssh = agent.flag();

    // Without the agent: refused, saying the key and the flag.
    let plain = fork_stub(&daemon, "Dockerfile.private-ssh", &url, &[]);
    build_tags(&daemon, &plain, &[])
        .expect_failure(&["tailscale.repository; a private one needs --ssh default"]);
    // With it: the server took the agent's key.
    let served = served_during("MTTS_E2E_PRIVATE_SSH_LOG", || {
        build_tags(&daemon, &plain, &["--ssh", &ssh]).assert_ok("the private fork over ssh");
    });
    assert!(
        served.contains("Accepted publickey for root"),
        "sshd took the agent's key:\n{served}"
    );

    // With the recipe's known_hosts: the server's key passes, another
    // key is refused.
    let pinned = format!("known_hosts = \"{known}\"");
    let checked = fork_stub(&daemon, "Dockerfile.private-ssh-known", &url, &[&pinned]);
    build_tags(&daemon, &checked, &["--ssh", &ssh]).assert_ok("known_hosts with the server's key");
    let (host, _) = known.split_once(' ').unwrap_or_default();
    let stranger = format!(
        "known_hosts = \"{host} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBHdjXZCeqbATuvKBnnV0lTMkHVf6tTDM3L7KdcByAr+\""
    );
    let wrong = fork_stub(&daemon, "Dockerfile.private-ssh-wrong", &url, &[&stranger]);
    build_tags(&daemon, &wrong, &["--ssh", &ssh]).expect_failure(&["tailscale.repository"]);
    eprintln!(
        "e2e: private fork over ssh: refused without --ssh, fetched with it, known_hosts enforced"
    );
}

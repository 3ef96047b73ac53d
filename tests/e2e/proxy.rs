//! A build behind a forward proxy: the proxy build arguments reach the steps
//! that download, as they do a Dockerfile's `RUN`s. The proxy is Debian's
//! squid on docker 28's bridge; the module proxy is named by the build
//! container's own host name, `buildkitsandbox`: inside the step it is
//! the container's loopback (BuildKit's /etc/hosts), where nothing listens,
//! and only squid (its own hosts file) resolves it to the httpd. A step
//! that connected directly fails at once; a name no one resolves would
//! not do, as DNS from a build container here times out rather than fails.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::harness::{Build, Daemon, env, out_dir, run};
use crate::progress;
use mtts_frontend::recipe::step::MOD_DOWNLOAD_STEP;

/// A squid started for one test, stopped (by its pid) when dropped.
struct Squid {
    child: Child,
    dir: PathBuf,
    /// Lines of the access log that are not requests (the readiness probe).
    probes: usize,
    /// `http://ADDR:PORT`, what a build gets as HTTP_PROXY.
    url: String,
}

impl Squid {
    /// Starts squid on `addr` (a free port), resolving `hosts` by itself.
    fn start(addr: &str, hosts: &[(&str, &str)]) -> Squid {
        let dir = out_dir("squid");
        let _ = std::fs::remove_file(dir.join("access.log"));
        let port = TcpListener::bind((addr, 0))
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("no free port on {addr}: {e}"))
            .port();
        let hosts: String = hosts
            .iter()
            .map(|(ip, name)| format!("{ip} {name}\n"))
            .collect();
        std::fs::write(dir.join("hosts"), hosts).unwrap_or_else(|e| panic!("{e}"));
        let d = dir.display();
        // No cache: every request reaches the origin and is logged as such.
        let conf = format!(
            "http_port {addr}:{port}\n\
             pid_filename {d}/squid.pid\n\
             access_log stdio:{d}/access.log\n\
             cache_log {d}/cache.log\n\
             coredump_dir {d}\n\
             hosts_file {d}/hosts\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             visible_hostname mtts-e2e-proxy\n\
             http_access allow all\n\
             shutdown_lifetime 1 seconds\n"
        );
        std::fs::write(dir.join("squid.conf"), conf).unwrap_or_else(|e| panic!("{e}"));
        // Squid started as root works as Debian's `proxy` user.
        run(Command::new("chown").args(["-R", "proxy:proxy"]).arg(&dir));
        let child = Command::new("/usr/sbin/squid")
            .args(["-N", "-f"])
            .arg(dir.join("squid.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting squid (scripts/test installs it): {e}"));
        let mut squid = Squid {
            child,
            probes: 0,
            url: format!("http://{addr}:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((addr, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "squid did not listen on {addr}:{port} in 30 s:\n{}",
                std::fs::read_to_string(squid.dir.join("cache.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // The probe's connection is logged (as an empty transaction) when
        // it closes; wait for the line rather than guess.
        while squid.access_log().lines().count() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        squid.probes = squid.access_log().lines().count();
        squid
    }

    fn access_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        log.lines()
            .skip(self.probes)
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A link in the httpd's directory, removed when dropped.
struct ServedLink {
    name: String,
    path: PathBuf,
}

impl ServedLink {
    fn new(target: &str, name: &str) -> ServedLink {
        let path = PathBuf::from(env("MTTS_E2E_SERVED_WWW_DIR")).join(name);
        std::os::unix::fs::symlink(target, &path)
            .unwrap_or_else(|e| panic!("linking {}: {e}", path.display()));
        ServedLink {
            name: name.to_string(),
            path,
        }
    }
}

impl Drop for ServedLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn the_proxy_build_arguments_carry_the_downloads() {
    let daemon = Daemon::today();
    // The module proxy the other tests reach directly: http://ADDR:PORT/PATH.
    let (addr, port, path) = daemon
        .goproxy
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(host, path)| {
            let (addr, port) = host.rsplit_once(':')?;
            Some((addr, port, path))
        })
        .unwrap_or_else(|| panic!("unexpected module proxy URL {}", daemon.goproxy));
    // A new path each run (a link to the module tree): the download's cache
    // key holds GOPROXY, so a build behind the proxy from an earlier run
    // cannot stand in for this one's.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let link = ServedLink::new(path, &format!("{path}-proxy-{nonce}"));
    let name = "buildkitsandbox";
    let goproxy = format!("http://{name}:{port}/{}", link.name);
    let path = link.name.as_str();
    let squid = Squid::start(addr, &[(addr, name)]);
    let stub = daemon.real_stub("Dockerfile");
    let tags = |dir: &str, extra: &[&str]| -> Build {
        let dest = format!("type=local,dest={}", out_dir(dir).display());
        let goproxy = format!("GOPROXY={goproxy}");
        let mut args = vec![
            "--target",
            "tags",
            "--output",
            &dest,
            "--build-arg",
            &goproxy,
        ];
        args.extend(extra.iter().copied());
        daemon.buildx(&stub, &args)
    };

    // No proxy given: the module proxy is out of the step's reach, and the
    // error says which step and which host.
    tags("proxy-none", &[]).expect_failure(&[MOD_DOWNLOAD_STEP, name, "connection refused"]);
    assert_eq!(squid.access_log(), "", "nothing asked the proxy");

    // Given (in both cases, as buildx passes a docker client's proxy
    // settings): every module comes through squid.
    let http_proxy = format!("HTTP_PROXY={}", squid.url);
    let https_proxy = format!("https_proxy={}", squid.url);
    let proxied = tags(
        "proxy-through",
        &[
            "--build-arg",
            &http_proxy,
            "--build-arg",
            &https_proxy,
            "--build-arg",
            "no_proxy=localhost",
        ],
    );
    proxied.assert_ok("the tags target behind the proxy");
    let log = squid.access_log();
    let origin = format!(" GET http://{name}:{port}/{path}/");
    let gets: Vec<&str> = log.lines().filter(|l| l.contains(&origin)).collect();
    assert!(
        gets.iter().any(|l| l.contains(".zip ")) && gets.iter().any(|l| l.contains(".mod ")),
        "no module downloads in squid's log:\n{log}"
    );
    assert_eq!(
        gets.len(),
        log.lines().count(),
        "squid was asked for nothing but modules:\n{log}"
    );
    assert!(
        gets.iter().all(|l| l.contains("/200 ")),
        "every module came:\n{log}"
    );
    eprintln!("squid served {} module requests", gets.len());

    // The proxy is no part of the cache key (as in the Dockerfile frontend):
    // the same build without it reuses the download made through it.
    let again = tags("proxy-cached", &[]);
    again.assert_ok("the tags target again, without the proxy");
    let steps = progress::steps(&again.log());
    assert!(
        steps
            .iter()
            .any(|s| s.name == MOD_DOWNLOAD_STEP && s.cached),
        "the module download ran again:\n{}",
        again.log()
    );
}

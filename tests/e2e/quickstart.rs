//! The README's quick start, as a user runs it on a docker engine in its
//! default configuration (the classic image store: docker 28's default):
//! the three-platform command as written, which the docker driver refuses
//! there (the README says so and what to do), and one platform loaded
//! into the local image store, which works with the frontend image only
//! in that docker (`scripts/frontend-image`, before any release).

use crate::harness::{Daemon, out_dir, run};

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn the_quick_start_on_a_default_docker_engine() {
    let daemon = Daemon::default_config();
    let stub = daemon.real_stub("Dockerfile");
    // The quick start's command: three platforms into the image store.
    let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS.join(",");
    daemon
        .buildx(
            &stub,
            &[
                "--platform",
                &platforms,
                "-t",
                "mikrotik-tailscale:quickstart",
            ],
        )
        .expect_failure(&["Multi-platform build is not supported for the docker driver"]);
    // What the README gives instead on such an engine: one platform at a
    // time, loaded.
    daemon
        .buildx(
            &stub,
            &[
                "--platform",
                "linux/amd64",
                "--load",
                "-t",
                "mikrotik-tailscale:amd64",
            ],
        )
        .assert_ok("the one-platform quick start on a default docker engine");
    let inspect = run(daemon.docker().args([
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}} {{json .Config.Entrypoint}}",
        "mikrotik-tailscale:amd64",
    ]));
    assert!(
        inspect.starts_with("linux/amd64 ") && inspect.contains("entrypoint"),
        "the loaded image: {inspect}"
    );
    let driver = run(daemon.docker().args(["buildx", "inspect"]));
    assert!(
        driver.contains("Driver:        docker\n") || driver.contains("docker\n"),
        "the default builder uses the docker driver:\n{driver}"
    );
    let _ = out_dir("quickstart");
}

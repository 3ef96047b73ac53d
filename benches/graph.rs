//! How long the frontend spends on its own work before BuildKit runs a
//! single step: making the mikrotik-tailscale graph and marshalling it.
//!
//! Run with `cargo bench` (or `cargo bench --bench graph -- generate` to
//! pick groups by name). `cargo test --all-targets` also builds this file
//! and runs every benchmark once as a smoke test.
//!
//! Groups, each for one and for three target platforms:
//!
//! - `generate`: `offline::results_for`, i.e. resolving the (static) base
//!   image configs and building every platform's typed LLB graph.
//! - `marshal`: `offline::combine`, the one definition `mtts-frontend llb`
//!   writes (for several platforms, a collecting file op over all results).
//! - `marshal_each`: `llb::marshal` per platform result, the way the gateway
//!   frontend marshals before it solves each platform.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mtts_frontend::llb::marshal;
use mtts_frontend::offline;
use mtts_frontend::offline::Options as GraphArgs;
use mtts_frontend::recipe::{BuildRequest, PlatformResult};

/// The build platform is fixed so the numbers do not depend on the machine
/// the benchmark happens to run on (as in recipe-graph-tests).
const BUILD_PLATFORM: &str = "linux/amd64";

/// The cases measured: a single-platform build and the full release set.
const CASES: [(&str, &[&str]); 2] = [
    ("1-platform", &["linux/amd64"]),
    (
        "3-platforms",
        &["linux/amd64", "linux/arm64", "linux/arm/v7"],
    ),
];

/// A checked request for the built-in recipe, as `mtts-frontend graph
/// --platform ...` would make it.
fn request_for(platforms: &[&str]) -> BuildRequest {
    let args = GraphArgs {
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        build_args: Vec::new(),
        labels: Vec::new(),
        target: None,
        recipe: None,
        build_platform: Some(BUILD_PLATFORM.to_string()),
        locals: Vec::new(),
    };
    offline::request(&args).unwrap_or_else(|e| panic!("building the request: {e:#}"))
}

fn results_of(req: &BuildRequest) -> Vec<PlatformResult> {
    offline::results_for(req).unwrap_or_else(|e| panic!("making the graph: {e:#}"))
}

fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    for (name, platforms) in CASES {
        let req = request_for(platforms);
        group.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            b.iter(|| results_of(black_box(req)));
        });
    }
    group.finish();
}

fn marshal_combined(c: &mut Criterion) {
    let mut group = c.benchmark_group("marshal");
    for (name, platforms) in CASES {
        let results = results_of(&request_for(platforms));
        group.bench_with_input(BenchmarkId::from_parameter(name), &results, |b, results| {
            b.iter(|| offline::combine(black_box(results)));
        });
    }
    group.finish();
}

fn marshal_each(c: &mut Criterion) {
    let mut group = c.benchmark_group("marshal_each");
    for (name, platforms) in CASES {
        let results = results_of(&request_for(platforms));
        group.bench_with_input(BenchmarkId::from_parameter(name), &results, |b, results| {
            b.iter(|| {
                black_box(results)
                    .iter()
                    .map(|r| marshal(&r.state))
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, generate, marshal_combined, marshal_each);
criterion_main!(benches);

//! Prints host facts of a root as JSON: `cargo run --example dump -- /`.
#![allow(clippy::print_stdout, reason = "an example prints")]
fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "/".to_owned());
    let start = std::time::Instant::now();
    let facts = attest_collect::collect_host_json(std::path::Path::new(&root));
    let took = start.elapsed();
    println!(
        "{}",
        serde_json::to_string_pretty(&facts).unwrap_or_default()
    );
    eprintln!("collected in {took:?}");
}

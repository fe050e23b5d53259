use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a click's id is allocated on an HTTP worker and
/// freed on the flusher thread, a pattern glibc's malloc handles slowly (about a tenth of
/// the redirect path's CPU time in profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runtime threads at least: a report's bursts of work (reading thousands of owners) occupy
/// one, and the tasks that drive the Redis connections and take in orders must not wait for
/// it, however few cores the process is given. (The click flusher has a thread of its own.)
const MIN_RUNTIME_THREADS: usize = 2;

fn main() -> ExitCode {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(MIN_RUNTIME_THREADS))
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(reftrack::cli::Cli::parse().run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

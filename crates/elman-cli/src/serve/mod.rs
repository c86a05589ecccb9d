//! `elman serve`: a local web page where a run's settings are a form and the network is
//! watched while it learns. The server is axum on tokio (the stack a Rust user expects); the
//! live state goes to the page as server-sent events, one-way and plain HTTP, which is all a
//! live view needs. Training runs on its own threads through `elman train`'s own
//! `execute` (`train.rs`), so a run of the page gives the same losses and files.
//!
//! | file | its job |
//! |---|---|
//! | `mod.rs` | the command: bind, serve, shut down cleanly |
//! | `routes.rs` | the HTTP routes and the JSON API |
//! | `guard.rs` | refusing requests from other origins and hosts |
//! | `form.rs` | a run's settings from the page, the data choices, the bounds |
//! | `runs.rs` | the runs: checked, started on their threads, stopped at shutdown |
//! | `run.rs` | one run: its live state, pause and stop, the per-epoch callback |
//! | `live.rs` | what is drawn of a network at an epoch |
//! | `events.rs` | the server-sent events |
//! | `assets.rs` | the page's files, built in |

mod assets;
mod events;
mod form;
mod guard;
mod live;
mod routes;
mod run;
mod runs;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::sync::watch;

use crate::args::{Common, ServeArgs};
use crate::backend::Backend;
pub use form::{Catalog, Form, Limits};
pub use live::{Frame, Painter};
pub use run::{FRAME_INTERVAL, Run, Status, Watcher};
pub use runs::Registry;

/// `elman serve`: serves until Ctrl-C, then stops the runs at the end of their epoch, each with
/// its checkpoint and results written.
pub fn run(common: &Common, args: &ServeArgs) -> Result<()> {
    for (flag, given) in [
        ("--epochs", common.epochs.is_some()),
        ("--lr", common.lr.is_some()),
        ("--seed", common.seed.is_some()),
        ("--cell", common.cell.is_some()),
        ("--out", common.out.is_some()),
    ] {
        if given {
            bail!(
                "elman serve takes each run's settings from the page: drop {flag} (runs go under --runs)"
            );
        }
    }
    let catalog = Catalog::load(&args.configs, common.config.as_deref(), common.backend)?;
    let registry = Arc::new(Registry::new(args.runs.clone(), Limits::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    let served = runtime.block_on(serve(args, catalog, registry.clone()));
    // Ctrl-C (or a failure): every run ends at its epoch with its checkpoint and results.
    registry.close();
    let stopped = registry.join();
    for run in &stopped {
        eprintln!(
            "elman: stopped run {} after {}; its checkpoint and results are in {}",
            run.id,
            crate::words::count(run.live().losses.len(), "epoch"),
            run.path.display()
        );
    }
    served
}

async fn serve(args: &ServeArgs, catalog: Catalog, registry: Arc<Registry>) -> Result<()> {
    let address = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    // The backends that work here (after the bind, so that a port in use is the one error).
    let backends: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|backend| backend.device().is_ok())
        .collect();
    let (closing, shutdown) = watch::channel(false);
    let app = Arc::new(routes::App {
        registry: registry.clone(),
        catalog,
        backends,
        port: bound.port(),
        shutdown,
    });
    let shown = if bound.ip().is_unspecified() {
        format!("http://localhost:{}/", bound.port())
    } else {
        format!("http://{bound}/")
    };
    println!("elman: serving {shown} (Ctrl-C stops)");
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("elman: shutting down: runs stop at the end of their epoch");
            // New runs are refused and open event streams end, so the server can drain.
            let _ = closing.send(true);
            registry.close();
        })
        .await
        .context("the server failed")
}

//! A run's live state to the page as server-sent events: each event carries the losses the
//! client has not seen yet (so every epoch arrives), the latest frame when it is new, and the
//! run's status; at most one event per [`FRAME_INTERVAL`], however fast the run trains.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::live::Frame;
use super::run::{FRAME_INTERVAL, Run, Status};

/// What one event says.
#[derive(Debug, Serialize)]
pub struct Update<'a> {
    /// The run.
    pub id: u64,
    /// Where it is.
    pub status: Status,
    /// The epochs it was given.
    pub epochs: usize,
    /// The epoch of the first loss in `losses` (the losses before it were sent already).
    pub from: usize,
    /// Training losses from epoch `from` on.
    pub losses: &'a [f64],
    /// Validation losses from epoch `from` on.
    pub valid_losses: &'a [f64],
    /// The learning rate of the last epoch.
    pub lr: f64,
    /// Weight updates per second of training.
    pub updates_per_second: f64,
    /// The latest frame, when the client has not had it.
    pub frame: Option<&'a Frame>,
    /// The run folder's files, once the run has ended.
    pub files: &'a [String],
    /// Why the run ended, or its error.
    pub message: Option<&'a str>,
}

/// What a client has been sent so far.
#[derive(Debug, Default)]
struct Cursor {
    losses: usize,
    frame_seq: u64,
}

/// The next event for a client at `cursor`, and whether the run has ended (nothing will follow).
/// The live state is copied under its lock and serialized after, so that a client never holds
/// up the training.
fn next_event(run: &Run, cursor: &mut Cursor) -> (String, bool) {
    let live = run.live();
    let from = cursor.losses.min(live.losses.len());
    let frame = (live.frame_seq != cursor.frame_seq)
        .then(|| live.frame.clone())
        .flatten();
    let losses = live.losses[from..].to_vec();
    let valid_losses = live.valid_losses.get(from..).unwrap_or(&[]).to_vec();
    let (status, lr, updates_per_second) = (live.status, live.lr, live.updates_per_second);
    let (files, message) = (live.files.clone(), live.message.clone());
    cursor.losses = live.losses.len();
    cursor.frame_seq = live.frame_seq;
    drop(live);
    let update = Update {
        id: run.id,
        status,
        epochs: run.form.epochs,
        from,
        losses: &losses,
        valid_losses: &valid_losses,
        lr,
        updates_per_second,
        frame: frame.as_deref(),
        files: &files,
        message: message.as_deref(),
    };
    let json = serde_json::to_string(&update).expect("an update serializes");
    (json, status.ended())
}

/// The event stream of `run`, which ends when the run has ended (after its last event), when
/// the client goes away, or when the server shuts down.
pub fn stream(run: Arc<Run>, mut shutdown: watch::Receiver<bool>) -> impl IntoResponse {
    let (tx, rx) = mpsc::channel(2);
    let mut changed = run.subscribe();
    tokio::spawn(async move {
        let mut cursor = Cursor::default();
        loop {
            changed.borrow_and_update();
            let (json, ended) = next_event(&run, &mut cursor);
            if tx.send(Ok(Event::default().data(json))).await.is_err() || ended {
                return;
            }
            tokio::select! {
                result = changed.changed() => if result.is_err() { return },
                () = tx.closed() => return,
                _ = shutdown.wait_for(|closing| *closing) => return,
            }
            tokio::time::sleep(FRAME_INTERVAL).await;
        }
    });
    Sse::new(ReceiverStream::<Result<Event, Infallible>>::new(rx)).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::serve::Form;

    /// A client that goes away costs nothing: the task that fed its stream ends and lets the
    /// run go, while the run trains on.
    #[tokio::test]
    async fn a_client_that_leaves_ends_its_task() {
        let form = Form {
            data: "tutorial.toml".into(),
            d_hidden: 6,
            lr: 0.1,
            optimizer: elman_train::OptimizerKind::Sgd,
            batch_size: 1,
            bptt: 1,
            epochs: 300,
            seed: 1,
            backend: Backend::Flex,
            pace: 0,
        };
        let run = Run::new(1, form, Default::default(), String::new(), 0.1);
        let (_closing, shutdown) = watch::channel(false);
        let count = |n: usize| {
            let run = run.clone();
            async move {
                for _ in 0..200 {
                    // This test's own clone is one of them.
                    if Arc::strong_count(&run) == n + 1 {
                        return true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                false
            }
        };
        let response = stream(run.clone(), shutdown).into_response();
        assert!(count(2).await, "the stream's task holds the run");
        drop(response);
        assert!(count(1).await, "the task ended when its client left");
    }
}

//! One run of the page ([`Run`]): its live state, its controls (pause, resume, stop), its
//! painter thread, and [`Watcher`], the per-epoch callback it trains with: it records the
//! losses, hands the weights to the painter at most every [`FRAME_INTERVAL`], keeps the pace,
//! and pauses or stops as asked.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use elman_model::ElmanWeights;
use elman_train::{EpochReport, Snapshot};
use serde::Serialize;
use tokio::sync::watch;

use super::form::Form;
use super::live::{Frame, Painter};

/// The shortest time between two frames: the page is redrawn at most about 30 times a second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Training.
    Training,
    /// Paused at the end of an epoch.
    Paused,
    /// Ran every epoch (or early stopping ended it).
    Finished,
    /// Stopped when asked, its checkpoint and results written.
    Stopped,
    /// Ended with an error.
    Failed,
}

impl Status {
    /// Whether the run has ended.
    pub fn ended(self) -> bool {
        matches!(self, Status::Finished | Status::Stopped | Status::Failed)
    }
}

/// What the page sees of a run, updated as it trains.
#[derive(Debug, Clone)]
pub struct Live {
    /// Where it is.
    pub status: Status,
    /// The training loss of every epoch so far.
    pub losses: Vec<f64>,
    /// The validation loss of every epoch so far, when there is validation data.
    pub valid_losses: Vec<f64>,
    /// The learning rate of the last epoch.
    pub lr: f64,
    /// Weight updates per second of training (pauses and pacing not counted).
    pub updates_per_second: f64,
    /// The latest frame, and how many frames came before it.
    pub frame: Option<Arc<Frame>>,
    /// Counts the frames.
    pub frame_seq: u64,
    /// The files of the run folder, once the run has ended.
    pub files: Vec<String>,
    /// Why it ended, or its error.
    pub message: Option<String>,
}

/// Pause and stop, as the page asks.
#[derive(Debug, Default)]
struct Control {
    paused: bool,
    stop: bool,
}

/// The weights waiting for the painter.
#[derive(Default)]
struct Easel {
    next: Option<(usize, ElmanWeights)>,
    done: bool,
}

/// One run of the page.
pub struct Run {
    /// Its number, from 1.
    pub id: u64,
    /// The settings it was started with.
    pub form: Form,
    /// Its folder's name under the runs folder.
    pub folder: String,
    /// Where its files are.
    pub path: PathBuf,
    /// How the run was set up, e.g. "co2.toml, 120 sequences of 48 steps, fused BPTT on flex".
    pub summary: String,
    live: Mutex<Live>,
    control: Mutex<Control>,
    resume: Condvar,
    easel: Mutex<Easel>,
    painted: Condvar,
    changed: watch::Sender<u64>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Run {
    /// A run numbered `id`, training with `form`'s settings into `path`, with no threads yet
    /// (the server's runs get theirs from [`Registry::start`](super::Registry::start); a
    /// benchmark may drive one).
    pub fn new(id: u64, form: Form, path: PathBuf, summary: String, lr: f64) -> Arc<Self> {
        Arc::new(Run {
            id,
            folder: path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into()),
            path,
            summary,
            live: Mutex::new(Live {
                status: Status::Training,
                losses: Vec::new(),
                valid_losses: Vec::new(),
                lr,
                updates_per_second: 0.0,
                frame: None,
                frame_seq: 0,
                files: Vec::new(),
                message: None,
            }),
            control: Mutex::new(Control::default()),
            resume: Condvar::new(),
            easel: Mutex::new(Easel::default()),
            painted: Condvar::new(),
            changed: watch::channel(0).0,
            form,
            threads: Mutex::new(Vec::new()),
        })
    }

    /// The callback to train this run with (see [`Watcher`]).
    pub fn watcher(&self) -> Watcher<'_> {
        Watcher::new(self, self.form.pace)
    }

    /// Starts the thread that draws the frames of this run with `painter`.
    pub fn spawn_painter(self: &Arc<Self>, painter: Painter) -> JoinHandle<()> {
        let run = self.clone();
        std::thread::spawn(move || run.painter(painter))
    }

    /// Tells the painter it has had its last weights and waits for it to draw them.
    pub fn finish_painting(&self, painting: JoinHandle<()>) {
        self.easel.lock().unwrap_or_else(|e| e.into_inner()).done = true;
        self.painted.notify_all();
        let _ = painting.join();
    }

    /// The live state.
    pub fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that wakes when the live state changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub(super) fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pauses at the end of the current epoch. False when the run has ended.
    pub fn pause(&self) -> bool {
        let mut live = self.live();
        if live.status.ended() {
            return false;
        }
        self.control().paused = true;
        live.status = Status::Paused;
        drop(live);
        self.bump();
        true
    }

    /// Goes on after a pause. False when the run has ended.
    pub fn resume(&self) -> bool {
        let mut live = self.live();
        if live.status.ended() {
            return false;
        }
        self.control().paused = false;
        live.status = Status::Training;
        drop(live);
        self.resume.notify_all();
        self.bump();
        true
    }

    /// Stops at the end of the current epoch (a paused run stops at once). False when the run
    /// has ended.
    pub fn stop(&self) -> bool {
        if self.live().status.ended() {
            return false;
        }
        let mut control = self.control();
        control.stop = true;
        control.paused = false;
        drop(control);
        self.resume.notify_all();
        true
    }

    /// Keeps `thread` to wait for in [`Run::join`].
    pub(super) fn adopt(&self, thread: JoinHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(thread);
    }

    /// Waits for the run's threads to end.
    pub(super) fn join(&self) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Hands weights to the painter (replacing any it has not started on).
    fn paint(&self, epoch: usize, weights: ElmanWeights) {
        let mut easel = self.easel.lock().unwrap_or_else(|e| e.into_inner());
        easel.next = Some((epoch, weights));
        self.painted.notify_all();
    }

    /// The painter's loop: a frame for every weights handed over, until the run is done.
    fn painter(&self, painter: Painter) {
        loop {
            let next = {
                let mut easel = self.easel.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(next) = easel.next.take() {
                        break Some(next);
                    }
                    if easel.done {
                        break None;
                    }
                    easel = self.painted.wait(easel).unwrap_or_else(|e| e.into_inner());
                }
            };
            let Some((epoch, weights)) = next else { return };
            // A frame that cannot be drawn (a diverged network) leaves the last one up.
            if let Ok(frame) = painter.paint(epoch, &weights) {
                let mut live = self.live();
                live.frame = Some(Arc::new(frame));
                live.frame_seq += 1;
                drop(live);
                self.bump();
            }
        }
    }
}

/// The per-epoch callback of a page's run: records the losses, hands weights to the painter at
/// most every [`FRAME_INTERVAL`], keeps the pace, and pauses or stops as asked.
pub struct Watcher<'a> {
    run: &'a Run,
    pace: usize,
    first: bool,
    next_frame: Instant,
    updates: usize,
    /// Training time so far, pauses and pacing not counted.
    busy: Duration,
    /// When the current stretch of training began.
    since: Instant,
    /// Epochs and the start of the paced stretch.
    paced: (usize, Instant),
}

impl<'a> Watcher<'a> {
    fn new(run: &'a Run, pace: usize) -> Self {
        let now = Instant::now();
        Self {
            run,
            pace,
            first: true,
            next_frame: now,
            updates: 0,
            busy: Duration::ZERO,
            since: now,
            paced: (0, now),
        }
    }

    /// After each epoch.
    pub fn epoch(&mut self, epoch: &EpochReport, snapshot: &Snapshot<'_>) -> ControlFlow<()> {
        let now = Instant::now();
        self.updates += epoch.updates;
        let due = self.first || epoch.last || now >= self.next_frame;
        {
            let mut live = self.run.live();
            live.losses.push(epoch.loss);
            live.valid_losses.extend(epoch.valid_loss);
            live.lr = epoch.lr;
            if due {
                let busy = self.busy + (now - self.since);
                live.updates_per_second = self.updates as f64 / busy.as_secs_f64().max(1e-9);
            }
        }
        if due {
            self.first = false;
            self.next_frame = now + FRAME_INTERVAL;
            self.run.paint(epoch.epoch, snapshot.weights());
            self.run.bump();
        }
        // The pace: epoch n of the stretch ends no sooner than n / pace seconds into it.
        if self.pace > 0 {
            self.paced.0 += 1;
            let end =
                self.paced.1 + Duration::from_secs_f64(self.paced.0 as f64 / self.pace as f64);
            let now = Instant::now();
            self.busy += now - self.since;
            if end > now {
                std::thread::sleep(end - now);
            }
            self.since = Instant::now();
        }
        self.wait_while_paused()
    }

    /// Blocks while the run is paused; breaks when it is to stop.
    fn wait_while_paused(&mut self) -> ControlFlow<()> {
        let mut control = self.run.control();
        if control.paused && !control.stop {
            self.busy += self.since.elapsed();
            while control.paused && !control.stop {
                control = self
                    .run
                    .resume
                    .wait(control)
                    .unwrap_or_else(|e| e.into_inner());
            }
            let now = Instant::now();
            self.since = now;
            self.paced = (0, now);
        }
        if control.stop {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

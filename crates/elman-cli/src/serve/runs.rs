//! The runs the page started ([`Registry`]): each is checked, then trains on its own thread
//! through the same `execute` (`train.rs`) as `elman train`, with its `Watcher`
//! as the per-epoch callback and a painter thread beside it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use anyhow::Context;
use elman_model::ElmanWeights;
use elman_train::{Start, StopReason};

use super::form::{Catalog, Form, Limits};
use super::live::Painter;
use super::run::{Run, Status};
use crate::run_folder::{RunFolder, new_under};
use crate::train::{Job, execute};

/// Runs kept in memory (their files stay on disk): the oldest ended ones go first.
const KEPT_RUNS: usize = 32;

/// Why a run could not start, with the HTTP status it answers.
#[derive(Debug)]
pub struct Refused {
    /// 400 (bad settings or data), 429 (too many runs), 503 (shutting down), 500.
    pub status: u16,
    /// The one-line reason.
    pub message: String,
}

impl Refused {
    fn bad(err: anyhow::Error) -> Self {
        Self {
            status: 400,
            message: format!("{err:#}"),
        }
    }
}

/// Every run of the server.
pub struct Registry {
    runs: Mutex<Vec<Arc<Run>>>,
    next_id: AtomicU64,
    closing: AtomicBool,
    stopped_on_close: Mutex<Vec<Arc<Run>>>,
    /// The bounds of a run.
    pub limits: Limits,
    folder: PathBuf,
}

impl Registry {
    /// No runs yet; their folders go under `folder`.
    pub fn new(folder: PathBuf, limits: Limits) -> Self {
        Self {
            runs: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            stopped_on_close: Mutex::new(Vec::new()),
            limits,
            folder,
        }
    }

    fn runs(&self) -> MutexGuard<'_, Vec<Arc<Run>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every run kept, oldest first.
    pub fn list(&self) -> Vec<Arc<Run>> {
        self.runs().clone()
    }

    /// The run numbered `id`.
    pub fn get(&self, id: u64) -> Option<Arc<Run>> {
        self.runs().iter().find(|r| r.id == id).cloned()
    }

    /// Checks `form`, prepares its data and starts it training.
    pub fn start(&self, form: Form, catalog: &Catalog) -> Result<Arc<Run>, Refused> {
        let mut config = catalog.config(&form, &self.limits).map_err(Refused::bad)?;
        let device = config.backend.device().map_err(Refused::bad)?;
        crate::forecast::settle(&mut config, &device).map_err(Refused::bad)?;
        let data = config.prepare_data().map_err(Refused::bad)?;
        self.limits
            .check_work(&config, &data)
            .map_err(Refused::bad)?;
        let painter_device = crate::backend::cpu().map_err(Refused::bad)?;

        // The slot: checked and taken under one lock, so two requests cannot both get the last.
        let mut runs = self.runs();
        if self.closing.load(Ordering::SeqCst) {
            return Err(Refused {
                status: 503,
                message: "the server is shutting down".into(),
            });
        }
        let active = runs.iter().filter(|r| !r.live().status.ended()).count();
        if active >= self.limits.active_runs {
            return Err(Refused {
                status: 429,
                message: format!(
                    "{active} runs are training already, the most at once: stop one or wait for one to end"
                ),
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let path = new_under(&self.folder, &format!("serve{id}-{}", config.backend));
        let folder = RunFolder::create(Some(&path), "")
            .context("the run folder")
            .map_err(|err| Refused {
                status: 500,
                message: format!("{err:#}"),
            })?;
        let summary = format!(
            "{}: {} of {} steps, {} on {}",
            form.data,
            crate::words::count(data.train.len(), "sequence"),
            data.train.seq_len(),
            config
                .train_config()
                .gradient_path_for(&config.model_config())
                .on(&device, config.model.d_hidden, config.model.cell),
            config.backend
        );
        let weights = ElmanWeights::init(&config.model_config(), config.seed);
        let run = Run::new(id, form, path, summary, config.train.lr);
        let painter = Painter::new(data.clone(), painter_device);
        let job = Job {
            config,
            data,
            start: Start::Fresh(weights),
            device,
            folder,
        };
        let painting = run.spawn_painter(painter);
        let training = {
            let run = run.clone();
            std::thread::spawn(move || train(&run, job, painting))
        };
        run.adopt(training);
        runs.push(run.clone());
        // Forget the oldest ended runs beyond the kept number.
        while runs.len() > KEPT_RUNS {
            match runs.iter().position(|r| r.live().status.ended()) {
                Some(at) => drop(runs.remove(at)),
                None => break,
            }
        }
        Ok(run)
    }

    /// Refuses new runs from now on and stops every run at the end of its epoch.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let stopped = self.list().into_iter().filter(|r| r.stop());
        self.stopped_on_close
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(stopped);
    }

    /// Waits for every run to end (with its checkpoint and results written); returns those
    /// [`Registry::close`] stopped.
    pub fn join(&self) -> Vec<Arc<Run>> {
        for run in self.list() {
            run.join();
        }
        self.stopped_on_close
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The training thread of `run`: the job through `execute`, then the final state.
fn train(run: &Run, job: Job, painting: JoinHandle<()>) {
    let mut watcher = run.watcher();
    let outcome = execute(job, |epoch, snapshot| watcher.epoch(epoch, snapshot));
    // The last frame is drawn before the run says it has ended.
    run.finish_painting(painting);
    let mut live = run.live();
    match outcome {
        Ok(done) => {
            live.status = match done.report.stop {
                StopReason::Stopped { .. } => Status::Stopped,
                StopReason::Completed | StopReason::EarlyStopping { .. } => Status::Finished,
            };
            live.message = Some(done.report.stop.to_string());
            live.files = files_of(&done.out);
        }
        Err(err) => {
            live.status = Status::Failed;
            live.message = Some(format!("{err:#}"));
            live.files = files_of(&run.path);
        }
    }
    drop(live);
    run.bump();
}

/// The plain files of a run folder, by name, sorted.
fn files_of(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

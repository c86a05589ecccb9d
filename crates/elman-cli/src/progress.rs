//! Progress on long runs: a bar redrawn in place when stderr is a terminal, nothing otherwise
//! (the `Epoch: N loss L` lines on stdout are the plain log).

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// A progress bar over the epochs of a run.
pub struct Progress {
    total: usize,
    started: Instant,
    steps: usize,
    enabled: bool,
}

impl Progress {
    /// A bar for `total` epochs, drawn only when stderr is a terminal.
    pub fn new(total: usize) -> Self {
        Self::with_terminal(total, std::io::stderr().is_terminal())
    }

    /// A bar that is drawn when `enabled`.
    pub fn with_terminal(total: usize, enabled: bool) -> Self {
        Self {
            total,
            started: Instant::now(),
            steps: 0,
            enabled,
        }
    }

    /// The line shown after `epoch` (from 0), which did `steps` updates.
    pub fn line(&mut self, epoch: usize, steps: usize, loss: f64, valid: Option<f64>) -> String {
        self.steps += steps;
        let done = epoch + 1;
        let width = 24;
        let filled = (done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width);
        let rate = self.steps as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let valid = valid.map_or(String::new(), |v| format!(" valid {v:.4e}"));
        format!(
            "[{}{}] epoch {done}/{} loss {loss:.4e}{valid} {rate:.0} steps/s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total
        )
    }

    /// Redraws the bar after an epoch.
    pub fn update(&mut self, epoch: usize, steps: usize, loss: f64, valid: Option<f64>) {
        let line = self.line(epoch, steps, loss, valid);
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }
    }

    /// Wipes the bar so that a log line can take its place (the next update redraws it).
    pub fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    /// Ends the bar's line.
    pub fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After 3 of 12 epochs the bar is a quarter full: 6 of 24 marks.
    #[test]
    fn a_quarter_done_is_a_quarter_full() {
        let mut progress = Progress::with_terminal(12, false);
        progress.line(0, 10, 1.0, None);
        progress.line(1, 10, 1.0, None);
        let line = progress.line(2, 10, 0.5, Some(0.25));
        assert!(line.starts_with("[######.................."), "{line}");
        assert!(
            line.contains("epoch 3/12 loss 5.0000e-1 valid 2.5000e-1"),
            "{line}"
        );
        assert!(line.ends_with(" steps/s"), "{line}");
    }
}

//! Following a run from a CLI command: a spinner line re-read four times a second until the
//! run ends; Ctrl-C asks for cancellation once and keeps following until the run stops.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often the run is re-read.
const POLL: Duration = Duration::from_millis(250);

/// How a command follows one run.
pub trait FollowedRun {
    /// The run as read.
    type Run;
    /// Why reading or cancelling failed.
    type Error: From<anyhow::Error>;

    /// Reads the run as it is now.
    fn current(&self) -> impl Future<Output = Result<Self::Run, Self::Error>>;
    /// One line about it.
    fn describe(run: &Self::Run) -> String;
    /// Whether it has ended.
    fn is_terminal(run: &Self::Run) -> bool;
    /// Asks it to stop.
    fn cancel(&self) -> impl Future<Output = Result<(), Self::Error>>;
}

/// Follows `run` until it ends and returns it as it ended.
pub async fn follow<F: FollowedRun>(run: &F) -> Result<F::Run, F::Error> {
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {elapsed} {msg}").map_err(anyhow::Error::from)?;
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut cancelled = false;
    let last = loop {
        let current = run.current().await?;
        bar.set_message(F::describe(&current));
        if F::is_terminal(&current) {
            break current;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = &mut interrupt, if !cancelled => {
                cancelled = true;
                bar.println("cancelling...");
                run.cancel().await?;
            }
        }
    };
    bar.finish_and_clear();
    Ok(last)
}

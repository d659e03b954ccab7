//! Progress bars on stderr, only when stderr is a terminal and not `--quiet` (indicatif).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ctx;

/// A bar counting `len` steps, hidden unless stderr is a terminal and output is not quiet.
pub fn bar(ctx: &Ctx, len: u64, what: &str) -> ProgressBar {
    if ctx.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
        .map(|s| s.progress_chars("=> "))
    {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}

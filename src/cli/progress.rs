//! Progress bars on stderr, only when stderr is a terminal and not `--quiet` (indicatif).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ctx;

/// A bar counting `len` steps, hidden unless stderr is a terminal and output is not quiet
/// (and, with `also_stdout_free`, unless stdout is a terminal too: output would interleave).
pub fn bar(ctx: &Ctx, len: u64, what: &str, also_stdout_free: bool) -> ProgressBar {
    if ctx.quiet
        || !std::io::stderr().is_terminal()
        || (also_stdout_free && std::io::stdout().is_terminal())
    {
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

/// A bar counting bytes out of `total`, with the rate, on the same conditions as [`bar`].
/// With `also_stdout_free`, it is hidden when stdout is the terminal too (the output would
/// interleave with the bar).
pub fn bytes_bar(ctx: &Ctx, total: u64, what: &str, also_stdout_free: bool) -> ProgressBar {
    if ctx.quiet
        || !std::io::stderr().is_terminal()
        || (also_stdout_free && std::io::stdout().is_terminal())
    {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}

//! Progress bars on stderr, only when stderr is a terminal and not `--quiet` (indicatif).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ctx;

/// A bar counting `len` steps, hidden unless stderr is a terminal and output is not quiet
/// (and, with `also_stdout_free`, unless stdout is a terminal too: output would interleave).
pub fn bar(ctx: &Ctx, len: u64, what: &str, also_stdout_free: bool) -> ProgressBar {
    styled(
        ctx,
        len,
        what,
        also_stdout_free,
        "{prefix} [{bar:30}] {pos}/{len} {msg}",
    )
}

/// A bar counting bytes out of `total`, with the rate, on the same conditions as [`bar`].
pub fn bytes_bar(ctx: &Ctx, total: u64, what: &str, also_stdout_free: bool) -> ProgressBar {
    styled(
        ctx,
        total,
        what,
        also_stdout_free,
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
    )
}

fn styled(ctx: &Ctx, len: u64, what: &str, also_stdout_free: bool, template: &str) -> ProgressBar {
    if ctx.quiet
        || !std::io::stderr().is_terminal()
        || (also_stdout_free && std::io::stdout().is_terminal())
    {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template).map(|s| s.progress_chars("=> ")) {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}

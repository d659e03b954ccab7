//! The `klog` command line: parse, run, map the outcome to an exit code.

mod cli;

fn main() {
    std::process::exit(cli::main());
}

//! Writes the man page and the bash and zsh completions from the clap definition, so
//! they always match the binary: `cargo run --example gen_docs -- OUT_DIR`.
//! An example rather than a subcommand keeps clap_mangen and clap_complete out of the
//! shipped binary.

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args_os().nth(1).expect("usage: gen_docs OUT_DIR"));
    std::fs::create_dir_all(&out)?;
    let mut command = sshdoctor::cli::Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(out.join("sshdoctor.1"), page)?;
    for shell in [Shell::Bash, Shell::Zsh] {
        clap_complete::generate_to(shell, &mut command, "sshdoctor", &out)?;
    }
    Ok(())
}

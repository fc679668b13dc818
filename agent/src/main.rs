fn main() {
    std::process::exit(sshdoctor::cli::run(std::env::args_os()));
}

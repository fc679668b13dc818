fn main() {
    let code = sshdoctor::cli::run(std::env::args_os());
    // A tool the deadline left running ends with us, not after us.
    sshdoctor::collect::command::end_tools();
    std::process::exit(code);
}

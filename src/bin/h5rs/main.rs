//! The `h5rs` command-line tool (placeholder until the real tool lands).

fn main() {
    eprintln!("h5rs: not implemented yet");
    std::process::exit(2);
}

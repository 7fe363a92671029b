//! `runc-libseccomp`: runc's conversion of Docker/OCI profiles through the
//! linked libseccomp, one request per line on standard input, one program
//! (or refusal) per line on standard output (`peers::runc::worker`). Built
//! with the `libseccomp` feature; the differential test runs it as a child
//! so that a libseccomp that never returns can be stopped.

fn main() -> std::io::Result<()> {
    sysfence_benches::peers::runc::worker::serve()
}

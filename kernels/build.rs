//! With the `emulator` feature, compiles the CUDA kernels for the host
//! together with the emulator that runs them (tests without a GPU).

fn main() {
    println!("cargo:rerun-if-changed=cuda");
    if std::env::var_os("CARGO_FEATURE_EMULATOR").is_none() {
        return;
    }
    cc::Build::new()
        .cpp(true)
        .file("cuda/host/emulator.cpp")
        .include("cuda")
        .std("c++17")
        .opt_level(2)
        // Same arithmetic as the Rust twin: no fused multiply-add, and plain
        // longjmp between fiber stacks.
        .flag("-ffp-contract=off")
        .flag("-U_FORTIFY_SOURCE")
        .flag("-D_FORTIFY_SOURCE=0")
        .warnings_into_errors(true)
        .compile("maflow_cuda_emulator");
}

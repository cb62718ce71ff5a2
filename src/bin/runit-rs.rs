//! The multicall binary: runs the program named by basename(argv[0]); called under its own
//! name, the program named by argv[1] (`runit-rs sv status foo`).
fn main() {
    use std::os::unix::ffi::OsStrExt;
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = runit_rs::basename(argv0.as_bytes()).to_vec();
    let shifted = runit_rs::prog::by_name(&name).is_none();
    runit_rs::run(if shifted { dispatch_shifted } else { dispatch })
}

fn dispatch(args: Vec<Vec<u8>>) -> i32 {
    let name = runit_rs::basename(args.first().map(|a| a.as_slice()).unwrap_or(b""));
    match runit_rs::prog::by_name(name) {
        Some(m) => m(args),
        None => 100,
    }
}

fn dispatch_shifted(mut args: Vec<Vec<u8>>) -> i32 {
    if args.len() < 2 {
        runit_rs::msg::usage(b"runit-rs", b" program [args ...]");
        return 100;
    }
    args.remove(0);
    match runit_rs::prog::by_name(runit_rs::basename(&args[0])) {
        Some(m) => m(args),
        None => {
            runit_rs::msg::err(&[b"runit-rs: fatal: unknown program: ", &args[0]]);
            100
        }
    }
}

use crate::cli::Failure;
use crate::cli::args::DemoArgs;
use crate::cli::output::Out;
use std::path::PathBuf;
pub async fn run(_db: Option<PathBuf>, _args: DemoArgs, _out: Out) -> Result<u8, Failure> {
    Err(Failure::new("x", None))
}

//! `ferry serve`: start the console, print where it listens and (once)
//! its admin token, serve until SIGINT/SIGTERM.

use crate::cli::args::ServeArgs;
use crate::cli::{App, Failure, exit};
use crate::console::{self, ServeOptions};

pub(super) async fn serve(app: App, args: ServeArgs, db: &std::path::Path) -> Result<u8, Failure> {
    let App { store, runtime, out } = app;
    // The console opens its own connections.
    drop(store);
    if args.no_serve {
        let token = console::rotate_token(db)?;
        out.line(format!("admin token (shown once; keep it in your password manager): {token}"));
        out.line(
            "a console running on this database accepts only this token from now on; everyone signed in was signed out",
        );
        if out.json {
            out.json(&serde_json::json!({ "admin_token": token }));
        }
        return Ok(exit::OK);
    }
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => None,
    };
    let options = ServeOptions {
        db: db.to_path_buf(),
        listen: args.listen,
        schedules: args.schedules,
        tls,
        insecure_listen: args.insecure_listen,
        new_token: args.new_token,
    };
    let started = console::start(options, runtime, super::schedule::wait_for_stop()).await?;
    if let Some(token) = &started.new_token {
        out.line(format!("admin token (shown once; keep it in your password manager): {token}"));
    }
    let scheme = if started.tls { "https" } else { "http" };
    out.line(format!("ferry console listening on {scheme}://{}/", started.addr));
    if args.schedules {
        out.line("running the schedules of every integration");
    }
    if out.json {
        out.json(&serde_json::json!({
            "listening": format!("{scheme}://{}/", started.addr),
            "admin_token": started.new_token,
            "schedules": args.schedules,
        }));
    }
    started.run().await?;
    Ok(exit::OK)
}

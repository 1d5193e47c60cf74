//! `netsift serve`: the web analyzer (see `netsift_web`).

use std::process::ExitCode;

use anyhow::Result;

use crate::ServeArgs;

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let target = netsift_store::Target::parse(&args.db)?;
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        // A server's database has no directory of its own: the current one.
        None if target.is_postgres() => std::path::PathBuf::from("netsift-data"),
        None => {
            let parent = std::path::Path::new(&args.db)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| std::path::PathBuf::from("."), |p| p.to_path_buf());
            parent.join("netsift-data")
        }
    };
    std::fs::create_dir_all(&data_dir)?;
    let data_dir = data_dir.canonicalize()?;
    let shown = target.display();
    let cfg = netsift_web::Config {
        db: target,
        sensor: args
            .sensor
            .clone()
            .unwrap_or_else(crate::analyze::host_name),
        listen: args.listen.clone(),
        token: args.token.clone().filter(|t| !t.is_empty()),
        max_upload: args.max_upload,
        data_dir,
        threads: args.threads as usize,
    };
    netsift_web::serve(cfg, &mut |addr| {
        // Tests and scripts read this line to learn the port (with :0).
        eprintln!("netsift: serving http://{addr}/ (database {shown})");
    })
    .map_err(|e| match e {
        netsift_web::WebError::Store(se @ netsift_store::StoreError::Connect { .. }) => {
            anyhow::Error::new(se)
        }
        other => anyhow::Error::new(other),
    })?;
    Ok(ExitCode::SUCCESS)
}

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
        max_conns_per_ip: args.max_conns_per_ip as usize,
        max_conns: args.max_conns as usize,
        head_timeout: std::time::Duration::from_secs(u64::from(args.head_timeout)),
    };
    // Each connection is a file descriptor: make room for --max-conns
    // besides the database, captures and carved files being served.
    raise_fd_limit(args.max_conns as u64 + 256);
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

/// Raise the soft limit of open files towards `want` (at most the hard
/// limit), and say so when it stays below: connections beyond it would be
/// refused by the kernel (EMFILE) rather than by the server's caps.
// rlim_t is u64 on 64-bit Linux, not everywhere.
#[allow(clippy::unnecessary_cast)]
fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write/read only the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    let cur = lim.rlim_cur as u64;
    if cur >= want {
        return;
    }
    let target = want.min(lim.rlim_max as u64);
    if target > cur {
        let new = libc::rlimit {
            rlim_cur: target as libc::rlim_t,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
            eprintln!("netsift: cannot raise the open files limit from {cur} to {target}");
            return;
        }
    }
    if target < want {
        eprintln!(
            "netsift: the open files limit ({target}) is below --max-conns + 256 ({want}): \
             raise it (ulimit -n) or lower --max-conns"
        );
    }
}

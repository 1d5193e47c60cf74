//! One connection, SQLite or PostgreSQL, behind one small API.
//!
//! Queries are written once, with SQLite's numbered parameters (`?1`,
//! `?2`, ...), in the SQL both engines accept; [`Db`] rewrites them to
//! PostgreSQL's `$n` (renumbered so that a statement names only the
//! parameters it uses) and binds [`Val`]s by the type the server inferred
//! for each parameter. Where the two dialects differ, the query asks
//! [`Db::dialect`] once, at the place of the difference.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type};

use crate::{Result, StoreError};

/// Where the database is: a SQLite file, or a PostgreSQL server.
#[derive(Clone)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>),
}

impl fmt::Debug for Target {
    // Never the password: Debug is the redacted URL too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl From<&Path> for Target {
    fn from(p: &Path) -> Target {
        Target::Sqlite(p.to_path_buf())
    }
}

impl Target {
    /// `postgres://...` or `postgresql://...` (libpq's URI form, PostgreSQL
    /// manual 34.1.1.2); libpq's environment variables (manual 34.15:
    /// PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGCONNECT_TIMEOUT,
    /// PGAPPNAME) fill what the URL omits. Anything else is a SQLite file.
    pub fn parse(s: &str) -> Result<Target> {
        Self::parse_with_env(s, |k| std::env::var(k).ok())
    }

    /// [`Target::parse`] with the environment given (tests).
    pub fn parse_with_env(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Target> {
        if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
            return Ok(Target::Sqlite(PathBuf::from(s)));
        }
        let mut c: postgres::Config = s.parse().map_err(|e: postgres::Error| {
            // The parser's message never quotes the input; the URL shown is redacted.
            StoreError::Connect {
                url: redact_url(s),
                msg: format!("invalid URL: {e}"),
            }
        })?;
        if c.get_hosts().is_empty() {
            match env("PGHOST") {
                Some(h) if h.starts_with('/') => {
                    c.host_path(h);
                }
                Some(h) => {
                    c.host(&h);
                }
                None => {
                    c.host("localhost");
                }
            }
        }
        if c.get_ports().is_empty() {
            if let Some(p) = env("PGPORT").and_then(|p| p.parse::<u16>().ok()) {
                c.port(p);
            }
        }
        if c.get_user().is_none() {
            let u = env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into());
            c.user(&u);
        }
        if c.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                c.password(p);
            }
        }
        if c.get_dbname().is_none() {
            if let Some(d) = env("PGDATABASE") {
                c.dbname(&d);
            }
        }
        if c.get_connect_timeout().is_none() {
            let t = env("PGCONNECT_TIMEOUT")
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(5)
                .max(1);
            c.connect_timeout(Duration::from_secs(t));
        }
        if c.get_application_name().is_none() {
            c.application_name(&env("PGAPPNAME").unwrap_or_else(|| "netsift".into()));
        }
        Ok(Target::Postgres(Box::new(c)))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Target::Postgres(_))
    }

    /// The target as it may be printed: a path, or a URL without the password.
    pub fn display(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(c) => {
                let user = c.get_user().unwrap_or("");
                let host = match c.get_hosts().first() {
                    Some(postgres::config::Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
                    Some(postgres::config::Host::Tcp(h)) => h.clone(),
                    Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                    None => String::new(),
                };
                let port = c
                    .get_ports()
                    .first()
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default();
                let db = c.get_dbname().unwrap_or(user);
                let at = if user.is_empty() { "" } else { "@" };
                format!("postgres://{user}{at}{host}{port}/{db}")
            }
        }
    }
}

/// `scheme://user:password@rest` without the password, for messages about
/// a URL that did not even parse.
pub fn redact_url(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    match auth.rsplit_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => s.to_string(),
    }
}

/// The two SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(v as i64)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// Parameters: `vals![a, b, c]`.
#[macro_export]
macro_rules! vals {
    ($($x:expr),* $(,)?) => { [$($crate::db::Val::from($x)),*] };
}

/// A result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    fn at(&self, i: usize) -> &Val {
        self.0.get(i).unwrap_or(&Val::Null)
    }
    pub fn i64(&self, i: usize) -> i64 {
        self.opt_i64(i).unwrap_or(0)
    }
    pub fn opt_i64(&self, i: usize) -> Option<i64> {
        match self.at(i) {
            Val::Int(v) => Some(*v),
            Val::Real(v) => Some(*v as i64),
            Val::Text(s) => s.parse().ok(),
            Val::Null => None,
        }
    }
    pub fn f64(&self, i: usize) -> f64 {
        self.opt_f64(i).unwrap_or(0.0)
    }
    pub fn opt_f64(&self, i: usize) -> Option<f64> {
        match self.at(i) {
            Val::Int(v) => Some(*v as f64),
            Val::Real(v) => Some(*v),
            Val::Text(s) => s.parse().ok(),
            Val::Null => None,
        }
    }
    pub fn str(&self, i: usize) -> String {
        self.opt_str(i).unwrap_or_default()
    }
    pub fn opt_str(&self, i: usize) -> Option<String> {
        match self.at(i) {
            Val::Text(s) => Some(s.clone()),
            Val::Int(v) => Some(v.to_string()),
            Val::Real(v) => Some(v.to_string()),
            Val::Null => None,
        }
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

type BoxErr = Box<dyn StdError + Sync + Send>;

impl ToSql for Val {
    /// Encoded as the type the server inferred for the parameter.
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxErr> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                    v.to_string().to_sql(ty, out)
                }
                _ => v.to_sql(ty, out),
            },
            Val::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::INT8 => (*v as i64).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Val {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Val, BoxErr> {
        Ok(match *ty {
            Type::INT2 => Val::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => Val::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Val::Real(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => Val::Real(f64::from_sql(ty, raw)?),
            Type::BOOL => Val::Int(bool::from_sql(ty, raw)? as i64),
            _ => Val::Text(String::from_sql(ty, raw)?),
        })
    }
    fn from_sql_null(_: &Type) -> std::result::Result<Val, BoxErr> {
        Ok(Val::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `?N` parameters as `$k`, numbered in order of first use; `map[k-1]` is
/// the caller's parameter index (0-based) of `$k`. String literals and
/// quoted identifiers are left alone.
pub fn pg_placeholders(sql: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut map: Vec<usize> = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            out.push(c as char);
            i += 1;
            continue;
        }
        if c == b'\'' || c == b'"' {
            quote = Some(c);
            out.push(c as char);
            i += 1;
            continue;
        }
        if c == b'?' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if let Ok(n) = sql[start..j].parse::<usize>() {
                let idx = n.saturating_sub(1);
                let k = match map.iter().position(|&m| m == idx) {
                    Some(p) => p + 1,
                    None => {
                        map.push(idx);
                        map.len()
                    }
                };
                out.push('$');
                out.push_str(&k.to_string());
                i = j;
                continue;
            }
        }
        // Multi-byte UTF-8 is copied byte-exact through the char boundary.
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        i += ch_len;
    }
    (out, map)
}

/// A PostgreSQL connection and its prepared statements.
pub struct PgConn {
    pub client: postgres::Client,
    /// How it was reached (to reconnect), and its URL without password.
    pub cfg: postgres::Config,
    pub url: String,
    stmts: HashMap<String, (postgres::Statement, Vec<usize>)>,
}

impl PgConn {
    pub fn new(client: postgres::Client, cfg: &postgres::Config, url: &str) -> PgConn {
        PgConn {
            client,
            cfg: cfg.clone(),
            url: url.to_string(),
            stmts: HashMap::new(),
        }
    }

    fn prepared(&mut self, sql: &str) -> Result<(postgres::Statement, Vec<usize>)> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let (text, map) = pg_placeholders(sql);
        let st = self.client.prepare(&text)?;
        if self.stmts.len() > 256 {
            self.stmts.clear();
        }
        self.stmts
            .insert(sql.to_string(), (st.clone(), map.clone()));
        Ok((st, map))
    }
}

/// An open connection.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

fn lite_val(v: rusqlite::types::ValueRef<'_>) -> Val {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(r) => Val::Real(r),
        ValueRef::Text(t) | ValueRef::Blob(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection (SQLite-only code: the writer, migrations).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Sqlite(c) => Some(c),
            Db::Postgres(_) => None,
        }
    }

    /// Run a statement; the rows it changed.
    pub fn exec(&self, sql: &str, p: &[Val]) -> Result<u64> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let n = st.parameter_count().min(p.len());
                Ok(st.execute(rusqlite::params_from_iter(p[..n].iter()))? as u64)
            }
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let (st, map) = pg.prepared(sql)?;
                let args = bind(&map, p);
                Ok(pg.client.execute(&st, &args)?)
            }
        }
    }

    /// Run several statements (no parameters).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Postgres(pg) => Ok(pg.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Every row of a query.
    pub fn rows(&self, sql: &str, p: &[Val]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.each(sql, p, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub fn row(&self, sql: &str, p: &[Val]) -> Result<Option<Row>> {
        Ok(self.rows(sql, p)?.into_iter().next())
    }

    /// Each row of a query in turn, without holding them all.
    pub fn each(&self, sql: &str, p: &[Val], mut f: impl FnMut(Row) -> Result<()>) -> Result<()> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let n = st.parameter_count().min(p.len());
                let cols = st.column_count();
                let mut rows = st.query(rusqlite::params_from_iter(p[..n].iter()))?;
                while let Some(r) = rows.next()? {
                    let mut v = Vec::with_capacity(cols);
                    for i in 0..cols {
                        v.push(lite_val(r.get_ref(i)?));
                    }
                    f(Row(v))?;
                }
                Ok(())
            }
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let (st, map) = pg.prepared(sql)?;
                let args = bind(&map, p);
                let cols = st.columns().len();
                let mut it = pg.client.query_raw(&st, args)?;
                use postgres::fallible_iterator::FallibleIterator as _;
                while let Some(r) = it.next()? {
                    let mut v = Vec::with_capacity(cols);
                    for i in 0..cols {
                        v.push(r.try_get::<_, Val>(i)?);
                    }
                    f(Row(v))?;
                }
                Ok(())
            }
        }
    }
}

fn bind<'a>(map: &[usize], p: &'a [Val]) -> Vec<&'a (dyn ToSql + Sync)> {
    const NULL: Val = Val::Null;
    map.iter()
        .map(|&i| p.get(i).unwrap_or(&NULL) as &(dyn ToSql + Sync))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_renumber_in_use_order() {
        let (s, m) = pg_placeholders("SELECT ?3, '?1', ?1 WHERE a = ?3 AND \"x?2\" = ?10");
        assert_eq!(s, "SELECT $1, '?1', $2 WHERE a = $1 AND \"x?2\" = $3");
        assert_eq!(m, vec![2, 0, 9]);
        assert_eq!(pg_placeholders("é ?2").0, "é $1");
    }

    #[test]
    fn urls_and_env() {
        let env = |k: &str| match k {
            "PGHOST" => Some("db.example".to_string()),
            "PGPORT" => Some("6543".to_string()),
            "PGUSER" => Some("sensor".to_string()),
            "PGPASSWORD" => Some("s3cret".to_string()),
            "PGDATABASE" => Some("netsift".to_string()),
            _ => None,
        };
        let t = Target::parse_with_env("postgres://", env).expect("parse");
        assert_eq!(t.display(), "postgres://sensor@db.example:6543/netsift");
        let Target::Postgres(c) = &t else {
            panic!("postgres")
        };
        assert_eq!(c.get_password(), Some(&b"s3cret"[..]));
        let t = Target::parse_with_env("postgresql://u:pw@10.0.0.1:5433/x", env).expect("parse");
        assert_eq!(t.display(), "postgres://u@10.0.0.1:5433/x");
        assert!(!format!("{t:?}").contains("pw"));
        assert!(matches!(
            Target::parse_with_env("some/file.db", env),
            Ok(Target::Sqlite(_))
        ));
        assert_eq!(
            redact_url("postgres://u:pw@h:1/d?x=1"),
            "postgres://u@h:1/d?x=1"
        );
    }
}

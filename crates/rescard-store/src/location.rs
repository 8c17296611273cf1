//! Where a registry is: `sqlite:PATH`, or a PostgreSQL URL (`postgres://…`, `postgresql://…`). A
//! location shows itself with its password hidden, so that it can go into a log line or an error.

use std::fmt;
use std::path::PathBuf;

use crate::StoreError;

/// A registry's location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its libpq-style URL (which may hold a password).
    Postgres(String),
}

impl Location {
    /// Parses `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Location(
                    "sqlite: needs a file, as in sqlite:data/registry.sqlite".into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err(StoreError::Location(format!(
            "{:?} is not a registry location: use sqlite:PATH or postgres://USER@HOST/DATABASE",
            redact(text)
        )))
    }

    /// Whether this is a PostgreSQL database (shared by replicas).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `url` with any password replaced by `***`: the one in `user:password@`, and a `password=`
/// parameter.
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    if let Some(query) = out.find('?') {
        let (head, params) = out.split_at(query + 1);
        let params: Vec<String> = params
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out = format!("{head}{}", params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_never_show_a_password() {
        assert_eq!(
            Location::parse("sqlite:data/registry.sqlite").expect("sqlite"),
            Location::Sqlite("data/registry.sqlite".into())
        );
        let pg = Location::parse("postgres://rescard:s3cret@db.internal:5432/registry")
            .expect("postgres");
        assert!(pg.is_postgres());
        assert_eq!(
            pg.to_string(),
            "postgres://rescard:***@db.internal:5432/registry"
        );
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert_eq!(
            redact("postgresql://u@h/db?sslmode=require&password=s3cret"),
            "postgresql://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        let err = Location::parse("mysql://root:s3cret@h/db").expect_err("refused");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(Location::parse("sqlite:").is_err());
    }
}

//! Test accounts as data (`load --accounts FILE`): a CSV file with a header row naming spec
//! variables (`email,password`), one row per simulated user. User `k` of the whole run (its
//! global number, across shards) takes row `k`, so shards take disjoint slices and no two users
//! share an account. The values replace the spec's variables of the same names for that user
//! only; they are secrets like any spec variable marked so, and never printed.

use std::path::Path;

/// The rows a run uses, header first.
#[derive(Clone, PartialEq, Eq)]
pub struct Accounts {
    /// Column names: spec variables.
    pub columns: Vec<String>,
    /// One row per user of this process, in user order.
    pub rows: Vec<Vec<String>>,
}

impl std::fmt::Debug for Accounts {
    // Rows hold passwords: never in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// An accounts file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Csv {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: the header row is empty: name spec variables, e.g. `email,password`")]
    NoColumns { path: String },
    #[error("{path}: column `{column}` is given twice")]
    DuplicateColumn { path: String, column: String },
    #[error("{path}: column `{column}` is not a variable of spec `{spec}` (variables: {known})")]
    UnknownColumn {
        path: String,
        column: String,
        spec: String,
        known: String,
    },
    #[error("{path} has {rows} account rows, but {needed} users need one each{detail}: add rows or lower --users")]
    TooFewRows {
        path: String,
        rows: usize,
        needed: usize,
        detail: String,
    },
}

impl Accounts {
    /// Reads `path` and keeps rows `first..first + users` (this shard's users); `total` is the
    /// users of the whole run (every one needs a row), `variables` the spec's variable names.
    pub fn read(
        path: &Path,
        spec: &str,
        variables: &[String],
        first: usize,
        users: usize,
        total: usize,
    ) -> Result<Accounts, AccountsError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| AccountsError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice());
        let csv_error = |e: csv::Error| AccountsError::Csv {
            path: shown.clone(),
            line: e.position().map_or(1, csv::Position::line),
            message: match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("{len} fields, but the header has {expected_len}"),
                csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
                _ => e.to_string(),
            },
        };
        let columns: Vec<String> = reader
            .headers()
            .map_err(csv_error)?
            .iter()
            .map(str::to_owned)
            .collect();
        if columns.iter().all(String::is_empty) {
            return Err(AccountsError::NoColumns { path: shown });
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(AccountsError::DuplicateColumn {
                    path: shown,
                    column: c.clone(),
                });
            }
            if !variables.contains(c) {
                return Err(AccountsError::UnknownColumn {
                    path: shown,
                    column: c.clone(),
                    spec: spec.to_owned(),
                    known: variables.join(", "),
                });
            }
        }
        let mut rows = Vec::new();
        let mut read = 0;
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            if read >= first && read < first + users {
                rows.push(record.iter().map(str::to_owned).collect());
            }
            read += 1;
            if read >= total {
                break;
            }
        }
        if read < total {
            return Err(AccountsError::TooFewRows {
                path: shown,
                rows: read,
                needed: total,
                detail: if users == total {
                    String::new()
                } else {
                    format!(" (this shard takes rows {}..={})", first + 1, first + users)
                },
            });
        }
        Ok(Accounts { columns, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn vars() -> Vec<String> {
        vec!["email".into(), "password".into()]
    }

    #[test]
    fn each_shard_takes_its_own_rows() {
        let f = file("email,password\na@x,1\nb@x,2\nc@x,3\nd@x,4\n");
        let a = Accounts::read(f.path(), "s", &vars(), 2, 2, 4).unwrap();
        assert_eq!(a.columns, vars());
        assert_eq!(a.rows, vec![vec!["c@x", "3"], vec!["d@x", "4"]]);
        assert!(!format!("{a:?}").contains("d@x"), "rows are not printed");
        let e = Accounts::read(f.path(), "s", &vars(), 2, 3, 5).unwrap_err();
        assert_eq!(
            e.to_string().split(':').next_back().unwrap().trim(),
            "add rows or lower --users"
        );
        assert!(
            e.to_string().contains("has 4 account rows, but 5 users"),
            "{e}"
        );
        let e = Accounts::read(f.path(), "s", &vars(), 0, 2, 5).unwrap_err();
        assert!(
            e.to_string().contains("has 4 account rows, but 5 users"),
            "{e}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let f = file("email,pass\na,1\n");
        let e = Accounts::read(f.path(), "drf", &vars(), 0, 1, 1).unwrap_err();
        assert!(
            e.to_string()
                .contains("column `pass` is not a variable of spec `drf`"),
            "{e}"
        );
        let f = file("email,password\na,1,2\n");
        let e = Accounts::read(f.path(), "drf", &vars(), 0, 1, 1).unwrap_err();
        assert!(
            e.to_string().contains(":2: 3 fields, but the header has 2"),
            "{e}"
        );
        let f = file("email,email\na,1\n");
        assert!(matches!(
            Accounts::read(f.path(), "drf", &vars(), 0, 1, 1),
            Err(AccountsError::DuplicateColumn { .. })
        ));
    }
}

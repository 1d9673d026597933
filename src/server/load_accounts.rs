//! Extra accounts for load runs (`serve --accounts N`): `load0@example.com` … with random
//! passwords, created when the server starts, so that every simulated user of a distributed run
//! logs in as its own account (`load --accounts FILE`). Their CSV (`email,password`) is what
//! `load --accounts` reads.

use std::io::{self, Write};

/// Login names and clear-text passwords of the extra accounts.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LoadAccounts(pub Vec<(String, String)>);

impl std::fmt::Debug for LoadAccounts {
    // Passwords are never in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadAccounts({} accounts)", self.0.len())
    }
}

/// Global numbers of the extra accounts start here (they never collide with the fixtures' ids).
pub const FIRST_ID: u64 = 1000;

impl LoadAccounts {
    /// `n` accounts `load{i}@example.com`, each with its own random password.
    pub fn generate(n: usize) -> LoadAccounts {
        LoadAccounts(
            (0..n)
                .map(|i| {
                    (
                        format!("load{i}@example.com"),
                        format!(
                            "load-{:016x}{:016x}",
                            rand::random::<u64>(),
                            rand::random::<u64>()
                        ),
                    )
                })
                .collect(),
        )
    }

    /// The CSV `load --accounts` reads: header `email,password`, one row per account.
    pub fn write_csv<W: Write>(&self, w: W) -> io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["email", "password"])?;
        for (login, password) in &self.0 {
            out.write_record([login, password])?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_accounts_and_their_csv() {
        let a = LoadAccounts::generate(3);
        assert_eq!(a.0[2].0, "load2@example.com");
        assert_ne!(a.0[0].1, a.0[1].1);
        assert!(!format!("{a:?}").contains(&a.0[0].1));
        let mut csv = Vec::new();
        a.write_csv(&mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.starts_with("email,password\nload0@example.com,load-"));
    }
}

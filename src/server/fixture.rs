//! The fixture accounts of each dialect (the specs' default variables, `docs/dialects.md`) and the
//! directory that authenticates against their argon2id hashes.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::load_accounts::LoadAccounts;
use super::passwords::{self, HashCost, HashError};
use super::pool::{HashPool, PoolError};
use super::throttle::Throttle;
use super::Dialect;

/// Whose account: drf-sessions keeps users and clients apart; every other dialect has users only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    User,
    Client,
}

/// An account as seeded: its login name (email, or phone for drf clients) and clear-text password.
struct Seed {
    kind: Kind,
    id: u64,
    login: &'static str,
    password: &'static str,
    profile: Option<Value>,
}

/// One account with its password hash.
#[derive(Debug)]
pub(crate) struct Account {
    pub kind: Kind,
    pub id: u64,
    pub login: String,
    /// drf-sessions: the user/client object shown in session lists.
    pub profile: Option<Value>,
    hash: Arc<str>,
}

/// The result of checking a login name and password.
#[derive(Debug)]
pub(crate) enum Authentication {
    Ok(Arc<Account>),
    WrongPassword,
    UnknownUser,
    /// Too many failed logins in a row for this login name: refused for this long, without
    /// checking the password (`throttle.rs`).
    Throttled(std::time::Duration),
}

/// How a directory deviates from the safe defaults (fault switches).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Weaknesses {
    /// `timing-leak`: no dummy verification for unknown users.
    pub timing_leak: bool,
    /// `no-lockout`: failed logins are never throttled.
    pub no_lockout: bool,
}

/// The accounts of one server; immutable after start-up, so lookups take no lock.
#[derive(Debug)]
pub(crate) struct Directory {
    accounts: HashMap<(Kind, String), Arc<Account>>,
    /// Verified for unknown users, so that they cost the same time as a wrong password.
    dummy: Arc<str>,
    /// Where verifications run: bounded in workers and in waiting logins.
    pool: HashPool,
    /// Failed logins per login name (`None` under `no-lockout`).
    throttle: Option<Throttle>,
    timing_leak: bool,
}

/// The account whose lockout the `lockout` cases provoke (every dialect has it, so that locking
/// it disturbs no other case): the specs' `lockout_email` / `lockout_password` defaults.
pub(crate) const LOCKOUT_LOGIN: &str = "lockout@example.com";
const LOCKOUT_PASSWORD: &str = "lockout-password";

fn seeds(dialect: Dialect) -> Vec<Seed> {
    let user = |id, login, password| Seed {
        kind: Kind::User,
        id,
        login,
        password,
        profile: None,
    };
    let mut seeds = match dialect {
        Dialect::JsonapiSessions => {
            vec![user(1, "ada@example.com", "correct horse battery staple")]
        }
        Dialect::SessionsService => vec![user(1, "jane@example.com", "s3cret-Passw0rd")],
        Dialect::RailsJwt => vec![user(1, "foo@bar.com", "foobar")],
        Dialect::FormSessions => vec![user(1, "example1@example.com", "somepassword")],
        Dialect::DrfSessions => vec![
            Seed {
                profile: Some(drf_user(5, "user3", "+79137779135")),
                ..user(5, "user3@gmail.com", "user3-password")
            },
            Seed {
                profile: Some(drf_user(6, "user4", "+79137779136")),
                ..user(6, "user4@gmail.com", "user4-password")
            },
            Seed {
                profile: Some(drf_user(7, "user5", "+79137779137")),
                ..user(7, "user5@gmail.com", "user5-password")
            },
            Seed {
                kind: Kind::Client,
                id: 1,
                login: "+79137779135",
                password: "client1-password",
                profile: Some(drf_client()),
            },
        ],
    };
    let lockout_id = if dialect == Dialect::DrfSessions {
        99
    } else {
        2
    };
    let mut lockout = user(lockout_id, LOCKOUT_LOGIN, LOCKOUT_PASSWORD);
    if dialect == Dialect::DrfSessions {
        lockout.profile = Some(drf_user(lockout_id, "lockout", "+79130000099"));
    }
    seeds.push(lockout);
    seeds
}

/// A drf user object, exactly the twelve fields of the document's example.
fn drf_user(id: u64, name: &str, phone: &str) -> Value {
    json!({
        "id": id,
        "surname": name,
        "name": name,
        "patronymic": name,
        "address": format!("{name}address"),
        "email": format!("{name}@gmail.com"),
        "phone": phone,
        "image": format!("host/sessions/session-user-l/{id}/static/Users/default-user-image.jpeg"),
        "confirmed_email": true,
        "confirmed_phone": false,
        "created_at": "2021-09-08T12:22:26.072030Z",
        "updated_at": "2021-09-08T15:11:20.864802Z"
    })
}

/// The drf client object, exactly the fields of the document's example.
fn drf_client() -> Value {
    json!({
        "id": 1,
        "surname": "Client1",
        "name": "Client1",
        "patronymic": "Client1",
        "address": "Client1",
        "phone": "+79137779135",
        "image": "host/sessions/session-user-l/5/static/Users/default-user-image.jpeg",
        "confirmed_phone": false,
        "created_at": "2021-09-08T12:22:26.072030Z",
        "updated_at": "2021-09-08T15:11:20.864802Z"
    })
}

impl Directory {
    /// Hashes every fixture password of `dialect` (and the dummy); logins are verified on `pool`.
    /// CPU-bound: run it off the async workers.
    #[cfg(test)]
    pub(crate) fn build(
        dialect: Dialect,
        cost: HashCost,
        pool: HashPool,
        weak: Weaknesses,
    ) -> Result<Directory, HashError> {
        Self::build_with(dialect, cost, pool, weak, &LoadAccounts::default())
    }

    /// [`Directory::build`] with extra accounts for load runs (users; drf users get a profile).
    pub(crate) fn build_with(
        dialect: Dialect,
        cost: HashCost,
        pool: HashPool,
        weak: Weaknesses,
        extra: &LoadAccounts,
    ) -> Result<Directory, HashError> {
        let mut accounts = HashMap::new();
        for (i, (login, password)) in extra.0.iter().enumerate() {
            let id = super::load_accounts::FIRST_ID + i as u64;
            let profile = (dialect == Dialect::DrfSessions).then(|| {
                let mut p = drf_user(id, &format!("load{i}"), &format!("+7900{id:07}"));
                p["email"] = Value::String(login.clone());
                p
            });
            let account = Account {
                kind: Kind::User,
                id,
                login: login.clone(),
                profile,
                hash: passwords::hash(cost, password)?.into(),
            };
            accounts.insert((Kind::User, login.clone()), Arc::new(account));
        }
        for seed in seeds(dialect) {
            let account = Account {
                kind: seed.kind,
                id: seed.id,
                login: seed.login.to_string(),
                profile: seed.profile,
                hash: passwords::hash(cost, seed.password)?.into(),
            };
            accounts.insert((seed.kind, account.login.clone()), Arc::new(account));
        }
        let dummy = passwords::hash(cost, "dummy password that matches nobody")?.into();
        Ok(Directory {
            accounts,
            dummy,
            pool,
            throttle: (!weak.no_lockout).then(Throttle::default),
            timing_leak: weak.timing_leak,
        })
    }

    /// Every account, by kind and id.
    pub(crate) fn accounts(&self) -> Vec<&Arc<Account>> {
        let mut all: Vec<&Arc<Account>> = self.accounts.values().collect();
        all.sort_by_key(|a| (a.kind as u8, a.id));
        all
    }

    /// The account of `kind` with this id (drf lists).
    pub(crate) fn by_id(&self, kind: Kind, id: u64) -> Option<&Arc<Account>> {
        self.accounts
            .values()
            .find(|a| a.kind == kind && a.id == id)
    }

    /// Checks a login name and password. Exactly one argon2 verification runs on the hash pool
    /// whether or not the account exists (none for an unknown one under `timing-leak`); none at
    /// all when the pool is full ([`PoolError::Overloaded`], the same for every account, known or
    /// not) or the login name is locked ([`Authentication::Throttled`], known or not).
    pub(crate) async fn authenticate(
        &self,
        kind: Kind,
        login: &str,
        password: &str,
    ) -> Result<Authentication, PoolError> {
        let key = format!("{}:{login}", kind as u8);
        if let Some(left) = self
            .throttle
            .as_ref()
            .and_then(|t| t.locked(&key, std::time::Instant::now()))
        {
            return Ok(Authentication::Throttled(left));
        }
        let result = self.verify(kind, login, password).await?;
        if let Some(t) = &self.throttle {
            let ok = matches!(result, Authentication::Ok(_));
            t.record(&key, ok, std::time::Instant::now());
        }
        Ok(result)
    }

    async fn verify(
        &self,
        kind: Kind,
        login: &str,
        password: &str,
    ) -> Result<Authentication, PoolError> {
        let account = self.accounts.get(&(kind, login.to_string())).cloned();
        if account.is_none() && self.timing_leak {
            return Ok(Authentication::UnknownUser);
        }
        let hash = account
            .as_ref()
            .map_or_else(|| self.dummy.clone(), |a| a.hash.clone());
        let password = password.to_string();
        let matches = self
            .pool
            .run(move |memory| passwords::verify(memory, &hash, &password))
            .await?;
        Ok(match account {
            Some(account) if matches => Authentication::Ok(account),
            Some(_) => Authentication::WrongPassword,
            None => Authentication::UnknownUser,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn authenticates_each_dialects_fixture() {
        let cases = [
            (
                Dialect::JsonapiSessions,
                Kind::User,
                "ada@example.com",
                "correct horse battery staple",
            ),
            (
                Dialect::SessionsService,
                Kind::User,
                "jane@example.com",
                "s3cret-Passw0rd",
            ),
            (Dialect::RailsJwt, Kind::User, "foo@bar.com", "foobar"),
            (
                Dialect::FormSessions,
                Kind::User,
                "example1@example.com",
                "somepassword",
            ),
            (
                Dialect::DrfSessions,
                Kind::User,
                "user3@gmail.com",
                "user3-password",
            ),
            (
                Dialect::DrfSessions,
                Kind::Client,
                "+79137779135",
                "client1-password",
            ),
        ];
        for (dialect, kind, login, password) in cases {
            let dir = Directory::build(
                dialect,
                HashCost::Low,
                HashPool::new(1, 0),
                Weaknesses::default(),
            )
            .unwrap();
            assert!(matches!(
                dir.authenticate(kind, login, password).await,
                Ok(Authentication::Ok(_))
            ));
            assert!(matches!(
                dir.authenticate(kind, login, "nope").await,
                Ok(Authentication::WrongPassword)
            ));
            assert!(matches!(
                dir.authenticate(kind, "nobody@example.com", password).await,
                Ok(Authentication::UnknownUser)
            ));
        }
    }

    #[tokio::test]
    async fn a_full_pool_refuses_known_and_unknown_users_alike() {
        let pool = HashPool::new(1, 0);
        let dir = Directory::build(
            Dialect::RailsJwt,
            HashCost::Low,
            pool.clone(),
            Weaknesses::default(),
        )
        .unwrap();
        // Occupy the only worker until released.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let busy = tokio::spawn(async move {
            pool.run(move |_| {
                let _ = started.send(());
                let _ = gate.recv_timeout(std::time::Duration::from_secs(5));
            })
            .await
        });
        running.await.unwrap();
        for (login, password) in [
            ("foo@bar.com", "foobar"),
            ("foo@bar.com", "nope"),
            ("nobody@example.com", "foobar"),
        ] {
            assert!(matches!(
                dir.authenticate(Kind::User, login, password).await,
                Err(PoolError::Overloaded)
            ));
        }
        release.send(()).unwrap();
        assert!(busy.await.unwrap().is_ok());
        assert!(matches!(
            dir.authenticate(Kind::User, "foo@bar.com", "foobar").await,
            Ok(Authentication::Ok(_))
        ));
    }

    /// `timing-leak` answers an unknown user without any verification: with the only worker
    /// busy and no queue, the clean directory is overloaded for an unknown user, the leaky one
    /// answers at once.
    #[tokio::test]
    async fn timing_leak_skips_the_dummy_hash() {
        for (leak, unknown_overloaded) in [(false, true), (true, false)] {
            let pool = HashPool::new(1, 0);
            let weak = Weaknesses {
                timing_leak: leak,
                ..Weaknesses::default()
            };
            let dir =
                Directory::build(Dialect::RailsJwt, HashCost::Low, pool.clone(), weak).unwrap();
            let (release, gate) = std::sync::mpsc::channel::<()>();
            let (started, running) = tokio::sync::oneshot::channel::<()>();
            let busy = tokio::spawn(async move {
                pool.run(move |_| {
                    let _ = started.send(());
                    let _ = gate.recv_timeout(std::time::Duration::from_secs(5));
                })
                .await
            });
            running.await.unwrap();
            let r = dir
                .authenticate(Kind::User, "nobody@example.com", "x")
                .await;
            assert_eq!(matches!(r, Err(PoolError::Overloaded)), unknown_overloaded);
            assert!(matches!(
                dir.authenticate(Kind::User, "foo@bar.com", "x").await,
                Err(PoolError::Overloaded)
            ));
            release.send(()).unwrap();
            assert!(busy.await.unwrap().is_ok());
        }
    }

    #[tokio::test]
    async fn failed_logins_lock_the_name_unless_no_lockout() {
        for no_lockout in [false, true] {
            let weak = Weaknesses {
                no_lockout,
                ..Weaknesses::default()
            };
            let dir = Directory::build(Dialect::RailsJwt, HashCost::Low, HashPool::new(1, 8), weak)
                .unwrap();
            for _ in 0..super::super::throttle::THRESHOLD {
                let r = dir.authenticate(Kind::User, LOCKOUT_LOGIN, "wrong").await;
                assert!(matches!(r, Ok(Authentication::WrongPassword)));
            }
            let r = dir
                .authenticate(Kind::User, LOCKOUT_LOGIN, LOCKOUT_PASSWORD)
                .await;
            assert_eq!(matches!(r, Ok(Authentication::Throttled(_))), !no_lockout);
            // Other names are not affected.
            assert!(matches!(
                dir.authenticate(Kind::User, "foo@bar.com", "foobar").await,
                Ok(Authentication::Ok(_))
            ));
        }
    }

    #[test]
    fn drf_profiles_match_the_document() {
        let dir = Directory::build(
            Dialect::DrfSessions,
            HashCost::Low,
            HashPool::new(1, 0),
            Weaknesses::default(),
        )
        .unwrap();
        let user = dir
            .by_id(Kind::User, 5)
            .and_then(|a| a.profile.clone())
            .unwrap();
        assert_eq!(user.as_object().map(serde_json::Map::len), Some(12));
        assert_eq!(
            user["image"],
            "host/sessions/session-user-l/5/static/Users/default-user-image.jpeg"
        );
        assert_eq!(user["address"], "user3address");
        let client = dir
            .by_id(Kind::Client, 1)
            .and_then(|a| a.profile.clone())
            .unwrap();
        assert_eq!(client.as_object().map(serde_json::Map::len), Some(10));
        assert!(dir.by_id(Kind::Client, 5).is_none());
        assert_eq!(
            dir.by_id(Kind::User, 6).map(|a| a.login.as_str()),
            Some("user4@gmail.com")
        );
    }
}

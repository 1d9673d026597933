//! The shipped specs and scenarios, compiled into the binary: `--spec NAME` and `--scenario NAME`
//! work from any directory (after `cargo install` too). A `specs/` or `scenarios/` folder beside
//! the run (or `--specs-dir`/`--scenarios-dir`) wins; these are the fallback. A test checks this
//! list against the folders, so a new file cannot be forgotten.

/// One shipped document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// `rails-jwt`.
    pub name: &'static str,
    /// Where it lives in the repository (`specs/rails-jwt.json`), shown in messages as `builtin:PATH`.
    pub path: &'static str,
    pub text: &'static str,
}

/// Every shipped spec.
pub const SPECS: &[Builtin] = &[
    Builtin {
        name: "drf-sessions",
        path: "specs/drf-sessions.json",
        text: include_str!("../specs/drf-sessions.json"),
    },
    Builtin {
        name: "form-sessions",
        path: "specs/form-sessions.json",
        text: include_str!("../specs/form-sessions.json"),
    },
    Builtin {
        name: "jsonapi-sessions",
        path: "specs/jsonapi-sessions.json",
        text: include_str!("../specs/jsonapi-sessions.json"),
    },
    Builtin {
        name: "rails-jwt",
        path: "specs/rails-jwt.json",
        text: include_str!("../specs/rails-jwt.json"),
    },
    Builtin {
        name: "sessions-service",
        path: "specs/sessions-service.json",
        text: include_str!("../specs/sessions-service.json"),
    },
];

/// Every shipped scenario.
pub const SCENARIOS: &[Builtin] = &[
    Builtin {
        name: "drf-held-session",
        path: "scenarios/drf-held-session.json",
        text: include_str!("../scenarios/drf-held-session.json"),
    },
    Builtin {
        name: "drf-login-list-logout",
        path: "scenarios/drf-login-list-logout.json",
        text: include_str!("../scenarios/drf-login-list-logout.json"),
    },
    Builtin {
        name: "drf-mixed",
        path: "scenarios/drf-mixed.json",
        text: include_str!("../scenarios/drf-mixed.json"),
    },
    Builtin {
        name: "drf-rejected-token",
        path: "scenarios/drf-rejected-token.json",
        text: include_str!("../scenarios/drf-rejected-token.json"),
    },
    Builtin {
        name: "form-login-logout",
        path: "scenarios/form-login-logout.json",
        text: include_str!("../scenarios/form-login-logout.json"),
    },
    Builtin {
        name: "jsonapi-login-logout",
        path: "scenarios/jsonapi-login-logout.json",
        text: include_str!("../scenarios/jsonapi-login-logout.json"),
    },
    Builtin {
        name: "rails-jwt-login",
        path: "scenarios/rails-jwt-login.json",
        text: include_str!("../scenarios/rails-jwt-login.json"),
    },
    Builtin {
        name: "sessions-service-login-logout",
        path: "scenarios/sessions-service-login-logout.json",
        text: include_str!("../scenarios/sessions-service-login-logout.json"),
    },
];

/// The shipped spec called `name`.
pub fn spec(name: &str) -> Option<&'static Builtin> {
    SPECS.iter().find(|b| b.name == name)
}

/// The shipped scenario called `name`.
pub fn scenario(name: &str) -> Option<&'static Builtin> {
    SCENARIOS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &str) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect();
        names.sort();
        names
    }

    #[test]
    fn every_shipped_file_is_built_in() {
        let specs: Vec<String> = SPECS.iter().map(|b| b.name.to_owned()).collect();
        assert_eq!(specs, names_in("specs"));
        let scenarios: Vec<String> = SCENARIOS.iter().map(|b| b.name.to_owned()).collect();
        assert_eq!(scenarios, names_in("scenarios"));
        assert!(spec("rails-jwt").is_some_and(|b| b.text.contains("\"rails-jwt\"")));
        assert!(scenario("nope").is_none());
    }
}

//! Which parts of hookgate a process runs, and how it starts.

/// Which parts of hookgate this process runs. The HTTP server (health, metrics, read API)
/// runs in every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The webhook route's event relay (`serve`).
    pub receive: bool,
    /// The read-model worker, the notification relay and the HTTP notifiers (`work`).
    pub work: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        receive: true,
        work: true,
    };
    pub const SERVE: Roles = Roles {
        receive: true,
        work: false,
    };
    pub const WORK: Roles = Roles {
        receive: false,
        work: true,
    };

    /// The command that runs these roles.
    pub fn name(&self) -> &'static str {
        match (self.receive, self.work) {
            (true, true) => "run",
            (true, false) => "serve",
            _ => "work",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    pub migrate: bool,
    pub roles: Roles,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            migrate: true,
            roles: Roles::ALL,
        }
    }
}

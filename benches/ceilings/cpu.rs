//! CPU time per part of the machine, read from /proc.

/// CPU seconds used so far by each part, from /proc (Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    postgres: f64,
    rabbitmq: f64,
    hookgate: f64,
    /// This process: the load generator (and the verifying queries).
    load: f64,
}

impl Cpu {
    /// `hookgate`: the pid of the hookgate process, when one runs.
    pub fn now(hookgate: Option<u32>) -> Cpu {
        // Kernel clock ticks; 100 per second on every Linux this runs on.
        fn seconds(stat: &str) -> Option<(String, f64)> {
            let (comm, rest) = stat.rsplit_once(") ")?;
            let comm = comm.split_once(" (")?.1.to_owned();
            let fields: Vec<&str> = rest.split(' ').collect();
            // After the command: state is field 0, utime 11, stime 12.
            let ticks: f64 =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some((comm, ticks / 100.0))
        }
        let mut cpu = Cpu::default();
        let own = std::process::id();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Some((comm, used)) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| seconds(&stat))
            else {
                continue;
            };
            match comm.as_str() {
                _ if Some(pid) == hookgate => cpu.hookgate += used,
                _ if pid == own => cpu.load += used,
                "postgres" => cpu.postgres += used,
                "beam.smp" => cpu.rabbitmq += used,
                _ => {}
            }
        }
        cpu
    }

    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            postgres: self.postgres - earlier.postgres,
            rabbitmq: self.rabbitmq - earlier.rabbitmq,
            hookgate: self.hookgate - earlier.hookgate,
            load: self.load - earlier.load,
        }
    }

    fn total(&self) -> f64 {
        self.postgres + self.rabbitmq + self.hookgate + self.load
    }

    /// PostgreSQL's CPU per event, in microseconds.
    pub fn postgres_micros_per_event(&self, events: u64) -> f64 {
        self.postgres * 1e6 / events.max(1) as f64
    }

    /// PostgreSQL's, RabbitMQ's and hookgate's CPU together per event, in microseconds.
    pub fn services_micros_per_event(&self, events: u64) -> f64 {
        (self.postgres + self.rabbitmq + self.hookgate) * 1e6 / events.max(1) as f64
    }

    /// `| phase | PostgreSQL | RabbitMQ | hookgate | load generator | total | busy |`, in µs
    /// of CPU per event, and how busy the machine's cores were.
    pub fn row(&self, phase: &str, events: u64, seconds: f64) -> String {
        let per_event = |used: f64| format!("{:.0}", used * 1e6 / events.max(1) as f64);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "| {phase} | {} | {} | {} | {} | {} | {:.0}% |",
            per_event(self.postgres),
            per_event(self.rabbitmq),
            per_event(self.hookgate),
            per_event(self.load),
            per_event(self.total()),
            self.total() / (seconds * cores) * 100.0
        )
    }
}

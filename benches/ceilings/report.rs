//! The figures of one run, each with its ceiling, ratio and target, and the CPU each part spent.

use super::{seconds, Cpu, CONNECTIONS};
use hookgate::load_generator::{load::LoadReport, verify::Verification};

/// Each part's rate alone, with the CPU it took.
pub struct Ceilings {
    pub postgres: (f64, Cpu),
    pub rabbitmq: (f64, Cpu),
    pub http: (f64, Cpu),
}

/// hookgate with the relay and workers idle.
pub struct IdleRun {
    pub accept: LoadReport,
    pub accept_cpu: Cpu,
    pub memory: f64,
    /// Events the inbox held before the measurement.
    pub stored: u64,
    /// The inbox's size with its indexes before the measurement, in MiB.
    pub inbox_mib: f64,
}

/// `hookgate serve` under load, until its relay published every accepted event.
pub struct RelayRun {
    pub loaded: LoadReport,
    pub cpu: Cpu,
    pub seconds: f64,
    pub memory: f64,
}

/// hookgate with the whole pipeline running.
pub struct FullRun {
    pub loaded: LoadReport,
    pub e2e: Verification,
    pub e2e_cpu: Cpu,
    pub e2e_seconds: f64,
    pub memory: f64,
}

struct Line {
    what: &'static str,
    value: String,
    ceiling: String,
    ratio: Option<f64>,
    target: &'static str,
    met: Option<bool>,
}

impl Line {
    fn ceiling(what: &'static str, rate: f64) -> Line {
        Line {
            what,
            value: format!("{rate:.0}"),
            ceiling: "-".into(),
            ratio: None,
            target: "",
            met: None,
        }
    }

    /// A figure with its target; `ratio` to the ceiling when there is one.
    fn target(
        what: &'static str,
        value: String,
        ceiling: String,
        ratio: Option<f64>,
        (target, met): (&'static str, bool),
    ) -> Line {
        Line {
            what,
            value,
            ceiling,
            ratio,
            target,
            met: Some(met),
        }
    }

    fn print(&self) {
        let ratio = self.ratio.map(|r| format!("{:.0}%", r * 100.0));
        let met = match self.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        println!(
            "| {} | {} | {} | {} | {} | {met} |",
            self.what,
            self.value,
            self.ceiling,
            ratio.unwrap_or_default(),
            self.target,
        );
    }
}

pub fn print(ceilings: &Ceilings, idle: &IdleRun, relay: &RelayRun, full: &FullRun) {
    let postgres = ceilings.postgres.0;
    let accept = idle.accept.accepted_per_second;
    let accept_p99 = idle.accept.latency.p99_ms;
    let e2e = &full.e2e;
    let e2e_ratio = e2e.events_per_second / postgres;
    let postgres_cpu = full.e2e_cpu.postgres_micros_per_event(e2e.events);
    let services_cpu = full.e2e_cpu.services_micros_per_event(e2e.events);
    let relay_cpu = relay.cpu.services_micros_per_event(relay.loaded.accepted);
    let memory = idle.memory.max(relay.memory).max(full.memory);
    let lines = [
        Line::ceiling(
            "PostgreSQL ceiling: batched insert-or-ignore (rows/s)",
            postgres,
        ),
        Line::ceiling(
            "RabbitMQ ceiling: confirmed publishes (msgs/s)",
            ceilings.rabbitmq.0,
        ),
        Line::ceiling("HTTP+HMAC ceiling (req/s)", ceilings.http.0),
        Line::target(
            "accept rate, relay and workers idle (events/s)",
            format!("{accept:.0}"),
            format!("{postgres:.0} (PostgreSQL)"),
            Some(accept / postgres),
            (">= 20%", accept / postgres >= 0.20),
        ),
        Line::target(
            "accept p99 at saturation (ms)",
            format!("{accept_p99:.1}"),
            format!("{CONNECTIONS} connections"),
            None,
            ("<= 50 ms", accept_p99 <= 50.0),
        ),
        Line::target(
            "end to end, to the last notification (events/s)",
            format!(
                "{:.0} (lost {}, twice {})",
                e2e.events_per_second, e2e.lost, e2e.applied_twice
            ),
            format!("{postgres:.0} (PostgreSQL)"),
            Some(e2e_ratio),
            (
                ">= 7%, 0 lost",
                e2e_ratio >= 0.07 && e2e.lost == 0 && e2e.applied_twice == 0,
            ),
        ),
        Line::target(
            "PostgreSQL CPU per event, end to end (µs)",
            format!("{postgres_cpu:.0}"),
            "-".into(),
            None,
            ("<= 120 µs", postgres_cpu <= 120.0),
        ),
        Line::target(
            "PostgreSQL, RabbitMQ and hookgate CPU per event, end to end (µs)",
            format!("{services_cpu:.0}"),
            "-".into(),
            None,
            ("<= 300 µs", services_cpu <= 300.0),
        ),
        Line::target(
            "the same per accepted event, `serve` with its relay running (µs)",
            format!("{relay_cpu:.0}"),
            "-".into(),
            None,
            ("<= 180 µs", relay_cpu <= 180.0),
        ),
        Line::target(
            "receiver peak RSS (MiB)",
            format!("{memory:.1}"),
            "-".into(),
            None,
            ("< 150 MiB", memory < 150.0),
        ),
    ];
    println!("| measurement | result | ceiling | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    lines.iter().for_each(Line::print);
    print_cpu(ceilings, idle, relay, full);
}

/// The end-to-end figures alone, for a statement profile.
pub fn print_end_to_end(full: &FullRun) {
    let e2e = &full.e2e;
    println!(
        "\nend to end: {} events, {:.0}/s to the last notification, lost {}, applied twice {}",
        e2e.events, e2e.events_per_second, e2e.lost, e2e.applied_twice,
    );
    println!("\n| phase | PostgreSQL | RabbitMQ | hookgate | load generator | total | busy |");
    println!("|---|---|---|---|---|---|---|");
    let phase = "end to end";
    println!("{}", full.e2e_cpu.row(phase, e2e.events, full.e2e_seconds));
}

fn print_cpu(ceilings: &Ceilings, idle: &IdleRun, relay: &RelayRun, full: &FullRun) {
    println!("\nCPU per event (µs) while measuring, and how busy the cores were:\n");
    println!("| phase | PostgreSQL | RabbitMQ | hookgate | load generator | total | busy |");
    println!("|---|---|---|---|---|---|---|");
    let measured = seconds().as_secs_f64();
    for (phase, (rate, cpu)) in [
        ("PostgreSQL ceiling (per row)", ceilings.postgres),
        ("RabbitMQ ceiling (per message)", ceilings.rabbitmq),
        (
            "HTTP ceiling (per request; server in the load generator)",
            ceilings.http,
        ),
    ] {
        println!("{}", cpu.row(phase, (rate * measured) as u64, measured));
    }
    let accept = &idle.accept;
    let phase = "accept, relay and workers idle";
    println!(
        "{}",
        idle.accept_cpu.row(phase, accept.accepted, accept.seconds)
    );
    let phase = "`serve` with its relay (load, then until every event is published)";
    println!(
        "{}",
        relay.cpu.row(phase, relay.loaded.accepted, relay.seconds)
    );
    let phase = "end to end (load, then until every event is processed and notified)";
    let e2e = &full.e2e;
    println!("{}", full.e2e_cpu.row(phase, e2e.events, full.e2e_seconds));
    println!(
        "\naccept at saturation (idle pipeline): p50 {:.1} ms, p99 {:.1} ms; accept rate with the \
         whole pipeline running {:.0}/s (p99 {:.1} ms); end-to-end latency p50 {:.1} ms, p99 {:.1} ms; \
         {CONNECTIONS} connections, {} s per measurement",
        accept.latency.p50_ms,
        accept.latency.p99_ms,
        full.loaded.accepted_per_second,
        full.loaded.latency.p99_ms,
        e2e.latency.p50_ms,
        e2e.latency.p99_ms,
        seconds().as_secs(),
    );
}

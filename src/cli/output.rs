//! How commands print: a table or progress bar for a person at a terminal, JSON and plain
//! lines for scripts and logs.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// JSON when asked, or when stdout is not a terminal.
pub fn wants_json(flag: bool) -> bool {
    flag || !std::io::stdout().is_terminal()
}

pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Progress of a long operation: a bar on a terminal, a line every `every` items otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: &'static str,
    every: u64,
}

impl Progress {
    pub fn new(label: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(label);
            bar
        });
        Progress {
            bar,
            label,
            every: 500,
        }
    }

    pub fn update(&self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None if done == total || done.is_multiple_of(self.every) => {
                eprintln!("{}: {done}/{total}", self.label);
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let text = table(
            &["EVENT", "ATTEMPTS"],
            &[
                vec!["a-long-id".into(), "1".into()],
                vec!["b".into(), "12".into()],
            ],
        );
        assert_eq!(text, "EVENT      ATTEMPTS\na-long-id  1\nb          12\n");
    }
}

//! `samla-custodian status`: whether the custodian is running and ready, which
//! domains it serves, and each kommun's use of its limit this period.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use samla_common::local_time::format_stockholm;
use samla_custodian::config::CustodianConfig;
use samla_custodian::status;
use samla_custodian::store::Store;

use super::args::ConfigArg;

/// A checked `status`.
pub(super) struct Status {
    config: CustodianConfig,
    store: Store,
}

impl Status {
    pub(super) fn prepare(args: ConfigArg) -> Result<Status> {
        let config = CustodianConfig::load(&args.config)?;
        let store = Store::open(&config.database)?;
        Ok(Status { config, store })
    }

    pub(super) fn run(self) -> Result<ExitCode> {
        let now = time::OffsetDateTime::now_utc();
        let mut out = std::io::stdout().lock();
        let path = status::path_for(&self.config.database);
        let ready = match status::read(&path) {
            Ok(s) => {
                let ready = status::is_ready(&s, now.unix_timestamp());
                writeln!(
                    out,
                    "custodian {} of key {}: {} (pid {}, {}), since {}",
                    s.custodian,
                    s.key_id,
                    if ready { "ready" } else { "not running" },
                    s.pid,
                    s.listen,
                    shown(s.started_at)
                )?;
                writeln!(
                    out,
                    "since start: {} batches, {} evaluations, {} refused",
                    s.batches, s.evaluations, s.refused
                )?;
                ready
            }
            Err(_) => {
                writeln!(out, "not running (no status file {})", path.display())?;
                false
            }
        };
        let limit = self.config.rate_limit;
        writeln!(
            out,
            "limit: {} evaluations per kommun per {} s",
            limit.evaluations, limit.period_seconds
        )?;
        for (slot, domain) in self.store.bindings()? {
            writeln!(out, "slot {}: {domain}", slot.0)?;
        }
        let period = i64::from(limit.period_seconds.max(1));
        let current = now.unix_timestamp() - now.unix_timestamp().rem_euclid(period);
        for k in self.store.windows()? {
            let used = if k.window.start == current {
                k.window.used
            } else {
                0
            };
            writeln!(
                out,
                "kommun {}: {used} of {} this period (until {})",
                k.kommun,
                limit.evaluations,
                shown(current + period)
            )?;
        }
        let (size, _) = self.store.stored_root()?;
        writeln!(out, "log: {size} entries")?;
        Ok(if ready {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

fn shown(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(format_stockholm)
        .unwrap_or_else(|_| at.to_string())
}

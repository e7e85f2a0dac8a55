//! `analyze alerts`: evaluates the alert rules now (recording firing and resolved alerts in
//! `alert_state`), delivers what changed to the configured notifiers, and shows the alerts
//! firing and those resolved in the last [`RESOLVED_SHOWN_MINUTES`] (docs/metrics.md, "Alerts").
//! `--fail-on-alert` exits 3 while any alert fires.

use super::{Ctx, Filter};
use crate::alerts::{self, Inputs, Stored};
use crate::error::{Error, Result};
use crate::render::{self, Grid, Report};
use serde::Serialize;
use serde_json::{json, Value};

/// Resolved alerts are shown this long after they stopped firing.
pub const RESOLVED_SHOWN_MINUTES: i64 = 60;

/// Arguments of `analyze alerts`.
#[derive(clap::Args, Debug, Clone)]
pub struct AlertsArgs {
    /// Exit 3 when at least one alert is firing (for cron and CI).
    #[arg(long)]
    pub fail_on_alert: bool,
    /// Evaluate and show, but send nothing: another evaluator delivers (`analyze serve`'s
    /// pages and API use this; its background task delivers).
    #[arg(long)]
    pub no_deliver: bool,
}

/// One alert as shown.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRow {
    pub rule: String,
    pub subject: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub severity: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub message: String,
    /// When it started firing (ISO-8601, UTC).
    pub since: String,
    /// The last evaluation that saw it firing.
    pub last_seen: String,
    pub resolved: Option<String>,
    /// The last state handed to the notifiers (null: not yet).
    pub delivered: Option<String>,
    pub delivery_attempts: i64,
    pub delivery_error: Option<String>,
}

impl From<Stored> for AlertRow {
    fn from(s: Stored) -> AlertRow {
        AlertRow {
            rule: s.rule,
            subject: s.subject,
            state: s.state,
            severity: s.severity,
            value: s.value,
            threshold: s.threshold,
            message: s.message,
            since: crate::timeparse::format_ms(s.since_ms),
            last_seen: crate::timeparse::format_ms(s.last_seen_ms),
            resolved: s.resolved_ms.map(crate::timeparse::format_ms),
            delivered: s.delivered,
            delivery_attempts: s.attempts,
            delivery_error: s.last_error,
        }
    }
}

/// The alerts report.
#[derive(Debug, Clone, Serialize)]
pub struct Alerts {
    pub evaluated_at: String,
    pub firing: usize,
    pub resolved_window_minutes: i64,
    pub alerts: Vec<AlertRow>,
    /// What this run delivered (null with --no-deliver).
    pub delivery: Option<alerts::Delivery>,
}

/// What an evaluation takes from a reader's context.
pub fn inputs(ctx: &Ctx) -> Inputs<'_> {
    Inputs {
        cfg: &ctx.cfg.alerts,
        hung_after_minutes: ctx.cfg.hung_after_minutes,
        lost_after_minutes: ctx.cfg.lost_after_minutes,
        prices: &ctx.prices,
        now: ctx.now,
    }
}

/// Evaluates (and unless `deliver` is false, delivers), then reads what to show.
pub fn compute(ctx: &Ctx, deliver: bool) -> Result<Alerts> {
    let i = inputs(ctx);
    let delivery = if deliver {
        Some(alerts::evaluate_and_deliver(&ctx.store, &i)?.delivery)
    } else {
        alerts::evaluate(&ctx.store, &i)?;
        None
    };
    let (rows, _) = alerts::read(&ctx.store, ctx.now - RESOLVED_SHOWN_MINUTES * 60_000)?;
    let alerts: Vec<AlertRow> = rows.into_iter().map(AlertRow::from).collect();
    Ok(Alerts {
        evaluated_at: crate::timeparse::format_ms(ctx.now),
        firing: alerts.iter().filter(|a| a.state == "firing").count(),
        resolved_window_minutes: RESOLVED_SHOWN_MINUTES,
        alerts,
        delivery,
    })
}

/// A value in its rule's unit: a rate, a duration, USD, tokens, a count.
pub fn format_value(rule: &str, subject: &str, v: Option<f64>) -> String {
    let Some(x) = v else { return "-".into() };
    match rule {
        "success_rate" => render::pct(Some(x)),
        "duration" => render::dur(Some(x)),
        "hung" => render::dur(Some(x * 60_000.0)),
        "budget" if subject == "daily_tokens" => render::int(x.round() as i64),
        "budget" => render::usd(Some(x)),
        _ => render::int(x.round() as i64),
    }
}

impl Report for Alerts {
    fn command(&self) -> &'static str {
        "alerts"
    }
    fn json(&self) -> Value {
        json!({
            "evaluated_at": self.evaluated_at,
            "firing": self.firing,
            "resolved_window_minutes": self.resolved_window_minutes,
            "alerts": self.alerts,
            "delivery": self.delivery,
        })
    }
    fn grids(&self) -> Vec<Grid> {
        if self.alerts.is_empty() {
            return Vec::new();
        }
        let mut g = Grid::new(&[
            "State",
            "Severity",
            "Rule",
            "Subject",
            "Value",
            "Threshold",
            "Since (UTC)",
            "Message",
        ])
        .numeric(&[4, 5]);
        g.rows = self
            .alerts
            .iter()
            .map(|a| {
                vec![
                    a.state.clone(),
                    a.severity.clone(),
                    a.rule.clone(),
                    if a.subject.is_empty() {
                        "(all)".into()
                    } else {
                        a.subject.clone()
                    },
                    format_value(&a.rule, &a.subject, a.value),
                    format_value(&a.rule, &a.subject, a.threshold),
                    render::iso_seconds(&a.since),
                    a.message.clone(),
                ]
            })
            .collect();
        vec![g]
    }
    fn notes(&self) -> Vec<String> {
        let resolved = self.alerts.len() - self.firing;
        let mut notes = vec![if self.firing == 0 {
            format!(
                "No alerts firing (evaluated {}).",
                render::iso_seconds(&self.evaluated_at)
            )
        } else {
            format!(
                "{} firing (evaluated {}).",
                self.firing,
                render::iso_seconds(&self.evaluated_at)
            )
        }];
        if resolved > 0 {
            notes.push(format!(
                "{resolved} resolved in the last {} min.",
                self.resolved_window_minutes
            ));
        }
        if let Some(d) = self.delivery.filter(|d| d.sent + d.failed > 0) {
            notes.push(format!(
                "Notified: {} sent, {} failed (retried later).",
                d.sent, d.failed
            ));
        }
        notes
    }
}

/// Runs `analyze alerts`. Alerts ignore the reports' filters: each rule has its own window.
pub fn run(ctx: &Ctx, filter: &Filter, args: &AlertsArgs, format: render::Format) -> Result<bool> {
    if !filter.is_empty() {
        return Err(Error::InvalidArgument(
            "alerts takes no filters (--since, --until, --days, --agent, --project, --session): each rule has its own window (docs/metrics.md, \"Alerts\")".into(),
        ));
    }
    let a = compute(ctx, !args.no_deliver)?;
    render::print(&a, format)?;
    if args.fail_on_alert && a.firing > 0 {
        return Err(Error::AlertsFiring(a.firing));
    }
    Ok(true)
}

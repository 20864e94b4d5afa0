//! Today, the console's home page: the day's totals in the workspace's time zone, deliveries
//! by channel and outcome, the failures to look at, an hourly chart of the last 24 hours
//! (server-drawn SVG) and readiness with a link to fix each item.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::auth::{Need, Visitor};
use super::layout::{Layout, render};
use crate::domain::catalog::Lang;
use crate::domain::settings::TimeZone;
use crate::domain::today::Outcome;
use crate::error::AppError;
use crate::store::Db;
use crate::usecases::today::{self, Today};

/// The chart's drawing area in SVG units; the SVG scales to its box.
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 160.0;
/// Room left of the bars for the scale, below them for the hours.
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 20.0;

/// One hour's bar, placed.
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub count: i64,
    /// `14:00–15:00`.
    pub span: String,
    /// The hour written under every third bar and the last: `14:00`.
    pub tick: Option<String>,
}

/// The hourly chart, laid out in Rust so the template only writes what it is given.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub max: i64,
    pub total: i64,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    /// The y of the bars' baseline.
    pub base: f64,
}

impl Chart {
    pub fn new(hours: &[(NaiveDateTime, i64)], tz: TimeZone) -> Chart {
        let max = hours.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let plot = CHART_H - BOTTOM;
        let slot = (CHART_W - LEFT) / hours.len().max(1) as f64;
        let last = hours.len().saturating_sub(1);
        let hour = |t: NaiveDateTime| tz.local(t).format("%H:%M").to_string();
        let bars = hours
            .iter()
            .enumerate()
            .map(|(i, (start, n))| {
                // A bar of one alert stays visible beside a tall one.
                let height = if max == 0 || *n == 0 {
                    0.0
                } else {
                    (plot * *n as f64 / max as f64).max(2.0)
                };
                Bar {
                    x: round(LEFT + slot * i as f64 + 1.0),
                    y: round(plot - height),
                    width: round(slot - 2.0),
                    height: round(height),
                    count: *n,
                    span: format!(
                        "{}–{}",
                        hour(*start),
                        hour(*start + chrono::Duration::hours(1))
                    ),
                    tick: (i % 3 == 0 || i == last).then(|| hour(*start)),
                }
            })
            .collect();
        Chart {
            bars,
            max,
            total: hours.iter().map(|(_, n)| n).sum(),
            width: CHART_W,
            height: CHART_H,
            left: LEFT,
            base: plot,
        }
    }
}

/// SVG coordinates to a tenth of a unit: shorter markup, the same picture.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[derive(Template)]
#[template(path = "today/index.html")]
pub struct TodayPage {
    pub layout: Layout,
    pub today: Today,
    pub chart: Chart,
    pub outcomes: [Outcome; 3],
}

impl TodayPage {
    pub fn when(&self, t: &NaiveDateTime) -> String {
        self.layout.minute(t)
    }

    /// `since 00:00 on 2026-12-03 (Asia/Shanghai)`.
    pub fn since(&self) -> String {
        let local = self.layout.tz.local(self.today.since);
        format!(
            "since {} on {} ({})",
            local.format("%H:%M"),
            local.format("%Y-%m-%d"),
            self.layout.tz.name()
        )
    }

    /// `SMS`; a code this build does not know, as stored.
    pub fn channel(&self, code: &str) -> String {
        crate::domain::notification::Channel::parse(code)
            .map(|c| c.label().to_string())
            .unwrap_or_else(|_| code.to_string())
    }

    pub fn state(&self, d: &crate::store::outbox::DeliveryRow) -> &'static str {
        d.state().map(|s| s.label()).unwrap_or("Failed")
    }

    pub fn gaps(&self, u: &crate::domain::readiness::UnreadyContact) -> String {
        u.gaps_text(Lang::En)
    }
}

pub async fn show(
    db: web::Data<Db>,
    session: Session,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let (user, ()) = visitor.read(&db, Need::Member, |_, _| Ok(())).await?;
    let now = crate::store::now();
    let (index, tz) = (db.contact_index(), user.time_zone);
    let today = today::gather(&db, index, &user.workspace_id, tz, now).await?;
    let layout = Layout::new(&session, &user);
    let page = TodayPage {
        chart: Chart::new(&today.hours, tz),
        outcomes: Outcome::ALL,
        layout,
        today,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_hour_and_hours_read_in_the_zone() {
        let start =
            NaiveDateTime::parse_from_str("2026-12-03 00:00", "%Y-%m-%d %H:%M").unwrap_or_default();
        let hours: Vec<(NaiveDateTime, i64)> = (0..24)
            .map(|i| {
                (
                    start + chrono::Duration::hours(i),
                    if i == 5 { 400 } else { i % 2 },
                )
            })
            .collect();
        let sh = TimeZone::parse("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let c = Chart::new(&hours, sh);
        assert_eq!((c.max, c.total), (400, 411));
        let tallest = &c.bars[5];
        assert_eq!((tallest.y, tallest.height), (0.0, CHART_H - BOTTOM));
        // One alert beside four hundred still shows; none draws nothing.
        assert_eq!(c.bars[1].height, 2.0);
        assert_eq!(c.bars[0].height, 0.0);
        // 00:00 UTC is 08:00 in Shanghai.
        assert_eq!(c.bars[0].span, "08:00–09:00");
        assert_eq!(c.bars[0].tick.as_deref(), Some("08:00"));
        assert_eq!(c.bars[1].tick, None);
        assert_eq!(c.bars[23].tick.as_deref(), Some("07:00"));
        assert!(c.bars.windows(2).all(|w| w[1].x > w[0].x + w[0].width));
    }

    #[test]
    fn a_quiet_day_draws_empty_bars() {
        let hours = vec![(NaiveDateTime::default(), 0); 24];
        let c = Chart::new(&hours, TimeZone::UTC);
        assert!(c.bars.iter().all(|b| b.height == 0.0));
        assert_eq!(c.max, 0);
    }
}

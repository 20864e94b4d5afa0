//! The delivery engine: what turns committed notifications into messages. Workers claim due
//! deliveries from the outbox with a lease, send after the claim has committed, and record
//! every attempt; a timer flushes groups whose wait or interval has passed and resolves alerts
//! past their end. New work wakes the workers at once; polling only catches expired leases and
//! work queued by other processes. Nothing is held in memory that a restart would lose: a
//! process killed mid-send leaves leases that expire, and the deliveries are sent again.

pub mod rate_limit;
pub mod retry;
pub mod send;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;

use crate::background::Background;
use crate::channels::chat;
use crate::channels::chat::ChatMessage;
use crate::channels::{CallReports, Providers};
use crate::domain::Language;
use crate::domain::catalog::Lang;
use crate::domain::mention::Mentions;
use crate::domain::notification::{CallOutcome, Channel, DeliveryState};
use crate::domain::settings::TimeZone;
use crate::metrics::{Metrics, Tried, Waiting};
use crate::outbound::{self, TargetPolicy};
use crate::store::bind_links;
use crate::store::chatbots::{self, Chatbot};
use crate::store::outbox::{self, Attempt, Job, NotificationRow, Settle};
use crate::store::webhooks::{self, Webhook};
use crate::store::{
    ChatbotId, ContactId, Db, DeliveryId, StoreError, WebhookId, contacts, workspaces,
};
use crate::usecases::daily_stats;
use crate::usecases::fallback::{self, FollowedUp};
use crate::usecases::notify::{self, Notifier};
use rate_limit::RateLimits;
use send::{Senders, Speaks, Try};

/// How long a placed call may take to report its outcome before it counts as not reached: a
/// call rings for up to a minute, and providers report within seconds of its end.
pub const CALL_OUTCOME_WAIT: chrono::Duration = chrono::Duration::seconds(180);

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How long a claimed delivery is held before another worker may take it.
    pub lease: chrono::Duration,
    /// Deliveries claimed at once.
    pub batch: i64,
    /// Sends in flight at once per worker.
    pub concurrency: usize,
    /// Workers claiming in turn (one sends while another claims or records).
    pub workers: usize,
    /// Herald's public address, for links in messages.
    pub external_url: String,
    pub policy: TargetPolicy,
    /// How long one send may take.
    pub timeout: Duration,
    /// The safety-net poll.
    pub poll: Duration,
    /// How long after placing a call its provider is first asked how it went (providers
    /// that answer queries: a report exists only once the call has ended).
    pub call_report_delay: chrono::Duration,
}

#[derive(Clone)]
pub struct Engine(Arc<Inner>);

struct Inner {
    db: Db,
    senders: Senders,
    settings: EngineSettings,
    wake: Notify,
    limits: Mutex<RateLimits>,
    metrics: Metrics,
}

/// A delivery's target, loaded once per batch, with the language and time zone its messages
/// are written in.
enum Target {
    /// With the bot's "Bind mobile phone number" link.
    Chatbot(Chatbot, Lang, String),
    Webhook(Webhook),
    Person(Speaks),
    Gone(String),
}

/// What one batch sends: each delivery alone, or several for one chatbot merged.
enum Unit {
    One(Job),
    Chat(ChatbotId, Vec<Job>),
}

impl Engine {
    pub fn new(db: Db, providers: Providers, metrics: Metrics, settings: EngineSettings) -> Engine {
        let http = outbound::client(settings.policy, settings.timeout);
        Engine(Arc::new(Inner {
            senders: Senders {
                http,
                policy: settings.policy,
                providers,
            },
            db,
            settings,
            wake: Notify::new(),
            limits: Mutex::new(RateLimits::default()),
            metrics,
        }))
    }

    /// New deliveries were committed: a waiting worker starts at once.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Who places calls: the callback routes check reports against its secret.
    pub fn voice(&self) -> std::sync::Arc<dyn crate::channels::VoiceCaller> {
        self.0.senders.providers.voice.clone()
    }

    pub fn external_url(&self) -> &str {
        &self.0.settings.external_url
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Starts the workers and the timer on the background runtime.
    pub fn start(&self, background: &Background) {
        for _ in 0..self.0.settings.workers.max(1) {
            background.spawn(self.clone().deliver_forever());
        }
        background.spawn(self.clone().tick_forever());
    }

    async fn deliver_forever(self) {
        loop {
            match self.deliver_once().await {
                Ok(0) => self.idle().await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox unavailable; will retry");
                    tokio::time::sleep(self.0.settings.poll).await;
                }
            }
        }
    }

    /// Waits for a wake-up, the next due delivery, or the poll, whichever comes first.
    async fn idle(&self) {
        let next = self
            .0
            .db
            .run(outbox::next_delivery_due)
            .await
            .ok()
            .flatten();
        let poll = self.0.settings.poll;
        let wait = next
            .map(|due| {
                (due - crate::store::now())
                    .to_std()
                    .unwrap_or_default()
                    .min(poll)
            })
            .unwrap_or(poll);
        tokio::select! {
            _ = self.0.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }

    /// One claim, its sends, one record of them all. Answers how many were claimed.
    pub async fn deliver_once(&self) -> Result<usize, StoreError> {
        let s = &self.0.settings;
        let (lease, batch) = (s.lease, s.batch);
        let now = crate::store::now();
        if !self.0.db.read(move |c| outbox::claimable(c, now)).await? {
            return Ok(0);
        }
        let jobs = self
            .0
            .db
            .run(move |c| outbox::claim(c, crate::store::now(), lease, batch))
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let claimed = jobs.len();
        if claimed as i64 >= batch {
            // More is waiting: another worker may claim while this one sends.
            self.wake();
        }
        let (notes, targets) = self.load(&jobs).await?;
        let units = self.units(jobs, &targets);
        let settled: Vec<Vec<(DeliveryId, Settle)>> = futures_util::stream::iter(units)
            .map(|u| self.send_unit(u, &notes, &targets))
            .buffer_unordered(s.concurrency.max(1))
            .collect()
            .await;
        let settled: Vec<(DeliveryId, Settle)> = settled.into_iter().flatten().collect();
        let followed = self
            .0
            .db
            .run(move |c| fallback::settle(c, crate::store::now(), &settled))
            .await?;
        self.followed_up(&followed);
        Ok(claimed)
    }

    async fn load(
        &self,
        jobs: &[Job],
    ) -> Result<
        (
            HashMap<crate::store::NotificationId, NotificationRow>,
            HashMap<String, Target>,
        ),
        StoreError,
    > {
        let note_ids: Vec<_> = jobs.iter().map(|j| j.notification_id.clone()).collect();
        let wanted: Vec<(Channel, crate::store::WorkspaceId, String)> = jobs
            .iter()
            .filter_map(|j| Some((j.channel()?, j.workspace_id.clone(), j.target_id.clone())))
            .collect();
        let base = self.external_url().trim_end_matches('/').to_string();
        self.0
            .db
            .run(move |c| {
                let notes = outbox::notifications(c, &note_ids)?;
                let mut targets = HashMap::new();
                let mut bind_key: Option<String> = None;
                let mut spaces: HashMap<crate::store::WorkspaceId, (Language, TimeZone)> =
                    HashMap::new();
                for (channel, ws, id) in wanted {
                    if targets.contains_key(&id) {
                        continue;
                    }
                    if !spaces.contains_key(&ws) {
                        let w = workspaces::get(c, &ws)?;
                        spaces.insert(ws.clone(), (w.default_language(), w.time_zone()));
                    }
                    let (default, tz) = spaces
                        .get(&ws)
                        .copied()
                        .unwrap_or((Language::English, TimeZone::UTC));
                    let gone = || {
                        Target::Gone(format!(
                            "the {} was deleted",
                            channel.label().to_lowercase()
                        ))
                    };
                    let target = match channel {
                        Channel::Chatbot => {
                            match ChatbotId::parse(&id).map(|b| chatbots::get(c, &ws, &b)) {
                                Some(Ok(bot)) => {
                                    // The server key is read once per batch, not per bot.
                                    let key = match &bind_key {
                                        Some(k) => k.clone(),
                                        None => bind_key.insert(bind_links::key(c)?).clone(),
                                    };
                                    let token = bind_links::token_of(c, &key, &bot.id)?;
                                    let link = format!("{base}/b/{token}");
                                    Target::Chatbot(bot, Lang::of(default, default), link)
                                }
                                Some(Err(StoreError::NotFound)) | None => gone(),
                                Some(Err(e)) => return Err(e),
                            }
                        }
                        Channel::Webhook => {
                            match WebhookId::parse(&id).map(|w| webhooks::get(c, &ws, &w)) {
                                Some(Ok(hook)) => Target::Webhook(hook),
                                Some(Err(StoreError::NotFound)) | None => gone(),
                                Some(Err(e)) => return Err(e),
                            }
                        }
                        _ => {
                            // A contact speaks their own language; the last-resort address the
                            // workspace's.
                            let own = match ContactId::parse(&id) {
                                Some(cid) => match contacts::get(c, &ws, &cid) {
                                    Ok(contact) => contact.language(),
                                    Err(StoreError::NotFound) => default,
                                    Err(e) => return Err(e),
                                },
                                None => default,
                            };
                            Target::Person(Speaks {
                                lang: Lang::of(own, default),
                                tz,
                            })
                        }
                    };
                    targets.insert(id, target);
                }
                Ok((notes, targets))
            })
            .await
    }

    /// Deliveries for the same chatbot go as one message.
    fn units(&self, jobs: Vec<Job>, targets: &HashMap<String, Target>) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut chats: BTreeMap<String, Vec<Job>> = BTreeMap::new();
        for job in jobs {
            match targets.get(&job.target_id) {
                Some(Target::Chatbot(..)) => {
                    chats.entry(job.target_id.clone()).or_default().push(job)
                }
                _ => units.push(Unit::One(job)),
            }
        }
        for (bot, jobs) in chats {
            if let Some(id) = ChatbotId::parse(&bot) {
                units.push(Unit::Chat(id, jobs));
            }
        }
        units
    }

    async fn send_unit(
        &self,
        unit: Unit,
        notes: &HashMap<crate::store::NotificationId, NotificationRow>,
        targets: &HashMap<String, Target>,
    ) -> Vec<(DeliveryId, Settle)> {
        let payload = |job: &Job| {
            notes
                .get(&job.notification_id)
                .and_then(|n| serde_json::from_str::<serde_json::Value>(&n.payload).ok())
        };
        let s = &self.0.senders;
        match unit {
            Unit::Chat(id, jobs) => {
                let Some(Target::Chatbot(bot, lang, link)) = targets.get(id.as_str()) else {
                    return Vec::new();
                };
                let taken = self
                    .0
                    .limits
                    .lock()
                    .map(|mut l| l.take(id.as_str(), bot.platform, std::time::Instant::now()))
                    .unwrap_or(Ok(()));
                if let Err(wait) = taken {
                    // Whole seconds, so everything held back by the same send comes due at
                    // the same moment and goes out merged in one message.
                    let until = rate_limit::whole_second(
                        crate::store::now()
                            + chrono::Duration::from_std(wait)
                                .unwrap_or(chrono::Duration::seconds(60)),
                    );
                    let why = rate_limit::describe(bot.platform);
                    return jobs
                        .into_iter()
                        .map(|j| {
                            (
                                j.id,
                                Settle::Wait {
                                    until,
                                    why: why.clone(),
                                },
                            )
                        })
                        .collect();
                }
                let datas: Vec<serde_json::Value> = jobs.iter().filter_map(payload).collect();
                let refs: Vec<&serde_json::Value> = datas.iter().collect();
                let stored: Vec<Mentions> = jobs
                    .iter()
                    .filter_map(|j| {
                        Mentions::from_stored(j.mentions.as_deref())
                            .map_err(|e| {
                                tracing::error!(delivery = %j.id, error = %e, "sent without its @mentions")
                            })
                            .ok()
                    })
                    .collect();
                let mentions = Mentions::merge(&stored);
                let tried =
                    send::to_chatbot(s, bot, &send::merged(&refs), *lang, &mentions, link).await;
                jobs.iter()
                    .map(|j| (j.id.clone(), self.settle(j, notes, &tried)))
                    .collect()
            }
            Unit::One(job) => {
                let tried = match (job.channel(), payload(&job), targets.get(&job.target_id)) {
                    (_, None, _) => Try::refused("the notification's data could not be read"),
                    (_, _, Some(Target::Gone(why))) => Try::refused(why.clone()),
                    (Some(Channel::Webhook), Some(data), Some(Target::Webhook(hook))) => {
                        send::to_webhook(s, hook, &data, &job).await
                    }
                    (Some(channel), Some(data), Some(Target::Person(speaks))) => {
                        send::to_person(s, channel, &job, &data, *speaks).await
                    }
                    (Some(channel), Some(_), _) => {
                        Try::refused(format!("no {} target was loaded", channel.label()))
                    }
                    (None, _, _) => Try::refused(format!("unknown channel {:?}", job.channel)),
                };
                vec![(job.id.clone(), self.settle(&job, notes, &tried))]
            }
        }
    }

    /// The attempt recorded and counted, and where the delivery goes next.
    fn settle(
        &self,
        job: &Job,
        notes: &HashMap<crate::store::NotificationId, NotificationRow>,
        tried: &Try,
    ) -> Settle {
        let at = tried.started + chrono::Duration::milliseconds(i64::from(tried.duration_ms));
        let m = &self.0.metrics;
        let count = |outcome: &str| {
            m.deliveries
                .get_or_create(&Tried {
                    channel: job.channel.clone(),
                    outcome: outcome.into(),
                })
                .inc();
        };
        let attempt = Attempt {
            at: tried.started,
            duration_ms: tried.duration_ms,
            outcome: tried.outcome().into(),
            code: tried.code.clone(),
            message: tried.message.clone(),
        };
        if let (Ok(()), Some(Channel::Phone), Some(reference)) =
            (&tried.result, job.channel(), &tried.code)
            && self.0.senders.providers.voice.reports() != CallReports::Never
        {
            // Placed: delivered or not is the call's outcome, which comes later.
            count("placed");
            return Settle::Calling {
                attempt: Attempt {
                    outcome: "placed".into(),
                    message: format!("call placed ({reference}); waiting for its outcome"),
                    ..attempt
                },
                reference: reference.clone(),
                deadline: at + CALL_OUTCOME_WAIT,
            };
        }
        count(tried.outcome());
        let (state, due_at) = match &tried.result {
            Ok(()) => {
                if let Some(n) = notes.get(&job.notification_id) {
                    let secs = (at - n.received_at).num_milliseconds().max(0) as f64 / 1000.0;
                    m.delivery_latency.observe(secs);
                }
                (DeliveryState::Delivered, None)
            }
            Err(failure) => {
                let attempt = job.attempts + 1;
                let (state, due) = retry::after_failure(
                    failure,
                    attempt,
                    job.created_at,
                    at,
                    rand::random::<f64>(),
                );
                if state == DeliveryState::Failed {
                    m.deliveries
                        .get_or_create(&Tried {
                            channel: job.channel.clone(),
                            outcome: "failed".into(),
                        })
                        .inc();
                }
                (state, due)
            }
        };
        Settle::Tried {
            attempt,
            state,
            due_at,
        }
    }

    /// Counts what following up failures did; queued hops are sent at once.
    pub fn followed_up(&self, done: &FollowedUp) {
        self.0.metrics.followed_up(done);
        if !done.hops.is_empty() {
            self.wake();
        }
    }

    /// A call's outcome, pushed by the provider or chosen on the Dev outbox page. False when
    /// no call waits under `reference`.
    pub async fn call_outcome(
        &self,
        reference: String,
        outcome: CallOutcome,
    ) -> Result<bool, StoreError> {
        let done = self
            .0
            .db
            .run(move |c| fallback::record_call(c, &reference, outcome, crate::store::now()))
            .await?;
        if let Some(done) = &done {
            self.count_call(outcome);
            self.followed_up(done);
        }
        Ok(done.is_some())
    }

    fn count_call(&self, outcome: CallOutcome) {
        let code = if outcome == CallOutcome::Answered {
            "delivered"
        } else {
            outcome.code()
        };
        self.0
            .metrics
            .deliveries
            .get_or_create(&Tried {
                channel: Channel::Phone.code().into(),
                outcome: code.into(),
            })
            .inc();
    }

    /// Sends the daily statistics due at `now` that this process claims (another process on
    /// the same database claims none of the same), and records how each went. Answers how
    /// many were sent.
    pub async fn send_daily_stats(&self, now: chrono::NaiveDateTime) -> usize {
        let index = self.0.db.contact_index();
        let claimed = match self
            .0
            .db
            .run(move |c| daily_stats::claim_due(c, &index, now))
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "daily statistics not checked; will retry");
                return 0;
            }
        };
        let mut sent = 0;
        for item in claimed {
            let target = chat::Bot {
                platform: item.bot.platform,
                webhook_url: item.bot.webhook_url.clone(),
                secret: item.bot.secret.clone(),
                keyword: item.bot.keyword.clone(),
            };
            let message = ChatMessage {
                title: item.title.clone(),
                text: item.text.clone(),
                ..ChatMessage::default()
            };
            let s = &self.0.senders;
            let answer = chat::send(&s.http, s.policy, &target, &message).await;
            let ok = answer.outcome.is_ok();
            sent += usize::from(ok);
            let detail = answer.explanation.clone();
            if let Err(e) = self
                .0
                .db
                .run(move |c| daily_stats::finish(c, &item, ok, &detail, crate::store::now()))
                .await
            {
                tracing::warn!(error = %e, "daily statistics outcome not recorded");
            }
        }
        sent
    }

    /// Calls waiting for their outcome: asked of providers that answer queries, and ended as
    /// not reached once their deadline passed.
    async fn check_calls(&self) {
        let voice = self.0.senders.providers.voice.clone();
        if voice.reports() == CallReports::Queried {
            let waiting = self
                .0
                .db
                .run(|c| crate::store::chains::waiting_calls(c, None, 50))
                .await
                .unwrap_or_default();
            for call in waiting {
                // The call needs time to ring and end before its report exists.
                if crate::store::now() - call.due_at < self.0.settings.call_report_delay {
                    continue;
                }
                let Some(reference) = call.provider_ref else {
                    continue;
                };
                if let Some(outcome) = voice.outcome(&reference).await
                    && let Err(e) = self.call_outcome(reference, outcome).await
                {
                    tracing::warn!(error = %e, "call outcome not recorded; will retry");
                }
            }
        }
        match self
            .0
            .db
            .run(|c| fallback::expire_calls(c, crate::store::now()))
            .await
        {
            Ok((expired, done)) => {
                for _ in 0..expired {
                    self.count_call(CallOutcome::NoOutcome);
                }
                self.followed_up(&done);
            }
            Err(e) => tracing::warn!(error = %e, "overdue calls not ended; will retry"),
        }
    }

    /// Every second: due groups notify; every five: alerts past their end resolve, the outbox
    /// gauges are refreshed, and so are the planner's statistics of tables that grew.
    async fn tick_forever(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            match self.flush_due().await {
                Ok(0) => {}
                Ok(_) => self.wake(),
                Err(e) => tracing::warn!(error = %e, "due groups not flushed; will retry"),
            }
            if n.is_multiple_of(5) {
                self.send_daily_stats(crate::store::now()).await;
                self.check_calls().await;
                self.resolve_expired().await;
                self.refresh_gauges().await;
                self.refresh_statistics().await;
            }
        }
    }

    /// Groups whose time has come notify. Answers how many notifications were queued.
    pub async fn flush_due(&self) -> Result<usize, StoreError> {
        let (index, url) = (self.0.db.contact_index(), self.external_url().to_string());
        let queued = self
            .0
            .db
            .run(move |c| {
                let n = Notifier {
                    index: &index,
                    external_url: &url,
                };
                notify::flush_due(c, n, crate::store::now())
            })
            .await?;
        self.0.metrics.notifications.inc_by(queued as u64);
        Ok(queued)
    }

    async fn resolve_expired(&self) {
        let (index, url) = (self.0.db.contact_index(), self.external_url().to_string());
        let done = self
            .0
            .db
            .run(move |c| {
                let n = Notifier {
                    index: &index,
                    external_url: &url,
                };
                notify::resolve_expired(c, n, crate::store::now())
            })
            .await;
        match done {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(resolved = n, "alerts past their end resolved");
                self.wake();
            }
            Err(e) => tracing::warn!(error = %e, "resolving expired alerts failed; will retry"),
        }
    }

    async fn refresh_statistics(&self) {
        match self.0.db.run(crate::store::statistics::refresh).await {
            Ok(tables) if !tables.is_empty() => {
                tracing::debug!(?tables, "planner statistics refreshed");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "planner statistics not refreshed; will retry"),
        }
    }

    async fn refresh_gauges(&self) {
        let Ok(depth) = self
            .0
            .db
            .run(|c| outbox::depth(c, crate::store::now()))
            .await
        else {
            return;
        };
        let m = &self.0.metrics;
        for (state, n) in [
            ("due", depth.due),
            ("throttled", depth.throttled),
            ("retrying", depth.retrying),
            ("sending", depth.sending),
        ] {
            m.outbox
                .get_or_create(&Waiting {
                    state: state.into(),
                })
                .set(n);
        }
        m.oldest_due_seconds.set(depth.oldest_due_secs);
    }
}

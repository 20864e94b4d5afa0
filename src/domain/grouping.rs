//! Alertmanager's grouping, per policy: which group an alert joins, when a group is due to
//! notify (group wait, group interval, repeat interval), and what a due group says. Pure: the
//! store keeps the state, the dispatcher applies these answers to it.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDateTime};

use crate::domain::alert::{AlertStatus, Labels};
use crate::domain::ids::AlertId;
use crate::domain::policy::Policy;

/// In a policy's group-by list: group by every label (each alert its own group).
pub const ALL_LABELS: &str = "...";

/// The labels that name an alert's group under `group_by`: the listed labels the alert has
/// (an absent label is left out, as in Alertmanager), or all of them for `...`. No list: one
/// group for everything the policy takes.
pub fn group_labels(labels: &Labels, group_by: &[String]) -> Labels {
    if group_by.iter().any(|l| l == ALL_LABELS) {
        return labels.clone();
    }
    group_by
        .iter()
        .filter_map(|name| labels.get(name).map(|v| (name.clone(), v.clone())))
        .collect()
}

/// The group key as stored: the group labels as a JSON object (sorted, so equal sets give
/// equal keys).
pub fn group_key(group_labels: &Labels) -> String {
    serde_json::to_string(group_labels).unwrap_or_else(|_| "{}".into())
}

/// A policy's three intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub wait: Duration,
    pub interval: Duration,
    pub repeat: Duration,
}

impl Timing {
    pub fn of(policy: &Policy) -> Timing {
        Timing {
            wait: Duration::seconds(i64::from(policy.group_wait_secs.max(0))),
            interval: Duration::seconds(i64::from(policy.group_interval_secs.max(1))),
            repeat: Duration::minutes(i64::from(policy.repeat_minutes.max(1))),
        }
    }
}

/// A group's state between notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub created_at: NaiveDateTime,
    /// When the next notification is due; None: nothing pending.
    pub flush_at: Option<NaiveDateTime>,
    pub last_notified_at: Option<NaiveDateTime>,
    /// The alerts that were firing when the group last notified.
    pub notified_firing: BTreeSet<AlertId>,
}

impl GroupState {
    /// A group born at `at`: due after the group wait.
    pub fn new(at: NaiveDateTime, timing: Timing) -> GroupState {
        GroupState {
            created_at: at,
            flush_at: Some(at + timing.wait),
            last_notified_at: None,
            notified_firing: BTreeSet::new(),
        }
    }

    /// An alert of the group changed at `at` (joined, fired again, resolved): the group is
    /// due after its wait when it never notified, else one group interval after it last did
    /// (at once when that has passed). An earlier due time is kept.
    pub fn changed(&mut self, at: NaiveDateTime, timing: Timing) {
        let due = match self.last_notified_at {
            None => self.created_at + timing.wait,
            Some(last) => (last + timing.interval).max(at),
        };
        self.flush_at = Some(self.flush_at.map_or(due, |f| f.min(due)));
    }

    pub fn is_due(&self, at: NaiveDateTime) -> bool {
        self.flush_at.is_some_and(|f| f <= at)
    }
}

/// One member of a group as a flush sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub alert: AlertId,
    pub status: AlertStatus,
}

/// What a due group does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    /// The notification to send, if any: its status and the alerts it names.
    pub notify: Option<(AlertStatus, Vec<AlertId>)>,
    /// The state to keep; None: the group is over (everything resolved) and is removed.
    pub next: Option<GroupState>,
    /// Resolved members that leave the group (they rejoin if they fire again).
    pub leave: Vec<AlertId>,
}

/// A due group at `at`, as Alertmanager decides it: notify when a firing alert is new since
/// the last notification, when a notified alert resolved and the policy tells resolves, or
/// when the repeat interval has passed while anything fires; once nothing fires, one last
/// resolved notification (if the policy tells resolves) and the group ends.
pub fn flush(
    state: &GroupState,
    timing: Timing,
    members: &[Member],
    notify_resolved: bool,
    at: NaiveDateTime,
) -> Flush {
    let firing: BTreeSet<AlertId> = members
        .iter()
        .filter(|m| m.status == AlertStatus::Firing)
        .map(|m| m.alert.clone())
        .collect();
    let resolved_told: Vec<AlertId> = members
        .iter()
        .filter(|m| m.status == AlertStatus::Resolved && state.notified_firing.contains(&m.alert))
        .map(|m| m.alert.clone())
        .collect();
    let leave: Vec<AlertId> = members
        .iter()
        .filter(|m| m.status == AlertStatus::Resolved)
        .map(|m| m.alert.clone())
        .collect();
    if firing.is_empty() {
        let notify = (notify_resolved && !resolved_told.is_empty())
            .then_some((AlertStatus::Resolved, resolved_told));
        return Flush {
            notify,
            next: None,
            leave,
        };
    }
    let news = !firing.is_subset(&state.notified_firing);
    let resolves = notify_resolved && !resolved_told.is_empty();
    let repeat_due = state
        .last_notified_at
        .is_none_or(|last| at >= last + timing.repeat);
    if news || resolves || repeat_due {
        let mut named: Vec<AlertId> = firing.iter().cloned().collect();
        if notify_resolved {
            named.extend(resolved_told);
        }
        return Flush {
            notify: Some((AlertStatus::Firing, named)),
            next: Some(GroupState {
                created_at: state.created_at,
                flush_at: Some(at + timing.repeat),
                last_notified_at: Some(at),
                notified_firing: firing,
            }),
            leave,
        };
    }
    let last = state.last_notified_at.unwrap_or(at);
    Flush {
        notify: None,
        next: Some(GroupState {
            flush_at: Some(last + timing.repeat),
            ..state.clone()
        }),
        leave,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .expect("time")
            .naive_utc()
    }

    const TIMING: Timing = Timing {
        wait: Duration::seconds(30),
        interval: Duration::seconds(300),
        repeat: Duration::seconds(3600),
    };

    fn ids(n: usize) -> Vec<AlertId> {
        (0..n).map(|_| AlertId::new()).collect()
    }

    fn member(a: &AlertId, status: AlertStatus) -> Member {
        Member {
            alert: a.clone(),
            status,
        }
    }

    #[test]
    fn group_labels_follow_the_list_and_skip_absent_labels() {
        let labels: Labels = [("alertname", "Down"), ("job", "api"), ("env", "prod")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let by = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            group_key(&group_labels(&labels, &by(&["alertname", "cluster"]))),
            r#"{"alertname":"Down"}"#
        );
        assert_eq!(group_key(&group_labels(&labels, &[])), "{}");
        assert_eq!(group_labels(&labels, &by(&["..."])), labels);
    }

    #[test]
    fn a_new_group_waits_then_notifies_its_firing_alerts() {
        let a = ids(2);
        let state = GroupState::new(t(0), TIMING);
        assert!(!state.is_due(t(29)) && state.is_due(t(30)));
        let members = [
            member(&a[0], AlertStatus::Firing),
            member(&a[1], AlertStatus::Firing),
        ];
        let f = flush(&state, TIMING, &members, true, t(30));
        let (status, named) = f.notify.expect("notifies");
        assert_eq!(status, AlertStatus::Firing);
        assert_eq!(named.len(), 2);
        let next = f.next.expect("kept");
        assert_eq!(next.flush_at, Some(t(3630)));
        assert_eq!(next.last_notified_at, Some(t(30)));
    }

    #[test]
    fn changes_wait_for_the_group_interval() {
        let a = ids(2);
        let mut state = GroupState::new(t(0), TIMING);
        let f = flush(
            &state,
            TIMING,
            &[member(&a[0], AlertStatus::Firing)],
            true,
            t(30),
        );
        state = f.next.expect("kept");
        // A second alert joins 10 s later: due one group interval after the notification.
        state.changed(t(40), TIMING);
        assert_eq!(state.flush_at, Some(t(330)));
        let f = flush(
            &state,
            TIMING,
            &[
                member(&a[0], AlertStatus::Firing),
                member(&a[1], AlertStatus::Firing),
            ],
            true,
            t(330),
        );
        assert_eq!(f.notify.expect("news").1.len(), 2);
        // A change long after the interval is due at once.
        let mut later = f.next.expect("kept");
        later.changed(t(2000), TIMING);
        assert_eq!(later.flush_at, Some(t(2000)));
    }

    #[test]
    fn nothing_new_before_the_repeat_interval_is_silent_then_repeats() {
        let a = ids(1);
        let members = [member(&a[0], AlertStatus::Firing)];
        let first = flush(
            &GroupState::new(t(0), TIMING),
            TIMING,
            &members,
            true,
            t(30),
        );
        let state = first.next.expect("kept");
        let quiet = flush(&state, TIMING, &members, true, t(400));
        assert!(quiet.notify.is_none());
        assert_eq!(quiet.next.as_ref().expect("kept").flush_at, Some(t(3630)));
        let repeat = flush(&state, TIMING, &members, true, t(3630));
        assert!(repeat.notify.is_some());
    }

    #[test]
    fn everything_resolved_sends_one_resolve_and_ends_the_group() {
        let a = ids(2);
        let firing = [
            member(&a[0], AlertStatus::Firing),
            member(&a[1], AlertStatus::Firing),
        ];
        let state = flush(&GroupState::new(t(0), TIMING), TIMING, &firing, true, t(30))
            .next
            .expect("kept");
        let resolved = [
            member(&a[0], AlertStatus::Resolved),
            member(&a[1], AlertStatus::Resolved),
        ];
        let f = flush(&state, TIMING, &resolved, true, t(400));
        assert_eq!(
            f.notify.expect("resolve"),
            (AlertStatus::Resolved, a.clone())
        );
        assert!(f.next.is_none());
        assert_eq!(f.leave.len(), 2);
        // Without notify-on-resolve: the group just ends.
        let f = flush(&state, TIMING, &resolved, false, t(400));
        assert!(f.notify.is_none() && f.next.is_none());
    }

    #[test]
    fn an_alert_that_resolves_before_anyone_was_told_tells_nobody() {
        let a = ids(1);
        let f = flush(
            &GroupState::new(t(0), TIMING),
            TIMING,
            &[member(&a[0], AlertStatus::Resolved)],
            true,
            t(30),
        );
        assert!(f.notify.is_none() && f.next.is_none());
    }

    #[test]
    fn one_of_two_resolving_is_told_only_when_the_policy_tells_resolves() {
        let a = ids(2);
        let state = flush(
            &GroupState::new(t(0), TIMING),
            TIMING,
            &[
                member(&a[0], AlertStatus::Firing),
                member(&a[1], AlertStatus::Firing),
            ],
            true,
            t(30),
        )
        .next
        .expect("kept");
        let members = [
            member(&a[0], AlertStatus::Firing),
            member(&a[1], AlertStatus::Resolved),
        ];
        let told = flush(&state, TIMING, &members, true, t(330));
        assert_eq!(told.notify.expect("resolve told").1.len(), 2);
        assert_eq!(told.leave, vec![a[1].clone()]);
        let silent = flush(&state, TIMING, &members, false, t(330));
        assert!(silent.notify.is_none());
        assert_eq!(silent.leave, vec![a[1].clone()]);
    }
}

//! A sample payload for previews and "Send test".

use serde_json::{Value, json};

/// A sample Alertmanager v4 payload (firing, two alerts) with Herald's extra
/// top-level fields `startTime`, `endTime` and `dispatchRuleName`.
pub fn sample_alert() -> Value {
    let common = json!({
        "alertname": "PodCrashLooping",
        "severity": "critical",
        "clustername": "prod-hangzhou",
        "namespace": "shop",
        "_aliyun_arms_involvedObject_kind": "app",
        "_aliyun_arms_involvedObject_name": "checkout",
    });
    let alert = |pod: &str, restarts: u32, starts_at: &str, fingerprint: &str| {
        let mut labels = common.clone();
        if let Some(map) = labels.as_object_mut() {
            map.insert("pod".to_owned(), Value::from(pod));
        }
        json!({
            "status": "firing",
            "labels": labels,
            "annotations": {
                "summary": "Pod is crash looping",
                "message": format!(
                    "Pod shop/{pod} restarted {restarts} times in the last 10 minutes"
                ),
            },
            "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=increase%28kube_pod_container_status_restarts_total%5B10m%5D%29+%3E+3",
            "fingerprint": fingerprint,
        })
    };
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"PodCrashLooping\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "herald",
        "groupLabels": { "alertname": "PodCrashLooping" },
        "commonLabels": common,
        "commonAnnotations": { "summary": "Pod is crash looping" },
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            alert("checkout-7d9f8b6c5-x2k4q", 5, "2026-11-21T10:00:00Z", "3c1f9e2a7b5d4f60"),
            alert("checkout-7d9f8b6c5-m8p1z", 4, "2026-11-21T10:00:30Z", "9a2e4c6b8d0f1357"),
        ],
        "startTime": "2026-11-21 10:00:00",
        "endTime": "2026-11-21 10:30:00",
        "dispatchRuleName": "Production on-call",
    })
}

//! End-to-end tests of parsing and rendering.

use serde_json::{Value, json};

use super::*;

fn parse(src: &str) -> Template {
    match Template::parse(src) {
        Ok(t) => t,
        Err(e) => panic!("{src:?} should parse: {e}"),
    }
}

fn render_with(src: &str, data: &Value, options: &RenderOptions) -> String {
    match parse(src).render(data, options) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} should render: {e}"),
    }
}

fn render(src: &str, data: &Value) -> String {
    render_with(src, data, &RenderOptions::default())
}

fn render_err(src: &str, data: &Value, options: &RenderOptions) -> RenderError {
    match parse(src).render(data, options) {
        Ok(s) => panic!("{src:?} should fail, rendered {s:?}"),
        Err(e) => e,
    }
}

fn parse_err(src: &str) -> TemplateError {
    match Template::parse(src) {
        Ok(_) => panic!("{src:?} should not parse"),
        Err(e) => e,
    }
}

/// Asserts a parse error's position and that its message contains `needle`.
fn assert_parse_err(src: &str, line: usize, column: usize, needle: &str) {
    let e = parse_err(src);
    assert_eq!((e.line, e.column), (line, column), "{src:?}: {e}");
    assert!(e.message.contains(needle), "{src:?}: {e} lacks {needle:?}");
}

/// Asserts that rendering fails while evaluating, at the position, saying `needle`.
fn assert_eval_err(src: &str, data: &Value, line: usize, column: usize, needle: &str) {
    match render_err(src, data, &RenderOptions::default()) {
        RenderError::Eval {
            line: l,
            column: c,
            message,
        } => {
            assert_eq!((l, c), (line, column), "{src:?}: {message}");
            assert!(
                message.contains(needle),
                "{src:?}: {message} lacks {needle:?}"
            );
        }
        other => panic!("{src:?}: {other:?}"),
    }
}

fn json_options() -> RenderOptions {
    RenderOptions {
        escape: Escape::Json,
        ..RenderOptions::default()
    }
}

const SEED_FIRING: &str = r#"{
      "msg_type": "text",
      "content": {
        "text": "Alert name: {{ .commonLabels.alertname }}\n{{if .commonLabels.clustername }}Cluster name: {{ .commonLabels.clustername }}\n{{ end }}{{if eq \"app\" .commonLabels._aliyun_arms_involvedObject_kind }}Application name: {{ .commonLabels._aliyun_arms_involvedObject_name }}\n{{ end }}Notification policy: {{ .dispatchRuleName }} \nAlert time: {{ .startTime }} \nNotification content: {{ for .alerts }} {{ .annotations.message }}\n {{ end }}"
      }
    }"#;

const SEED_RESOLVED: &str = r#"{
      "msg_type": "text",
      "content": {
        "text": "Alert name: {{ .commonLabels.alertname }}\n{{if .commonLabels.clustername }}Cluster name: {{ .commonLabels.clustername }}\n{{ end }}{{if eq \"app\" .commonLabels._aliyun_arms_involvedObject_kind }}Application name: {{ .commonLabels._aliyun_arms_involvedObject_name }}\n{{ end }}Time when the alert is resolved: {{ .endTime }} \nNotification policy: {{ .dispatchRuleName }} \nNotification content: {{ for .alerts }} {{ .annotations.message }}\n {{ end }}"
      }
    }"#;

const MSG1: &str = "Pod shop/checkout-7d9f8b6c5-x2k4q restarted 5 times in the last 10 minutes";
const MSG2: &str = "Pod shop/checkout-7d9f8b6c5-m8p1z restarted 4 times in the last 10 minutes";

fn lark_text(body: &str) -> String {
    let parsed: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {body}"),
    };
    assert_eq!(parsed["msg_type"], "text");
    match parsed["content"]["text"].as_str() {
        Some(s) => s.to_owned(),
        None => panic!("no content.text in {body}"),
    }
}

#[test]
fn seed_lark_firing_template() {
    let body = render_with(SEED_FIRING, &sample_alert(), &json_options());
    assert_eq!(
        lark_text(&body),
        format!(
            "Alert name: PodCrashLooping\nCluster name: prod-hangzhou\nApplication name: checkout\n\
             Notification policy: Production on-call \nAlert time: 2026-11-21 10:00:00 \n\
             Notification content:  {MSG1}\n  {MSG2}\n "
        )
    );
}

#[test]
fn seed_lark_resolved_template() {
    let body = render_with(SEED_RESOLVED, &sample_alert(), &json_options());
    assert_eq!(
        lark_text(&body),
        format!(
            "Alert name: PodCrashLooping\nCluster name: prod-hangzhou\nApplication name: checkout\n\
             Time when the alert is resolved: 2026-11-21 10:30:00 \n\
             Notification policy: Production on-call \n\
             Notification content:  {MSG1}\n  {MSG2}\n "
        )
    );
}

#[test]
fn seed_template_drops_optional_lines_when_labels_are_absent() {
    let mut data = sample_alert();
    if let Some(labels) = data["commonLabels"].as_object_mut() {
        labels.remove("clustername");
        labels.insert("_aliyun_arms_involvedObject_kind".into(), json!("node"));
    }
    let text = lark_text(&render_with(SEED_FIRING, &data, &json_options()));
    assert!(
        text.starts_with("Alert name: PodCrashLooping\nNotification policy:"),
        "{text}"
    );
}

#[test]
fn sample_alert_has_the_documented_shape() {
    let s = sample_alert();
    assert_eq!(s["version"], "4");
    assert_eq!(s["status"], "firing");
    assert_eq!(s["alerts"].as_array().map(Vec::len), Some(2));
    for key in ["startTime", "endTime", "dispatchRuleName"] {
        assert!(s[key].is_string(), "{key}");
    }
    assert_eq!(s["startTime"], "2026-11-21 10:00:00");
    let labels = &s["alerts"][0]["labels"];
    for key in [
        "alertname",
        "severity",
        "clustername",
        "namespace",
        "pod",
        "_aliyun_arms_involvedObject_kind",
        "_aliyun_arms_involvedObject_name",
    ] {
        assert!(labels[key].is_string(), "{key}");
    }
    assert_eq!(labels["_aliyun_arms_involvedObject_kind"], "app");
    assert_ne!(
        s["alerts"][0]["labels"]["pod"],
        s["alerts"][1]["labels"]["pod"]
    );
}

#[test]
fn fields_root_and_dot() {
    let data = json!({"a": {"b": {"c": "deep"}}, "s": "top", "list": [1, 2]});
    assert_eq!(
        render("{{ .a.b.c }}|{{ $.s }}|{{ $.a.b.c }}", &data),
        "deep|top|deep"
    );
    assert_eq!(render("{{ .list }}", &data), "[1,2]");
    assert_eq!(
        render("{{ range .list }}{{ . }}{{ $.s }}{{ end }}", &data),
        "1top2top"
    );
    assert_eq!(render("plain text only", &data), "plain text only");
    assert_eq!(render("", &data), "");
}

#[test]
fn missing_keys_print_empty() {
    let data = json!({"commonLabels": {"a": "x"}, "n": null, "s": "str"});
    assert_eq!(
        render(
            "[{{ .commonLabels.cluster }}][{{ .nope.deeper.still }}][{{ index .commonLabels \"x-y\" }}][{{ .n }}][{{ .n.x }}]",
            &data
        ),
        "[][][][][]"
    );
}

#[test]
fn prints_values() {
    let data = json!({
        "i": 1000000, "neg": -7, "f": 1.5, "big": 2.5e7, "b": true, "n": null,
        "a": [1, "x", null], "o": {"a": 2, "b": [true]}, "u": u64::MAX
    });
    assert_eq!(
        render(
            "{{.i}} {{.neg}} {{.f}} {{.big}} {{.b}} [{{.n}}] {{.a}} {{.o}} {{.u}}",
            &data
        ),
        "1000000 -7 1.5 2.5e+07 true [] [1,\"x\",null] {\"a\":2,\"b\":[true]} 18446744073709551615"
    );
    assert_eq!(
        render(
            "{{ 42 }} {{ -3 }} {{ 1.25 }} {{ 0x1F }} {{ 1e3 }} {{ true }} {{ \"s\" }} {{ `r\\n` }}",
            &data
        ),
        "42 -3 1.25 31 1000 true s r\\n"
    );
}

#[test]
fn if_else_chains() {
    let t = parse(r#"{{if eq .s "a"}}A{{else if eq .s "b"}}B{{else}}C{{end}}"#);
    let opts = RenderOptions::default();
    let out = |v: Value| t.render(&v, &opts).unwrap_or_else(|e| e.to_string());
    assert_eq!(out(json!({"s": "a"})), "A");
    assert_eq!(out(json!({"s": "b"})), "B");
    assert_eq!(out(json!({"s": "c"})), "C");
    assert_eq!(out(json!({})), "C");
    assert_eq!(render("{{if .x}}yes{{end}}", &json!({})), "");
    assert_eq!(
        render(
            "{{ if $v := .x }}{{ $v }}{{ else }}none{{ end }}",
            &json!({"x": "got"})
        ),
        "got"
    );
}

#[test]
fn truthiness_follows_go() {
    let t = parse("{{if .v}}T{{else}}F{{end}}");
    let opts = RenderOptions::default();
    let check = |v: Value, want: &str| {
        let got = t
            .render(&json!({ "v": v }), &opts)
            .unwrap_or_else(|e| e.to_string());
        assert_eq!(got, want, "{v}");
    };
    for falsy in [
        json!(null),
        json!(false),
        json!(0),
        json!(0.0),
        json!(""),
        json!([]),
        json!({}),
    ] {
        check(falsy, "F");
    }
    for truthy in [
        json!(true),
        json!(1),
        json!(-1.5),
        json!("x"),
        json!([0]),
        json!({"a": 0}),
    ] {
        check(truthy, "T");
    }
    assert_eq!(render("{{if .missing}}T{{else}}F{{end}}", &json!({})), "F");
}

#[test]
fn comparisons() {
    let data = json!({"x": "c", "n": 5, "f": 2.5, "kind": "app"});
    assert_eq!(render(r#"{{ eq .x "a" "b" "c" }}"#, &data), "true");
    assert_eq!(render(r#"{{ eq .x "a" "b" }}"#, &data), "false");
    assert_eq!(render(r#"{{ eq "app" .missing }}"#, &data), "false");
    assert_eq!(render(r#"{{ ne "app" .missing }}"#, &data), "true");
    assert_eq!(render(r#"{{ eq .missing nil }}"#, &data), "true");
    assert_eq!(
        render(r#"{{ eq "5" .n }} {{ eq 5 .n }} {{ eq 5.0 .n }}"#, &data),
        "false true true"
    );
    assert_eq!(render(r#"{{ ne .kind "app" }}"#, &data), "false");
    assert_eq!(
        render(
            "{{ lt .n 6 }} {{ le .n 5 }} {{ gt .f 2 }} {{ ge .f 3 }} {{ lt \"a\" \"b\" }}",
            &data
        ),
        "true true true false true"
    );
    assert_eq!(
        render("{{ lt .missing 6 }} {{ gt .missing 6 }}", &data),
        "false false"
    );
    assert_eq!(render(r#"{{if eq "app" .kind}}yes{{end}}"#, &data), "yes");
    assert_eq!(render(r#"{{if (eq .kind "app")}}yes{{end}}"#, &data), "yes");
}

#[test]
fn comparing_a_string_with_a_number_is_an_eval_error() {
    assert_eval_err(
        "ab\n  {{ lt .s 1 }}",
        &json!({"s": "x"}),
        2,
        6,
        "can't compare a string with a number",
    );
}

#[test]
fn and_or_not_short_circuit() {
    let data = json!({"s": "str", "z": 0});
    assert_eq!(render(r#"{{ or .missing "default" }}"#, &data), "default");
    assert_eq!(render(r#"{{ or .s "default" }}"#, &data), "str");
    assert_eq!(
        render(r#"{{ and "x" "y" }}|{{ and .z "y" }}"#, &data),
        "y|0"
    );
    // The second operand would fail: short-circuit never evaluates it.
    assert_eq!(render("{{ and false (index .s 0) }}", &data), "false");
    assert_eq!(render("{{ or true (index .s 0) }}", &data), "true");
    assert_eq!(
        render("{{ not .missing }} {{ not .s }}", &data),
        "true false"
    );
    assert_eq!(render(r#"{{ .s | or .missing }}"#, &data), "str");
}

#[test]
fn range_over_lists_maps_and_ints() {
    let data = json!({"list": ["a", "b", "c"], "map": {"z": 1, "a": 2, "m": 3}, "empty": []});
    assert_eq!(render("{{range .list}}<{{.}}>{{end}}", &data), "<a><b><c>");
    assert_eq!(
        render("{{range $i, $e := .list}}{{$i}}={{$e}} {{end}}", &data),
        "0=a 1=b 2=c "
    );
    assert_eq!(render("{{range $e := .list}}{{$e}}{{end}}", &data), "abc");
    assert_eq!(
        render("{{range $k, $v := .map}}{{$k}}:{{$v}},{{end}}", &data),
        "a:2,m:3,z:1,"
    );
    assert_eq!(render("{{range .map}}{{.}}{{end}}", &data), "231");
    assert_eq!(
        render("{{range .empty}}x{{else}}none{{end}}", &data),
        "none"
    );
    assert_eq!(
        render("{{range .missing}}x{{else}}none{{end}}", &data),
        "none"
    );
    assert_eq!(render("{{range 3}}{{.}}{{end}}", &data), "012");
    assert_eq!(
        render(
            "{{range .list}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}",
            &data
        ),
        "ac"
    );
    assert_eq!(
        render(
            "{{range .list}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}",
            &data
        ),
        "a"
    );
    assert_eq!(
        render(
            "{{range $i, $a := .list}}{{range $.list}}{{$i}}{{end}}{{end}}",
            &data
        ),
        "000111222"
    );
}

#[test]
fn for_is_an_alias_of_range() {
    let data = sample_alert();
    let a = render("{{ for .alerts }}{{ .labels.pod }};{{ end }}", &data);
    let b = render("{{ range .alerts }}{{ .labels.pod }};{{ end }}", &data);
    assert_eq!(a, b);
    assert_eq!(a, "checkout-7d9f8b6c5-x2k4q;checkout-7d9f8b6c5-m8p1z;");
    assert_eq!(
        render(
            "{{ for $i, $a := .alerts }}{{ $i }}{{ else }}none{{ end }}",
            &data
        ),
        "01"
    );
}

#[test]
fn range_over_a_string_is_an_eval_error() {
    let e = render_err(
        "{{range .s}}{{end}}",
        &json!({"s": "x"}),
        &RenderOptions::default(),
    );
    assert!(
        matches!(
            e,
            RenderError::Eval {
                line: 1,
                column: 9,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn with_and_else_with() {
    let data = json!({"labels": {"severity": "critical"}});
    assert_eq!(
        render("{{with .labels}}{{.severity}}{{end}}", &data),
        "critical"
    );
    assert_eq!(render("{{with .missing}}x{{else}}y{{end}}", &data), "y");
    assert_eq!(
        render(
            "{{with .missing}}x{{else with .labels.severity}}{{.}}{{else}}z{{end}}",
            &data
        ),
        "critical"
    );
    assert_eq!(
        render("{{with $s := .labels.severity}}{{$s}}{{.}}{{end}}", &data),
        "criticalcritical"
    );
}

#[test]
fn variables() {
    let data = json!({"a": "A", "list": [1, 2, 3]});
    assert_eq!(render("{{ $x := .a }}[{{ $x }}]", &data), "[A]");
    assert_eq!(
        render(
            "{{ $n := 0 }}{{ range .list }}{{ $n = . }}{{ end }}{{ $n }}",
            &data
        ),
        "3"
    );
    assert_eq!(
        render("{{ $x := .list }}{{ index $x 1 }}{{ $x }}", &data),
        "2[1,2,3]"
    );
    assert_parse_err("{{ $y }}", 1, 4, "undefined variable $y");
    assert_parse_err(
        "{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}",
        1,
        39,
        "undefined variable $y",
    );
    assert_parse_err("{{ $y = 1 }}", 1, 4, "undefined variable $y");
    assert_parse_err(
        "{{ $a, $b := .list }}",
        1,
        4,
        "only be declared in {{range}}",
    );
}

#[test]
fn index_lookups() {
    let data = json!({
        "labels": {"app.kubernetes.io/name": "web", "a-b": "dash"},
        "list": ["x", "y"],
        "nested": {"a": {"b": "deep"}},
        "s": "str"
    });
    assert_eq!(
        render(
            r#"{{ index .labels "app.kubernetes.io/name" }} {{ index .labels "a-b" }}"#,
            &data
        ),
        "web dash"
    );
    assert_eq!(
        render(
            "{{ index .list 1 }}|{{ index .list 5 }}|{{ index .list -1 }}",
            &data
        ),
        "y||"
    );
    assert_eq!(
        render(
            r#"{{ index .nested "a" "b" }}|{{ index .missing "k" }}"#,
            &data
        ),
        "deep|"
    );
    assert_eq!(render("{{ (index .nested \"a\").b }}", &data), "deep");
    assert_eq!(render("{{ (index $.list 0) }}", &data), "x");
    let e = render_err("x\n{{ index .s 1 }}", &data, &RenderOptions::default());
    match e {
        RenderError::Eval {
            line,
            column,
            message,
        } => {
            assert_eq!((line, column), (2, 4));
            assert!(message.contains("can't index a string"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let e = render_err(r#"{{ index .list "k" }}"#, &data, &RenderOptions::default());
    assert!(matches!(e, RenderError::Eval { .. }), "{e:?}");
}

#[test]
fn len_counts_characters() {
    let data = json!({"s": "héllo", "list": [1, 2], "map": {"a": 1}});
    assert_eq!(
        render(
            "{{ len .s }} {{ len .list }} {{ len .map }} {{ len .missing }}",
            &data
        ),
        "5 2 1 0"
    );
    assert!(matches!(
        render_err("{{ len 5 }}", &data, &RenderOptions::default()),
        RenderError::Eval { .. }
    ));
    assert_eq!(
        render(
            "{{ slice .s 1 3 }}|{{ slice .list 1 }}|{{ slice .s 2 99 }}",
            &data
        ),
        "él|[2]|llo"
    );
}

#[test]
fn print_printf_and_pipes() {
    let data = json!({"x": "v", "alerts": [1, 2, 3]});
    assert_eq!(render(r#"{{ .x | printf "%s!" }}"#, &data), "v!");
    assert_eq!(
        render(r#"{{ printf "%d alerts" (len .alerts) }}"#, &data),
        "3 alerts"
    );
    assert_eq!(
        render(r#"{{ printf "%q %v %5.1f" .x .alerts 3.14159 }}"#, &data),
        "\"v\" [1,2,3]   3.1"
    );
    assert_eq!(render(r#"{{ print 1 2 "a" 3 }}"#, &data), "1 2a3");
    assert_eq!(render(r#"{{ println "a" 1 }}"#, &data), "a 1\n");
    assert_eq!(
        render(r#"{{ .x | print "<" | printf "%s>" }}"#, &data),
        "<v>"
    );
    assert_eq!(
        render(
            r#"{{ urlquery "a b&c" }} {{ html "<b>" }} {{ js "it's" }}"#,
            &data
        ),
        "a+b%26c &lt;b&gt; it\\'s"
    );
}

#[test]
fn trim_markers() {
    let data = json!({"x": "X"});
    assert_eq!(render("a  \n\t{{- .x -}} \r\n b", &data), "aXb");
    assert_eq!(render("a {{- .x }} b", &data), "aX b");
    assert_eq!(render("a {{ .x -}} b", &data), "a Xb");
    assert_eq!(render("{{-3}}", &data), "-3");
    assert_eq!(render("a {{- /* note */ -}} b", &data), "ab");
    assert_eq!(
        render(
            "{{ range .l -}}\n  <{{ . }}>\n{{- end }}",
            &json!({"l": [1, 2]})
        ),
        "<1><2>"
    );
}

#[test]
fn comments() {
    let data = json!({});
    assert_eq!(render("a{{/* comment {{ with }} braces */}}b", &data), "ab");
    assert_eq!(render("a{{/* multi\nline */}}b", &data), "ab");
    assert_parse_err("x{{/* never closed", 1, 2, "unclosed comment");
    assert_parse_err("{{/* c */ .x }}", 1, 11, "comment must end");
}

#[test]
fn json_escaping_keeps_the_body_valid() {
    let data = json!({
        "labels": {"msg": "say \"hi\"\nback\\slash\ttab\u{1}end", "n": 3},
        "list": ["a\"b"]
    });
    let src =
        r#"{"text": "Alert {{ .labels.msg }} ({{ .labels.n }}) {{ .list }}", "raw": "line\nnext"}"#;
    let out = render_with(src, &data, &json_options());
    let parsed: Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON ({e}): {out}"),
    };
    assert_eq!(
        parsed["text"],
        "Alert say \"hi\"\nback\\slash\ttab\u{1}end (3) [\"a\\\"b\"]"
    );
    assert_eq!(parsed["raw"], "line\nnext");
    // Without escaping, values are printed as they are.
    assert_eq!(
        render("{{ .labels.msg }}", &data),
        "say \"hi\"\nback\\slash\ttab\u{1}end"
    );
}

#[test]
fn content_placeholder() {
    let src = r#"{"text": "$content", "n": "{{ .n }}"}"#;
    let data = json!({"n": "x"});
    let options = RenderOptions {
        content: Some("line 1\n\"quoted\" $content".into()),
        ..json_options()
    };
    let out = render_with(src, &data, &options);
    let parsed: Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON ({e}): {out}"),
    };
    assert_eq!(parsed["text"], "line 1\n\"quoted\" $content");
    assert_eq!(render("keep $content here", &data), "keep $content here");
    let plain = RenderOptions {
        content: Some("C".into()),
        ..RenderOptions::default()
    };
    assert_eq!(
        render_with("[$content][$contents]", &data, &plain),
        "[C][Cs]"
    );
    // Only template text is replaced, never data.
    assert_eq!(
        render_with("{{ .v }}", &json!({"v": "$content"}), &plain),
        "$content"
    );
}

#[test]
fn step_limit() {
    let list: Vec<u32> = (0..1000).collect();
    let data = json!({ "list": list });
    let e = render_err(
        "{{range .list}}{{range $.list}}x{{end}}{{end}}",
        &data,
        &RenderOptions {
            max_output_bytes: usize::MAX,
            ..RenderOptions::default()
        },
    );
    assert_eq!(e, RenderError::TooManySteps);
    assert_eq!(
        render_err(
            "{{range 1000000000}}{{end}}",
            &data,
            &RenderOptions::default()
        ),
        RenderError::TooManySteps
    );
    let small = RenderOptions {
        max_steps: 10,
        ..RenderOptions::default()
    };
    assert_eq!(
        render_err("{{range .list}}{{end}}", &data, &small),
        RenderError::TooManySteps
    );
    assert_eq!(render_with("{{ .list | len }}", &data, &small), "1000");
}

#[test]
fn size_limit() {
    let data = json!({ "s": "x".repeat(1000) });
    let options = RenderOptions::default();
    assert_eq!(
        render_err("{{range 100}}{{$.s}}{{end}}", &data, &options),
        RenderError::TooLarge(64 * 1024)
    );
    assert_eq!(render("{{range 60}}{{$.s}}{{end}}", &data).len(), 60_000);
    assert_eq!(
        render_err(r#"{{ printf "%999999999s" "x" }}"#, &data, &options),
        RenderError::TooLarge(64 * 1024)
    );
    // Strings built in variables are bounded too, not only the output.
    assert_eq!(
        render_err(
            r#"{{ $x := "ab" }}{{ range 100 }}{{ $x = print $x $x }}{{ end }}"#,
            &data,
            &options
        ),
        RenderError::TooLarge(64 * 1024)
    );
    let tiny = RenderOptions {
        max_output_bytes: 4,
        ..RenderOptions::default()
    };
    assert_eq!(render_err("hello", &data, &tiny), RenderError::TooLarge(4));
    assert_eq!(render_with("hell", &data, &tiny), "hell");
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}x{}", "{{if true}}".repeat(64), "{{end}}".repeat(64));
    assert_eq!(render(&ok, &json!({})), "x");
    let deep = format!("{}x{}", "{{if true}}".repeat(65), "{{end}}".repeat(65));
    assert_parse_err(&deep, 1, 1 + 64 * 11, "nested too deeply");
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(200), ")".repeat(200));
    assert!(parse_err(&parens).message.contains("nested too deeply"));
    let unclosed = "{{range .a}}".repeat(10_000);
    assert!(parse_err(&unclosed).message.contains("nested too deeply"));
}

#[test]
fn parse_errors_have_positions() {
    assert_parse_err("hello {{ .a ", 1, 7, "unclosed action");
    assert_parse_err("{{ foo .a }}", 1, 4, "function \"foo\" not defined");
    assert_parse_err("x{{ end }}", 1, 2, "{{end}} without");
    assert_parse_err("ab{{ else }}", 1, 3, "{{else}} without");
    assert_parse_err(
        "line1\n  {{ if .a }}x",
        2,
        3,
        "this {{if}} has no matching {{end}}",
    );
    assert_parse_err(
        "{{ range .a }}x{{ else }}y",
        1,
        1,
        "this {{range}} has no matching {{end}}",
    );
    assert_parse_err("{{ \"abc }}", 1, 4, "unterminated quoted string");
    assert_parse_err("{{ `abc }}", 1, 4, "unterminated raw string");
    assert_parse_err("{{ .a..b }}", 1, 6, "bad field syntax");
    assert_parse_err("{{ \"x\".a }}", 1, 7, "bad field syntax");
    assert_parse_err("{{ .labels.app-name }}", 1, 15, "index .labels");
    assert_parse_err(
        "{{ len }}",
        1,
        4,
        "wrong number of arguments for len: want 1, got 0",
    );
    assert_parse_err("{{ ne 1 2 3 }}", 1, 4, "want 2, got 3");
    assert_parse_err("{{ if }}", 1, 7, "missing value for if");
    assert_parse_err("{{ }}", 1, 4, "missing value");
    assert_parse_err("{{ .a .b }}", 1, 7, "non-function");
    assert_parse_err("{{ .a | .b }}", 1, 9, "only a function can follow '|'");
    assert_parse_err("{{ .a | }}", 1, 9, "missing command after '|'");
    assert_parse_err("{{ break }}", 1, 4, "{{break}} outside {{range}}");
    assert_parse_err("é{{ nope }}", 1, 5, "not defined");
    assert_parse_err("{{ template \"x\" }}", 1, 4, "not supported");
    assert_parse_err("{{ (eq .a \"b\" }}", 1, 15, "unclosed left parenthesis");
    assert_parse_err("{{ .a ) }}", 1, 7, "unexpected right parenthesis");
    assert_parse_err(
        "{{ if .a }}{{ else }}{{ else }}{{ end }}",
        1,
        22,
        "another {{else}}",
    );
    assert_parse_err(
        "{{ if .a }}{{ else with .b }}{{ end }}",
        1,
        12,
        "inside {{if}}",
    );
    assert_parse_err("{{ end extra }}", 1, 8, "expected }}");
    assert_parse_err("{{ print len }}", 1, 10, "needs parentheses");
    assert_parse_err("{{ nil }}", 1, 4, "nil is not a command");
    assert_parse_err("{{ 'a' }}", 1, 4, "character constants");
    assert_parse_err("{{ 12abc }}", 1, 4, "bad number");
    assert_parse_err("{{ \"\\q\" }}", 1, 5, "unknown escape");
    assert_parse_err("a\nb\n\n   {{ .x # }}", 4, 10, "unexpected character '#'");
}

#[test]
fn field_of_a_non_map_is_an_eval_error() {
    assert_eval_err(
        "{{ .s.x }}",
        &json!({"s": "str"}),
        1,
        4,
        "can't read field .x of a string",
    );
}

#[test]
fn check_and_error_display() {
    assert_eq!(check("{{ .commonLabels.alertname }}"), Ok(()));
    assert_eq!(check(SEED_FIRING), Ok(()));
    let e = check("{{ if .a }}").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("line 1, column 1: this {{if}} has no matching {{end}}")
    );
    assert_eq!(
        RenderError::TooLarge(10).to_string(),
        "the output would exceed 10 bytes"
    );
}

#[test]
fn a_template_renders_repeatedly() {
    let t = parse("{{ $n := 0 }}{{ range .l }}{{ $n = . }}{{ end }}{{ $n }}");
    let opts = RenderOptions::default();
    for i in 0..3 {
        assert_eq!(t.render(&json!({"l": [i]}), &opts), Ok(i.to_string()));
    }
}

#[test]
fn range_variables_are_not_visible_in_else() {
    assert_parse_err(
        "{{range $e := .l}}{{else}}{{$e}}{{end}}",
        1,
        29,
        "undefined variable $e",
    );
    assert_parse_err(
        "{{range $e := .l}}{{end}}{{$e}}",
        1,
        28,
        "undefined variable $e",
    );
}

#[test]
fn long_single_line_templates_are_linear() {
    let src = format!("{}{{{{ nope }}}}", "{{ .a }}".repeat(20_000));
    let e = parse_err(&src);
    assert_eq!((e.line, e.column), (1, 160_004));
    let src = "{{ .a }}".repeat(20_000);
    let options = RenderOptions {
        max_output_bytes: usize::MAX,
        ..RenderOptions::default()
    };
    assert_eq!(
        parse(&src).render(&json!({"a": "x"}), &options),
        Ok("x".repeat(20_000))
    );
}

/// Templates are admin input: whatever is typed, parse and render return, never panic.
#[test]
fn random_templates_never_panic() {
    use rand::prelude::*;
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "\n",
        ".",
        ".alerts",
        ".commonLabels",
        ".labels.x",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        "\"",
        "\\\"",
        "`",
        "if",
        "else",
        "end",
        "range",
        "for",
        "with",
        "break",
        "continue",
        "eq",
        "ne",
        "lt",
        "and",
        "or",
        "not",
        "len",
        "index",
        "slice",
        "printf",
        "print",
        "html",
        "js",
        "urlquery",
        "\"%s\"",
        "\"%d\"",
        "\"%v\"",
        "\"%q\"",
        "\"%-5.2f\"",
        "1",
        "-3",
        "1e400",
        "0x1F",
        "9999999999999999999999",
        "nil",
        "true",
        "/*",
        "*/",
        "$content",
        "é",
        "字",
        "\u{0}",
        ",",
    ];
    let mut rng = StdRng::seed_from_u64(0x4e52_4c44);
    let data = sample_alert();
    let options = RenderOptions {
        max_output_bytes: 4096,
        max_steps: 2_000,
        content: Some("c".into()),
        ..RenderOptions::default()
    };
    for _ in 0..20_000 {
        let n = rng.random_range(1..24);
        let source: String = (0..n)
            .map(|_| PIECES[rng.random_range(0..PIECES.len())])
            .collect();
        if let Ok(t) = Template::parse(&source) {
            let _ = t.render(&data, &options);
            let _ = t.render(
                &data,
                &RenderOptions {
                    escape: Escape::Json,
                    ..RenderOptions {
                        max_output_bytes: 4096,
                        max_steps: 2_000,
                        content: None,
                        escape: Escape::None,
                    }
                },
            );
        }
    }
}

/// Well-formed actions in random order and nesting: most parse, and every one renders within
/// its bounds without panicking.
#[test]
fn random_well_formed_templates_render_within_bounds() {
    use rand::prelude::*;
    const ACTIONS: &[&str] = &[
        "{{ if .commonLabels.alertname }}",
        "{{ if eq .status \"firing\" \"x\" }}",
        "{{ else }}",
        "{{ end }}",
        "{{ range .alerts }}",
        "{{ for .alerts }}",
        "{{ range $k, $v := .commonLabels }}",
        "{{ with .alerts }}",
        "{{ .labels.pod }}",
        "{{ $k }}={{ $v }}",
        "{{ printf \"%5d|%-3s|%q\" 3 \"a\" \"b\" }}",
        "{{ index . \"alerts\" 0 }}",
        "{{ len .alerts }}",
        "{{ slice \"abcdef\" 1 99 }}",
        "{{ $x := 5 }}",
        "{{ range $i := 1000000 }}",
        "{{ break }}",
        "{{ continue }}",
        "{{- .status -}}",
        "text ",
        "\n",
        "$content",
        "{{ html \"<b>\" }}",
        "{{ js \"'\" }}",
        "{{ urlquery \"a b\" }}",
        "{{ not (and .x .y) }}",
        "{{ or .missing \"d\" }}",
        "{{ lt 1 2.5 }}",
        "{{ ge \"b\" \"a\" }}",
        "{{ print .alerts }}",
        "{{ println 1 2 }}",
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let data = sample_alert();
    let options = RenderOptions {
        max_output_bytes: 8192,
        max_steps: 5_000,
        content: Some("c\"\n".into()),
        escape: Escape::Json,
    };
    let mut parsed = 0;
    for _ in 0..5_000 {
        let n = rng.random_range(1..16);
        let source: String = (0..n)
            .map(|_| ACTIONS[rng.random_range(0..ACTIONS.len())])
            .collect();
        if let Ok(t) = Template::parse(&source) {
            parsed += 1;
            match t.render(&data, &options) {
                Ok(out) => assert!(out.len() <= 8192, "{source}"),
                Err(
                    RenderError::TooLarge(_) | RenderError::TooManySteps | RenderError::Eval { .. },
                ) => {}
            }
        }
    }
    assert!(
        parsed > 500,
        "only {parsed} of 5000 parsed: the generator tests little"
    );
}

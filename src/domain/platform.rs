//! The chat platforms Herald posts to.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    DingTalk,
    Lark,
    WeCom,
    Slack,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::DingTalk,
        Platform::Lark,
        Platform::WeCom,
        Platform::Slack,
    ];

    /// The stored and submitted value.
    pub fn code(self) -> &'static str {
        match self {
            Platform::DingTalk => "dingtalk",
            Platform::Lark => "lark",
            Platform::WeCom => "wecom",
            Platform::Slack => "slack",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Platform::DingTalk => "DingTalk",
            Platform::Lark => "Lark (Feishu)",
            Platform::WeCom => "WeCom",
            Platform::Slack => "Slack",
        }
    }

    /// Accepts the codes, case-insensitively, and `feishu` for Lark.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dingtalk" => Ok(Platform::DingTalk),
            "lark" | "feishu" => Ok(Platform::Lark),
            "wecom" => Ok(Platform::WeCom),
            "slack" => Ok(Platform::Slack),
            _ => Err("Choose DingTalk, Lark, WeCom or Slack."),
        }
    }

    /// Whether the platform signs requests with the bot's signature key.
    pub fn signs(self) -> bool {
        matches!(self, Platform::DingTalk | Platform::Lark)
    }

    /// An example webhook URL, for form hints.
    pub fn example_url(self) -> &'static str {
        match self {
            Platform::DingTalk => "https://oapi.dingtalk.com/robot/send?access_token=…",
            Platform::Lark => "https://open.feishu.cn/open-apis/bot/v2/hook/…",
            Platform::WeCom => "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
            Platform::Slack => "https://hooks.slack.com/services/T…/B…/…",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

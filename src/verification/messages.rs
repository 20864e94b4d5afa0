//! The words of verification SMS and email, in the recipient's language.

use crate::domain::Language;

/// English unless the contact (or, for Auto, the workspace) chose Chinese.
pub fn resolve(contact: Language, workspace_default: &str) -> Language {
    match contact {
        Language::Auto => match Language::parse(workspace_default) {
            Ok(Language::Chinese) => Language::Chinese,
            _ => Language::English,
        },
        chosen => chosen,
    }
}

/// Short enough that with a 36-character token the English text fits one 160-character SMS
/// for typical public URLs.
pub fn sms(language: Language, url: &str) -> String {
    match language {
        Language::Chinese => {
            format!("【Herald】请点击链接验证您的手机号，以接收告警通知（24小时内有效）：{url}")
        }
        _ => format!("Herald: verify this number to receive alerts (link valid 24 h): {url}"),
    }
}

/// The SMS with a bind code.
pub fn bind_code_sms(language: Language, code: &str) -> String {
    match language {
        Language::Chinese => format!(
            "【Herald】您的验证码是 {code}，用于绑定手机号以便在群聊告警中 @提及您，10 分钟内有效。如非本人操作请忽略。"
        ),
        _ => format!(
            "Herald: {code} is your code to bind this number for @mentions in chat alerts. Valid 10 minutes. Not you? Ignore this."
        ),
    }
}

pub fn email(language: Language, url: &str) -> (String, String) {
    match language {
        Language::Chinese => (
            "激活您的 Herald 告警邮箱".to_string(),
            format!(
                "您好，\n\n有人在 Herald 中把这个邮箱设置为告警通知地址。请打开下面的链接并点击“激活”，之后告警邮件才会发送到这里：\n\n{url}\n\n链接 24 小时内有效，只能使用一次。如果这不是您，请忽略本邮件。\n"
            ),
        ),
        _ => (
            "Activate your email for Herald alerts".to_string(),
            format!(
                "Hello,\n\nThis address was added to Herald to receive alert notifications. Open the link below and press Activate; until then no alerts are emailed here:\n\n{url}\n\nThe link works once, within 24 hours. If this was not you, ignore this email.\n"
            ),
        ),
    }
}

/// What the last-resort address is asked to agree to.
pub struct LastResortInvite<'a> {
    pub asked_by: &'a str,
    pub workspace: &'a str,
    pub address: &'a str,
    pub hours: i64,
    pub url: &'a str,
}

/// The email asking an address to become the workspace's last-resort recipient: its subject
/// and text, in the workspace's default language.
pub fn last_resort_email(language: Language, i: &LastResortInvite<'_>) -> (String, String) {
    let LastResortInvite {
        asked_by,
        workspace,
        address,
        hours,
        url,
    } = i;
    match language {
        Language::Chinese => (
            format!("Herald：激活 {address} 作为最终接收人"),
            format!(
                "{asked_by} 请 Herald 在工作区“{workspace}”的告警无法送达任何人时，将其发送到此邮箱。\n\n如同意，请打开下面的链接（{hours} 小时内有效）并点击“激活”：\n{url}\n\n如果这不是您预期的邮件，请忽略：不会有任何告警发送给您。\n"
            ),
        ),
        _ => (
            format!("Herald: activate {address} as the last-resort recipient"),
            format!(
                "{asked_by} asked Herald to send this address the alerts of workspace “{workspace}” that nobody else could be reached for.\n\nTo agree, open this link (valid {hours} h) and press Activate:\n{url}\n\nIf you did not expect this, ignore this message: nothing will be sent to you.\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_workspace() {
        assert_eq!(resolve(Language::Auto, "zh"), Language::Chinese);
        assert_eq!(resolve(Language::Auto, "en"), Language::English);
        assert_eq!(resolve(Language::English, "zh"), Language::English);
        assert_eq!(resolve(Language::Chinese, "en"), Language::Chinese);
    }

    #[test]
    fn an_english_sms_with_a_typical_link_is_one_segment() {
        let url = format!("https://herald.example.com/v/{}", "x".repeat(36));
        assert!(sms(Language::English, &url).len() <= 160);
        assert!(sms(Language::Chinese, &url).contains(&url));
    }
}

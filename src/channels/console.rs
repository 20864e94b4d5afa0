//! The default provider: sends nothing. Each message is kept for the Dev outbox page and
//! logged, so a new install can click its own verification links from a laptop.

use futures_util::future::BoxFuture;

use super::{
    Accepted, CallReports, Email, EmailSender, FailureKind, SendFailure, SendResult, Sms,
    SmsSender, VoiceCall, VoiceCaller,
};
use crate::store::{Db, WorkspaceId, dev_outbox};

/// The reference of a console "call": its Dev outbox entry.
pub fn console_call_ref(entry: &str) -> String {
    format!("console-{entry}")
}

#[derive(Clone)]
pub struct Console {
    db: Db,
}

impl Console {
    pub fn new(db: Db) -> Self {
        Console { db }
    }

    async fn keep(
        &self,
        ws: Option<WorkspaceId>,
        channel: &'static str,
        recipient: String,
        subject: Option<String>,
        body: String,
    ) -> SendResult {
        tracing::info!(channel, %recipient, subject = subject.as_deref().unwrap_or(""), %body, "console provider: not sent, kept in the Dev outbox");
        let id = self
            .db
            .run(move |c| {
                let id = dev_outbox::add(
                    c,
                    ws.as_ref(),
                    channel,
                    &recipient,
                    subject.as_deref(),
                    &body,
                )?;
                // Trimming now and then keeps the table bounded without a scan per message.
                if rand::random::<u8>() == 0
                    && let Some(ws) = &ws
                {
                    dev_outbox::trim(c, ws)?;
                }
                Ok::<_, crate::store::StoreError>(id)
            })
            .await
            .map_err(|e| SendFailure::new(FailureKind::Transient, format!("Dev outbox: {e}")))?;
        // A call's reference names its Dev outbox entry, where a tester says how it went.
        Ok(Accepted {
            id: (channel == "voice").then(|| console_call_ref(&id)),
        })
    }
}

impl SmsSender for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send_sms<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, SendResult> {
        Box::pin(self.keep(
            sms.workspace_id.clone(),
            "sms",
            sms.to.as_str().to_string(),
            None,
            sms.text.clone(),
        ))
    }
}

impl VoiceCaller for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    fn reports(&self) -> CallReports {
        CallReports::Pushed
    }

    fn call<'a>(&'a self, call: &'a VoiceCall) -> BoxFuture<'a, SendResult> {
        Box::pin(self.keep(
            call.workspace_id.clone(),
            "voice",
            call.to.as_str().to_string(),
            None,
            call.text.clone(),
        ))
    }
}

impl EmailSender for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, SendResult> {
        Box::pin(self.keep(
            email.workspace_id.clone(),
            "email",
            email.to.as_str().to_string(),
            Some(email.subject.clone()),
            email.text.clone(),
        ))
    }
}

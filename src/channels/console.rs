//! The default provider: sends nothing. Each message is kept for the Dev outbox page and
//! logged, so a new install can click its own verification links from a laptop.

use futures_util::future::BoxFuture;

use super::{
    Accepted, Email, EmailSender, FailureKind, SendFailure, SendResult, Sms, SmsSender, VoiceCall,
    VoiceCaller,
};
use crate::store::{Db, WorkspaceId, dev_outbox};

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
        self.db
            .run(move |c| {
                dev_outbox::add(
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
                Ok::<_, crate::store::StoreError>(())
            })
            .await
            .map_err(|e| SendFailure::new(FailureKind::Transient, format!("Dev outbox: {e}")))?;
        Ok(Accepted { id: None })
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

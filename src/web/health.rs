use actix_web::{HttpResponse, web};

use crate::store::Db;

/// 200 when the database answers, 503 otherwise; for load balancers and container probes.
pub async fn healthz(db: web::Data<Db>) -> HttpResponse {
    if db.ping().await {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}

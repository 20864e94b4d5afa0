//! The console's CSS and script, compiled into the binary so Herald runs from any directory
//! and the container image needs nothing beside the executable.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::AppError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "herald.css",
        "text/css; charset=utf-8",
        include_str!("../../static/herald.css"),
    ),
    (
        "herald.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/herald.js"),
    ),
];

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, mime, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*mime)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*body))
}

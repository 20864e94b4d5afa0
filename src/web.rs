//! The console: one module per page, plus the pieces every page shares.

pub mod assets;
pub mod auth;
pub mod chatbots;
pub mod client_ip;
pub mod contact_defaults;
pub mod contacts;
pub mod csrf;
pub mod dev_outbox;
pub mod errors;
pub mod groups;
pub mod health;
pub mod layout;
pub mod links;
pub mod members;
pub mod policies;
pub mod public_limit;
pub mod session;
pub mod setup;
pub mod verify;
pub mod webhooks;
pub mod workspaces;

use actix_web::{HttpResponse, web};

use crate::error::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/setup", web::get().to(setup::form))
        .route("/setup", web::post().to(setup::create))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/account/password", web::get().to(auth::password_form))
        .route("/account/password", web::post().to(auth::change_password))
        // Before /contacts/{id}, which would otherwise take "defaults" as an id.
        .route("/contacts/defaults", web::get().to(contact_defaults::show))
        .route("/contacts/defaults", web::post().to(contact_defaults::save))
        .route("/contacts/verify", web::post().to(verify::start_batch))
        .route("/contacts/batches/{id}", web::get().to(verify::show_batch))
        .route(
            "/contacts/batches/{id}/progress",
            web::get().to(verify::batch_progress),
        )
        .route("/contacts/{id}/verify", web::post().to(verify::send_one))
        .route("/v/{token}", web::get().to(links::show))
        .route("/v/{token}", web::post().to(links::confirm))
        .route("/dev/outbox", web::get().to(dev_outbox::index))
        .route("/contacts", web::get().to(contacts::index))
        .route("/contacts", web::post().to(contacts::create))
        .route("/contacts/new", web::get().to(contacts::new))
        .route("/contacts/{id}/edit", web::get().to(contacts::edit))
        .route("/contacts/{id}", web::post().to(contacts::update))
        .route(
            "/contacts/{id}/delete",
            web::get().to(contacts::confirm_delete),
        )
        .route("/contacts/{id}/delete", web::post().to(contacts::delete))
        .route("/groups", web::get().to(groups::index))
        .route("/groups", web::post().to(groups::create))
        .route("/groups/new", web::get().to(groups::new))
        .route("/groups/{id}/edit", web::get().to(groups::edit))
        .route("/groups/{id}", web::post().to(groups::update))
        .route("/groups/{id}/delete", web::get().to(groups::confirm_delete))
        .route("/groups/{id}/delete", web::post().to(groups::delete))
        .route("/webhooks", web::get().to(webhooks::index))
        .route("/webhooks", web::post().to(webhooks::create))
        .route("/webhooks/new", web::get().to(webhooks::new))
        .route("/webhooks/preview", web::post().to(webhooks::preview))
        .route("/webhooks/test", web::post().to(webhooks::test_form))
        .route("/webhooks/{id}/edit", web::get().to(webhooks::edit))
        .route("/webhooks/{id}/test", web::post().to(webhooks::send_test))
        .route("/webhooks/{id}", web::post().to(webhooks::update))
        .route(
            "/webhooks/{id}/delete",
            web::get().to(webhooks::confirm_delete),
        )
        .route("/webhooks/{id}/delete", web::post().to(webhooks::delete))
        .route("/policies", web::get().to(policies::index))
        .route("/policies", web::post().to(policies::create))
        .route("/policies/new", web::get().to(policies::new))
        .route("/policies/simulate", web::get().to(policies::simulate_page))
        .route("/policies/{id}/edit", web::get().to(policies::edit))
        .route("/policies/{id}", web::post().to(policies::update))
        .route("/policies/{id}/delete", web::post().to(policies::delete))
        .route("/chatbots", web::get().to(chatbots::index))
        .route("/chatbots", web::post().to(chatbots::create))
        .route("/chatbots/new", web::get().to(chatbots::new))
        .route("/chatbots/preview", web::post().to(chatbots::preview))
        .route("/chatbots/test", web::post().to(chatbots::test_form))
        .route("/chatbots/{id}/edit", web::get().to(chatbots::edit))
        .route("/chatbots/{id}/test", web::post().to(chatbots::send_test))
        .route("/chatbots/{id}", web::post().to(chatbots::update))
        .route("/chatbots/{id}/delete", web::post().to(chatbots::delete))
        .route("/members", web::get().to(members::index))
        .route("/members", web::post().to(members::invite))
        .route("/members/{user}/role", web::post().to(members::set_role))
        .route("/members/{user}/remove", web::post().to(members::remove))
        .route("/workspaces", web::get().to(workspaces::index))
        .route("/workspaces", web::post().to(workspaces::create))
        .route(
            "/workspaces/{id}/switch",
            web::post().to(workspaces::switch),
        );
}

async fn home() -> HttpResponse {
    see_other("/contacts")
}

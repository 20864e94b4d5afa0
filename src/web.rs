//! The console: one module per page, plus the pieces every page shares.

pub mod alerts;
pub mod api;
pub mod api_tokens;
pub mod assets;
pub mod auth;
pub mod bind;
pub mod call_reports;
pub mod chatbots;
pub mod client_ip;
pub mod contact_defaults;
pub mod contacts;
pub mod csrf;
pub mod current_user;
pub mod deliveries;
pub mod dev_outbox;
pub mod errors;
pub mod form;
pub mod groups;
pub mod health;
pub mod invitations;
pub mod lang;
pub mod layout;
pub mod links;
pub mod members;
pub mod metrics;
pub mod policies;
pub mod public_limit;
pub mod schedules;
pub mod session;
pub mod settings;
pub mod setup;
pub mod today;
pub mod verify;
pub mod webhooks;
pub mod workspaces;

use actix_web::web;

/// One resource per path with its methods, so a path asked with a method it does not take
/// answers 405 with `Allow` (as HTTP says), not 404.
macro_rules! page {
    ($cfg:ident, $path:literal, $($method:ident => $handler:expr),+ $(,)?) => {
        $cfg.service(
            web::resource($path)
                $(.route(web::$method().to($handler)))+
                .default_service(web::to(|| async {
                    errors::method_not_allowed(&[$(stringify!($method)),+])
                })),
        );
    };
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    page!(cfg, "/", get => today::show);
    page!(cfg, "/healthz", get => health::healthz);
    page!(cfg, "/metrics", get => metrics::show);
    page!(cfg, "/setup", get => setup::form, post => setup::create);
    page!(cfg, "/login", get => auth::login_form, post => auth::login);
    page!(cfg, "/logout", post => auth::logout);
    page!(cfg, "/account", get => auth::password_form);
    page!(cfg, "/account/sessions/sign-out-others", post => auth::sign_out_others);
    page!(cfg, "/account/password", get => auth::password_form, post => auth::change_password);
    // Before /contacts/{id}, which would otherwise take "defaults" as an id.
    page!(cfg, "/contacts/defaults", get => contact_defaults::show, post => contact_defaults::save);
    page!(cfg, "/contacts/verify", post => verify::start_batch);
    page!(cfg, "/contacts/batches/{id}", get => verify::show_batch);
    page!(cfg, "/contacts/batches/{id}/progress", get => verify::batch_progress);
    page!(cfg, "/contacts/{id}/verify", post => verify::send_one);
    page!(cfg, "/contacts/{id}/unbind", post => contacts::unbind);
    page!(cfg, "/v/{token}", get => links::follow, post => links::follow);
    page!(cfg, "/dev/outbox", get => dev_outbox::index);
    page!(cfg, "/dev/outbox/{id}/call", post => dev_outbox::call_outcome);
    page!(cfg, "/hooks/twilio/calls", post => call_reports::twilio);
    page!(cfg, "/settings", get => settings::show, post => settings::save);
    page!(cfg, "/settings/last-resort/resend", post => settings::resend_link);
    page!(cfg, "/r/{token}", get => settings::last_resort_link, post => settings::last_resort_link);
    page!(cfg, "/b/{token}", get => bind::show, post => bind::ask);
    page!(cfg, "/b/{token}/code", post => bind::confirm);
    page!(cfg, "/contacts", get => contacts::index, post => contacts::create);
    page!(cfg, "/contacts/new", get => contacts::new);
    page!(cfg, "/contacts/{id}/edit", get => contacts::edit);
    page!(cfg, "/contacts/{id}", post => contacts::update);
    page!(cfg, "/contacts/{id}/delete", get => contacts::confirm_delete, post => contacts::delete);
    page!(cfg, "/groups", get => groups::index, post => form::create::<groups::FormPage>);
    page!(cfg, "/groups/new", get => form::new::<groups::FormPage>);
    page!(cfg, "/groups/{id}/edit", get => form::edit::<groups::FormPage>);
    page!(cfg, "/groups/{id}", post => form::update::<groups::FormPage>);
    page!(cfg, "/groups/{id}/delete", get => form::confirm_protected_delete::<groups::Groups>, post => form::delete_protected::<groups::Groups>);
    page!(cfg, "/schedules", get => schedules::index, post => form::create::<schedules::FormPage>);
    page!(cfg, "/schedules/new", get => form::new::<schedules::FormPage>);
    page!(cfg, "/schedules/{id}/edit", get => form::edit::<schedules::FormPage>);
    page!(cfg, "/schedules/{id}", get => schedules::show, post => form::update::<schedules::FormPage>);
    page!(cfg, "/schedules/{id}/overrides", post => schedules::add_override);
    page!(cfg, "/schedules/{id}/overrides/remove", post => schedules::remove_override);
    page!(cfg, "/schedules/{id}/delete", get => form::confirm_protected_delete::<schedules::Schedules>, post => form::delete_protected::<schedules::Schedules>);
    page!(cfg, "/webhooks", get => webhooks::index, post => form::create::<webhooks::FormPage>);
    page!(cfg, "/webhooks/new", get => form::new::<webhooks::FormPage>);
    page!(cfg, "/webhooks/preview", post => webhooks::preview);
    page!(cfg, "/webhooks/test", post => webhooks::test_form);
    page!(cfg, "/webhooks/{id}/edit", get => form::edit::<webhooks::FormPage>);
    page!(cfg, "/webhooks/{id}/test", post => webhooks::send_test);
    page!(cfg, "/webhooks/{id}", post => form::update::<webhooks::FormPage>);
    page!(cfg, "/webhooks/{id}/delete", get => form::confirm_delete::<webhooks::Webhooks>, post => form::delete::<webhooks::Webhooks>);
    page!(cfg, "/policies", get => policies::index, post => form::create::<policies::FormPage>);
    page!(cfg, "/policies/new", get => form::new::<policies::FormPage>);
    page!(cfg, "/policies/simulate", get => policies::simulate_page);
    page!(cfg, "/policies/{id}/edit", get => form::edit::<policies::FormPage>);
    page!(cfg, "/policies/{id}", post => form::update::<policies::FormPage>);
    page!(cfg, "/policies/{id}/delete", post => policies::delete);
    page!(cfg, "/chatbots", get => chatbots::index, post => form::create::<chatbots::FormPage>);
    page!(cfg, "/chatbots/new", get => form::new::<chatbots::FormPage>);
    page!(cfg, "/chatbots/preview", post => chatbots::preview);
    page!(cfg, "/chatbots/test", post => chatbots::test_form);
    page!(cfg, "/chatbots/{id}/edit", get => form::edit::<chatbots::FormPage>);
    page!(cfg, "/chatbots/{id}/test", post => chatbots::send_test);
    page!(cfg, "/chatbots/{id}/bind-link", post => chatbots::rotate_bind_link);
    page!(cfg, "/chatbots/{id}", post => form::update::<chatbots::FormPage>);
    page!(cfg, "/chatbots/{id}/delete", get => form::confirm_delete::<chatbots::Chatbots>, post => form::delete::<chatbots::Chatbots>);
    page!(cfg, "/members", get => members::index, post => members::invite);
    page!(cfg, "/members/{user}/role", post => members::set_role);
    page!(cfg, "/members/{user}/remove", post => members::remove);
    page!(cfg, "/invite/{token}", get => invitations::show, post => invitations::answer);
    page!(cfg, "/invitations/{id}/accept", post => invitations::accept_listed);
    page!(cfg, "/invitations/{id}/decline", post => invitations::decline_listed);
    page!(cfg, "/members/invitations/{id}/revoke", post => members::revoke);
    page!(cfg, "/alerts", get => alerts::index);
    page!(cfg, "/alerts/{id}", get => alerts::show);
    page!(cfg, "/deliveries", get => deliveries::index);
    page!(cfg, "/deliveries/{id}/retry", post => deliveries::retry);
    page!(cfg, "/api/v1/alertmanager", post => api::ingest);
    page!(cfg, "/api/v2/alerts", post => api::ingest);
    page!(cfg, "/api/v1/events", post => api::ingest);
    page!(cfg, "/api-tokens", get => api_tokens::index, post => api_tokens::create);
    page!(cfg, "/api-tokens/{id}/revoke", post => api_tokens::revoke);
    page!(cfg, "/workspaces", get => workspaces::index, post => workspaces::create);
    page!(cfg, "/workspaces/{id}/switch", post => workspaces::switch);
}

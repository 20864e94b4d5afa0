//! Which language a public page speaks when nothing stored about its reader says: the
//! browser's.

use actix_web::HttpRequest;
use actix_web::http::header::ACCEPT_LANGUAGE;

use crate::domain::catalog::Lang;

/// The browser's first choice when it is Chinese, else English. Public pages use it for a
/// link that names nobody, before a link is looked up, and for people who have no stored
/// language (an invitee).
pub fn browser(req: &HttpRequest) -> Lang {
    stated(req).unwrap_or(Lang::En)
}

/// The language the browser asks for first, when it is one Herald speaks.
pub fn stated(req: &HttpRequest) -> Option<Lang> {
    let header = req
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    first_choice(header)
}

fn first_choice(header: &str) -> Option<Lang> {
    // Browsers list their first choice first; the q-values only rank the rest.
    let first = header.split(',').next().unwrap_or_default().trim();
    let first = first.to_ascii_lowercase();
    if first.starts_with("zh") {
        Some(Lang::Zh)
    } else if first.starts_with("en") {
        Some(Lang::En)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_choice_decides() {
        assert_eq!(first_choice("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::Zh));
        assert_eq!(first_choice("zh-TW"), Some(Lang::Zh));
        assert_eq!(first_choice("en-US,zh-CN;q=0.9"), Some(Lang::En));
        assert_eq!(first_choice(""), None);
        assert_eq!(first_choice("de,zh;q=0.5"), None);
    }
}

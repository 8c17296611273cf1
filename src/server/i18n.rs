//! The languages of the pages: Kyrgyz (the state language), Russian (the official one) and English.
//!
//! A page's words are a struct with one field per phrase and one value of it per language, so a phrase
//! missing in any language does not compile. [`Lang`] is the request's language: `?lang=ky|ru|en`, or
//! else the browser's `Accept-Language`, or else English.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Кыргызча.
    Ky,
    /// Русский.
    Ru,
    /// English.
    #[default]
    En,
}

impl Lang {
    /// Every language, in the order the pages offer them.
    pub const ALL: [Lang; 3] = [Lang::Ky, Lang::Ru, Lang::En];

    /// The BCP 47 code, as in `?lang=` and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ky => "ky",
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    /// The language's own name, for the switcher.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ky => "Кыргызча",
            Self::Ru => "Русский",
            Self::En => "English",
        }
    }

    /// The language of `code` (`ky`, `ru`, `en`; a region such as `ru-KG` is ignored).
    pub fn parse(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first of the languages an `Accept-Language` header names, in its order of preference.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(u16, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut bits = part.split(';');
                let lang = Self::parse(bits.next()?)?;
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q="))
                    .map_or(Some(1000), |q| {
                        q.trim().parse::<f32>().ok().map(|q| (q * 1000.0) as u16)
                    })?;
                (q > 0).then_some((q, i, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|r| r.2)
    }

    /// The language a request asks for.
    pub fn of(parts: &Parts) -> Self {
        let query = parts.uri.query().unwrap_or_default();
        let asked = query
            .split('&')
            .find_map(|p| p.strip_prefix("lang="))
            .and_then(Self::parse);
        asked
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Self::from_accept_language)
            })
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// One value per language.
pub struct PerLang<T: 'static> {
    /// Kyrgyz.
    pub ky: T,
    /// Russian.
    pub ru: T,
    /// English.
    pub en: T,
}

impl<T> PerLang<T> {
    /// The value for `lang`.
    pub fn get(&'static self, lang: Lang) -> &'static T {
        match lang {
            Lang::Ky => &self.ky,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_then_the_browser_then_english() {
        let parts = |uri: &str, accept: Option<&str>| {
            let mut b = axum::http::Request::builder().uri(uri);
            if let Some(a) = accept {
                b = b.header(header::ACCEPT_LANGUAGE, a);
            }
            b.body(()).expect("request").into_parts().0
        };
        assert_eq!(Lang::of(&parts("/x?lang=ky", Some("ru"))), Lang::Ky);
        assert_eq!(Lang::of(&parts("/x?a=1&lang=ru", None)), Lang::Ru);
        assert_eq!(
            Lang::of(&parts("/x?lang=de", Some("ky-KG,ru;q=0.8"))),
            Lang::Ky
        );
        assert_eq!(
            Lang::of(&parts("/x", Some("de;q=1, ru;q=0.5, en;q=0.7"))),
            Lang::En
        );
        assert_eq!(Lang::of(&parts("/x", Some("ru;q=0, de"))), Lang::En);
        assert_eq!(Lang::of(&parts("/x", Some("RU-ru"))), Lang::Ru);
        assert_eq!(Lang::of(&parts("/x", None)), Lang::En);
    }
}

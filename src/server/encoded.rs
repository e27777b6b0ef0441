//! A JSON answer shared by many requests, kept with its gzip form made once: a delta that every
//! console at one cursor fetches is compressed once, not once per console.

use std::io::Write;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::routes::COMPRESS_ABOVE_BYTES;

#[derive(Debug)]
pub struct Encoded {
    plain: Bytes,
    /// `None` for an answer too small to be worth compressing.
    gzip: Option<Bytes>,
}

impl Encoded {
    pub fn new(plain: Bytes) -> Encoded {
        let gzip = (plain.len() > usize::from(COMPRESS_ABOVE_BYTES)).then(|| {
            let mut enc =
                GzEncoder::new(Vec::with_capacity(plain.len() / 8), Compression::default());
            // Writing to a Vec does not fail.
            let _ = enc.write_all(&plain);
            Bytes::from(enc.finish().unwrap_or_default())
        });
        Encoded { plain, gzip }
    }

    /// The bytes held: the plain form and the compressed one.
    pub fn held_bytes(&self) -> usize {
        self.plain.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }

    pub fn plain(&self) -> &Bytes {
        &self.plain
    }

    /// The answer to a request with these headers: gzip when it accepts gzip (the compression
    /// layer leaves an answer that has a `Content-Encoding` alone), else plain.
    pub fn response(&self, request: &HeaderMap) -> Response {
        self.response_for(accepts_gzip(request))
    }

    /// The answer to a request that accepts gzip, or not.
    pub fn response_for(&self, gzip_accepted: bool) -> Response {
        let json = (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
        match &self.gzip {
            Some(gzip) if gzip_accepted => (
                [
                    json,
                    vary,
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                ],
                gzip.clone(),
            )
                .into_response(),
            Some(_) => ([json, vary], self.plain.clone()).into_response(),
            None => ([json], self.plain.clone()).into_response(),
        }
    }
}

/// Whether the request accepts gzip, read in place: the `HeaderMap` extractor copies every
/// header of the request, for every one of thousands of polls.
pub struct AcceptsGzip(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for AcceptsGzip {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(AcceptsGzip(accepts_gzip(&parts.headers)))
    }
}

/// Whether `Accept-Encoding` names gzip (or `*`) with a weight above zero.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && weight > 0.0
        })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        h
    }

    #[test]
    fn gzip_is_served_only_to_whoever_accepts_it() {
        for (accept, gzip) in [
            ("gzip", true),
            ("br, GZIP;q=0.5", true),
            ("*", true),
            ("gzip;q=0", false),
            ("identity", false),
            ("deflate, br", false),
        ] {
            assert_eq!(accepts_gzip(&headers(accept)), gzip, "{accept}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_gzip_form_decodes_to_the_plain_one() {
        let plain = Bytes::from(format!(
            "[{}]",
            vec!["{\"title\":\"出村通行证\"}"; 200].join(",")
        ));
        let encoded = Encoded::new(plain.clone());
        let gzip = encoded.gzip.clone().expect("large enough to compress");
        let mut decoded = vec![];
        GzDecoder::new(&gzip[..]).read_to_end(&mut decoded).unwrap();
        assert_eq!(decoded, plain);
        assert!(gzip.len() < plain.len() / 4);
        assert!(Encoded::new(Bytes::from_static(b"{}")).gzip.is_none());
    }
}

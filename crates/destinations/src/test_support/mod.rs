//! Real receivers on loopback for the destinations' tests: an HTTP server and an SMTP server,
//! each a plain `std::net::TcpListener` on 127.0.0.1:0 with a thread per connection. Written
//! here rather than taken from a crate so that what they accept is exactly what the tests say.
//! On the HTTP server, fakes of Google's Data Manager API and Google Ads API that refuse what
//! Google refuses.

mod google_ads_api;
mod google_data_manager;
mod http_receiver;
mod smtp_receiver;

pub use google_ads_api::{AdsApiFake, AdsConversion};
pub use google_data_manager::{DataManagerFake, Recorded};
pub use http_receiver::{HttpReceiver, Reply, Request};
pub use smtp_receiver::SmtpReceiver;

/// A port on loopback nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

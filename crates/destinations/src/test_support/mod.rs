//! Real receivers on loopback for the destinations' tests: an HTTP server and an SMTP server,
//! each a plain `std::net::TcpListener` on 127.0.0.1:0 with a thread per connection, and on the
//! HTTP one, fakes of Meta's and LinkedIn's Conversions APIs and of Google's Data Manager API
//! and Google Ads API, each refusing what its platform documents it refuses. Written here
//! rather than taken from a crate so that what they accept is exactly what the tests say.

mod google_ads_api;
mod google_data_manager;
mod http_receiver;
mod linkedin_api;
mod meta_graph;
mod smtp_receiver;

pub use google_ads_api::{AdsApiFake, AdsConversion};
pub use google_data_manager::{DataManagerFake, Recorded};
pub use http_receiver::{HttpReceiver, Reply, Request};
pub use linkedin_api::{linkedin_error, LinkedinApi};
pub use meta_graph::{graph_error, MetaGraph};
pub use smtp_receiver::SmtpReceiver;

/// A port on loopback nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

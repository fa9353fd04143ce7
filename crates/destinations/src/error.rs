/// Why a `[[destinations]]` entry cannot be turned into a working destination. The config
/// crate has already checked the file; what is left is what only the environment can tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("destination {destination}: the environment variable {variable} is not set or is empty: set it to {what} before starting tenure")]
    MissingSecret {
        destination: String,
        variable: String,
        what: &'static str,
    },
    #[error("destination {destination}: {field}: {message}")]
    Invalid {
        destination: String,
        field: &'static str,
        message: String,
    },
}
